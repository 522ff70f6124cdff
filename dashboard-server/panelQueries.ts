// The queries a dashboards page may run: exactly the panel targets of the provisioned dashboard files
// (grafana/dashboards/*.json, the files Grafana loads), looked up by dashboard uid, panel id and refId. The
// page never sends SQL; it names a panel and a time range, and the range is bound as query parameters.
import { watch, type FSWatcher } from 'node:fs';
import { PulsoError } from '../lib/errors.ts';
import {
  DASHBOARDS_DIR,
  druidTargets,
  flatPanels,
  readDashboardFiles,
  targetContext,
  type DashboardFile,
  type SavedDashboard,
} from '../grafana/src/dashboardFiles.ts';

export class QueryRequestError extends PulsoError {}

/**
 * The provisioned dashboards by uid, read once and read again only after a file in their folder changed (so an
 * edited dashboard shows without a restart, and a request never touches the disk otherwise).
 */
export class DashboardCatalog {
  private byUid: Map<string, DashboardFile> | undefined;
  private readonly watcher: FSWatcher | undefined;
  constructor(private readonly dir = DASHBOARDS_DIR) {
    try {
      this.watcher = watch(dir, { persistent: false }, () => (this.byUid = undefined)).on('error', () => undefined);
    } catch {
      /* no file watching here: the first read stays */
    }
  }
  /** Stops watching the folder (the server closed). */
  close(): void {
    this.watcher?.close();
  }
  all(): Map<string, DashboardFile> {
    this.byUid ??= new Map(readDashboardFiles(this.dir).map((f) => [f.dashboard.uid, f]));
    return this.byUid;
  }
  get(uid: string): DashboardFile | undefined {
    return this.all().get(uid);
  }
}

export interface BoundQuery {
  readonly query: string;
  readonly parameters: { type: 'BIGINT'; value: number }[];
  readonly context: Record<string, string>;
}

/** The largest range a page may ask for (the picker offers up to 24 h). */
const MAX_RANGE_MS = 31 * 24 * 3600_000;

/** Throws QueryRequestError unless the range is two epoch-ms integers, from < to, at most 31 days apart. */
export function checkRange(fromMs: number, toMs: number): void {
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || fromMs >= toMs) {
    throw new QueryRequestError(`from=${fromMs} to=${toMs}: the range must be two integers (epoch ms) with from < to`);
  }
  if (toMs - fromMs > MAX_RANGE_MS) throw new QueryRequestError(`the range ${fromMs}..${toMs} is longer than 31 days`);
}

/**
 * A panel's SQL with Grafana's ${__from} / ${__to} (epoch ms) replaced by bound BIGINT parameters, and the
 * query context the Druid plugin would send. Throws QueryRequestError naming what is wrong.
 */
export function bindPanelQuery(
  dashboard: SavedDashboard,
  panelId: number,
  refId: string,
  fromMs: number,
  toMs: number,
): BoundQuery {
  checkRange(fromMs, toMs);
  const panel = flatPanels(dashboard.panels).find((p) => p.id === panelId);
  if (!panel) throw new QueryRequestError(`dashboard ${dashboard.uid} has no panel ${panelId}`);
  const target = druidTargets(panel).find((t) => (t.refId ?? 'A') === refId);
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
  return { query, parameters, context: targetContext(target) };
}
