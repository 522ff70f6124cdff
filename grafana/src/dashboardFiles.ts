// The provisioned dashboard files (grafana/dashboards/*.json, the files Grafana loads) as one set of types,
// @grafana/schema's, for everything that reads them: the local dashboards server, the panel query list (tests,
// benchmarks), the screenshots script. The files are written by grafana/src/build.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Dashboard, Panel, RowPanel } from '@grafana/schema';
import { PROJECT_ROOT } from '../../lib/config.ts';

export const DASHBOARDS_DIR = resolve(PROJECT_ROOT, 'grafana/dashboards');

/** A saved dashboard: @grafana/schema's, with the uid every provisioned one has. */
export type SavedDashboard = Dashboard & { readonly uid: string };

export interface DashboardFile {
  /** File name under grafana/dashboards/, e.g. sales.json. */
  readonly file: string;
  readonly dashboard: SavedDashboard;
}

/** A panel's saved query target as the grafadruid plugin writes it (panelKit.ts' DruidSqlTarget, read back). */
export interface SavedDruidTarget {
  readonly refId?: string;
  readonly builder?: { readonly queryType?: string; readonly query?: string };
  readonly settings?: { readonly contextParameters?: ReadonlyArray<{ name: string; value: string }> };
}

/** Every provisioned dashboard file, parsed, in file-name order. */
export function readDashboardFiles(dir = DASHBOARDS_DIR): DashboardFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(resolve(dir, file), 'utf8')) as SavedDashboard }));
}

/** Every panel of a dashboard, those inside rows included. */
export function flatPanels(panels: readonly (Panel | RowPanel)[] | undefined): Panel[] {
  return (panels ?? []).flatMap((p) =>
    p.type === 'row' ? [p as Panel, ...flatPanels((p as RowPanel).panels)] : [p as Panel],
  );
}

/** A panel's saved Prometheus target (panelKit.ts' PrometheusTarget, read back). */
export interface SavedPrometheusTarget {
  readonly refId?: string;
  readonly datasource?: { readonly type?: string };
  readonly expr?: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
}

const isPrometheus = (t: { datasource?: unknown }) =>
  (t.datasource as { type?: string } | undefined)?.type === 'prometheus';

/** The panel's Druid SQL targets (every target that is not Prometheus'). */
export function druidTargets(panel: Panel): SavedDruidTarget[] {
  return (panel.targets ?? []).filter((t) => !isPrometheus(t)) as SavedDruidTarget[];
}

export function promQueryTargets(panel: Panel): SavedPrometheusTarget[] {
  return (panel.targets ?? []).filter(isPrometheus) as SavedPrometheusTarget[];
}

/** The Druid query context a target sends (the plugin's contextParameters), as an object. */
export function targetContext(target: SavedDruidTarget): Record<string, string> {
  return Object.fromEntries((target.settings?.contextParameters ?? []).map((p) => [p.name, p.value]));
}
