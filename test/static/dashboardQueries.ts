// Every Druid SQL query of the provisioned dashboards (grafana/dashboards/*.json, the files Grafana
// loads), with the result columns its panel reads. The end-to-end test runs each one against the real
// Druid after substituting the Grafana range variables (substituteRange below).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_DASHBOARDS } from '../../grafana/src/build.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DASHBOARDS_DIR = resolve(REPO_ROOT, 'grafana/dashboards');

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

interface JsonTarget {
  refId?: string;
  datasource?: { type?: string; uid?: string };
  builder?: { queryType?: string; query?: string };
  settings?: { format?: string; contextParameters?: Array<{ name: string; value: string }> };
}
interface JsonPanel {
  id?: number;
  type?: string;
  title?: string;
  targets?: JsonTarget[];
  panels?: JsonPanel[];
}
export interface JsonDashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: JsonPanel[];
}

/** The dashboard JSON files Grafana provisions, parsed. */
export function readDashboardFiles(): Array<{ file: string; json: JsonDashboard }> {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(resolve(DASHBOARDS_DIR, file), 'utf8')) as JsonDashboard }));
}

function flatPanels(panels: readonly JsonPanel[] | undefined): JsonPanel[] {
  return (panels ?? []).flatMap((p) => [p, ...flatPanels(p.panels)]);
}

/**
 * Every panel query of every provisioned dashboard. Throws if a query panel has no declared column
 * list in grafana/src (so a new panel cannot escape the end-to-end test).
 */
export function listPanelQueries(): PanelQuery[] {
  const readsByFile = new Map(ALL_DASHBOARDS.map((d) => [d.fileName, d.readsByPanelId]));
  const out: PanelQuery[] = [];
  for (const { file, json } of readDashboardFiles()) {
    for (const panel of flatPanels(json.panels)) {
      for (const target of panel.targets ?? []) {
        const sql = target.builder?.query ?? '';
        const reads = panel.id === undefined ? undefined : readsByFile.get(file)?.get(panel.id);
        if (!reads)
          throw new Error(
            `${file}: panel ${panel.id} "${panel.title}" has a query but no declared columns in grafana/src.`,
          );
        out.push({
          dashboard: file,
          dashboardUid: json.uid ?? '',
          panelId: panel.id!,
          panelTitle: panel.title ?? '',
          refId: target.refId ?? '',
          sql,
          context: Object.fromEntries((target.settings?.contextParameters ?? []).map((p) => [p.name, p.value])),
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
