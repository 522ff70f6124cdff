// Every Druid SQL query of the provisioned dashboards (grafana/dashboards/*.json, the files Grafana
// loads), with the result columns its panel reads. The end-to-end test and bench:dashboards run each one
// against the real Druid after substituting the Grafana range variables (substituteRange below).
import { ALL_DASHBOARDS } from './build.ts';
import { druidTargets, flatPanels, readDashboardFiles, targetContext } from './dashboardFiles.ts';
import { PulsoError } from '../../lib/errors.ts';

export interface PanelQuery {
  /** Dashboard file name, e.g. sales.json. */
  readonly dashboard: string;
  readonly dashboardUid: string;
  readonly panelId: number;
  readonly panelTitle: string;
  readonly refId: string;
  /** The SQL exactly as saved, with ${__from} / ${__to} still in it. */
  readonly sql: string;
  /** Druid query context the plugin sends with it (sqlTimeZone). */
  readonly context: Readonly<Record<string, string>>;
  /** Result columns the panel reads; the query must return at least these. */
  readonly expectedColumns: readonly string[];
}

/**
 * Every panel query of every provisioned dashboard. Throws if a query panel has no declared column
 * list in grafana/src (so a new panel cannot escape the end-to-end test).
 */
export function listPanelQueries(): PanelQuery[] {
  const readsByFile = new Map(ALL_DASHBOARDS.map((d) => [d.fileName, d.readsByPanelId]));
  const out: PanelQuery[] = [];
  for (const { file, dashboard } of readDashboardFiles()) {
    for (const panel of flatPanels(dashboard.panels)) {
      for (const target of druidTargets(panel)) {
        const sql = target.builder?.query ?? '';
        const reads = panel.id === undefined ? undefined : readsByFile.get(file)?.get(panel.id);
        if (!reads)
          throw new PulsoError(
            `${file}: panel ${panel.id} "${panel.title}" has a query but no declared columns in grafana/src.`,
          );
        out.push({
          dashboard: file,
          dashboardUid: dashboard.uid,
          panelId: panel.id!,
          panelTitle: panel.title ?? '',
          refId: target.refId ?? '',
          sql,
          context: targetContext(target),
          expectedColumns: reads,
        });
      }
    }
  }
  return out;
}

/** Replaces Grafana's ${__from} / ${__to} (epoch ms) as Grafana would before the query reaches Druid. */
export function substituteRange(sql: string, fromMs: number, toMs: number): string {
  return sql.replaceAll('${__from}', String(Math.trunc(fromMs))).replaceAll('${__to}', String(Math.trunc(toMs)));
}
