// The queries a dashboards page may run: exactly the panel targets of the provisioned dashboard files
// (grafana/dashboards/*.json, the files Grafana loads), looked up by dashboard uid, panel id and refId. The
// page never sends SQL; it names a panel and a time range, and the range is bound as query parameters.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../lib/config.ts';

export const DASHBOARDS_DIR = resolve(PROJECT_ROOT, 'grafana/dashboards');

interface Target {
  readonly refId?: string;
  readonly builder?: { readonly queryType?: string; readonly query?: string };
  readonly settings?: { readonly contextParameters?: ReadonlyArray<{ name: string; value: string }> };
}
export interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
export interface Dashboard {
  readonly uid: string;
  readonly title?: string;
  readonly refresh?: string;
  readonly panels?: readonly Panel[];
}

export class QueryRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryRequestError';
  }
}

/** Every provisioned dashboard, by uid, read from its file. */
export function readDashboards(dir = DASHBOARDS_DIR): Map<string, { file: string; dashboard: Dashboard }> {
  const out = new Map<string, { file: string; dashboard: Dashboard }>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const dashboard = JSON.parse(readFileSync(resolve(dir, file), 'utf8')) as Dashboard;
    out.set(dashboard.uid, { file, dashboard });
  }
  return out;
}

function flatPanels(panels: readonly Panel[] | undefined): Panel[] {
  return (panels ?? []).flatMap((p) => [p, ...flatPanels(p.panels)]);
}

export interface BoundQuery {
  readonly query: string;
  readonly parameters: { type: 'BIGINT'; value: number }[];
  readonly context: Record<string, string>;
}

/** The largest range a page may ask for (the picker offers up to 24 h). */
const MAX_RANGE_MS = 31 * 24 * 3600_000;

/**
 * A panel's SQL with Grafana's ${__from} / ${__to} (epoch ms) replaced by bound BIGINT parameters, and the
 * query context the Druid plugin would send. Throws QueryRequestError naming what is wrong.
 */
export function bindPanelQuery(
  dashboard: Dashboard,
  panelId: number,
  refId: string,
  fromMs: number,
  toMs: number,
): BoundQuery {
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || fromMs >= toMs) {
    throw new QueryRequestError(`from=${fromMs} to=${toMs}: the range must be two integers (epoch ms) with from < to`);
  }
  if (toMs - fromMs > MAX_RANGE_MS) throw new QueryRequestError(`the range ${fromMs}..${toMs} is longer than 31 days`);
  const panel = flatPanels(dashboard.panels).find((p) => p.id === panelId);
  if (!panel) throw new QueryRequestError(`dashboard ${dashboard.uid} has no panel ${panelId}`);
  const target = (panel.targets ?? []).find((t) => (t.refId ?? 'A') === refId);
  const sql = target?.builder?.query;
  if (!target || !sql)
    throw new QueryRequestError(`panel ${panelId} ("${panel.title ?? ''}") of ${dashboard.uid} has no query ${refId}`);
  const parameters: BoundQuery['parameters'] = [];
  // Parameters are positional: one per occurrence, in the order they appear.
  const query = sql.replace(/\$\{__(from|to)\}/g, (_m, which: string) => {
    parameters.push({ type: 'BIGINT', value: which === 'from' ? fromMs : toMs });
    return '?';
  });
  if (/\$\{|\$__/.test(query))
    throw new QueryRequestError(
      `panel ${panelId} uses a Grafana variable this server cannot bind: ${/\$\{[^}]*\}|\$__\w+/.exec(query)![0]}`,
    );
  const context = Object.fromEntries((target.settings?.contextParameters ?? []).map((p) => [p.name, p.value]));
  return { query, parameters, context };
}
