// The PromQL a dashboards page may run: exactly the Prometheus targets of the provisioned dashboard files, by
// dashboard, panel and refId, with the range bound here (never a query from the page). Pure: binding (Grafana's
// $__rate_interval and $__range, the step) and the answer turned into the table the page draws, as Grafana's
// data frames would be: a range query as long rows (time, series, value), an instant one as (series, value).
import type { DruidTable } from '../lib/druidClient.ts';
import type { PromQueryAnswer, PromSeries } from '../lib/prometheusClient.ts';
import { flatPanels, promQueryTargets, type SavedDashboard } from '../grafana/src/dashboardFiles.ts';
import { QueryRequestError } from './panelQueries.ts';

/** The scrape interval in prometheus/prometheus.yml: $__rate_interval is at least four of them, as in Grafana. */
export const SCRAPE_INTERVAL_S = 5;
/** About as many points per series as Grafana asks for a panel of ordinary width. */
const MAX_POINTS = 300;

export interface BoundPromQuery {
  readonly expr: string;
  readonly instant: boolean;
  readonly legendFormat: string;
  readonly startS: number;
  readonly endS: number;
  readonly stepS: number;
}

/** A panel's PromQL with the range bound. Throws QueryRequestError naming what is wrong. */
export function bindPrometheusQuery(
  dashboard: SavedDashboard,
  panelId: number,
  refId: string,
  fromMs: number,
  toMs: number,
): BoundPromQuery | undefined {
  const panel = flatPanels(dashboard.panels).find((p) => p.id === panelId);
  const target = panel && promQueryTargets(panel).find((t) => (t.refId ?? 'A') === refId);
  if (!target) return undefined;
  if (!target.expr) throw new QueryRequestError(`panel ${panelId} of ${dashboard.uid} has an empty PromQL query`);
  const rangeS = Math.max(1, Math.round((toMs - fromMs) / 1000));
  const stepS = Math.max(SCRAPE_INTERVAL_S, Math.ceil(rangeS / MAX_POINTS));
  const rateIntervalS = Math.max(stepS + SCRAPE_INTERVAL_S, 4 * SCRAPE_INTERVAL_S);
  const expr = target.expr.replaceAll('$__rate_interval', `${rateIntervalS}s`).replaceAll('$__range', `${rangeS}s`);
  // PromQL uses `$1` in label_replace; a Grafana variable is `$__name` or `${…}`.
  if (/\$__|\$\{/.test(expr))
    throw new QueryRequestError(`panel ${panelId} uses a Grafana variable this server cannot bind: ${expr}`);
  return {
    expr,
    instant: target.instant === true,
    legendFormat: target.legendFormat ?? '',
    startS: Math.floor(fromMs / 1000),
    endS: Math.floor(toMs / 1000),
    stepS,
  };
}

/** Grafana's legend: `{{label}}` replaced by the series' labels; without a format, the metric and its labels. */
export function seriesName(metric: Record<string, string>, legendFormat: string): string {
  if (legendFormat && legendFormat !== '__auto')
    return legendFormat.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, l: string) => metric[l] ?? '');
  const { __name__: name, ...labels } = metric;
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return `${name ?? ''}${inner ? `{${inner}}` : ''}` || 'value';
}

/** Prometheus sample text as a number; NaN and ±Inf (no rate yet, a quantile of nothing) as null. */
function sampleValue(v: string): number | null {
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

export function promTable(answer: PromQueryAnswer, bound: BoundPromQuery): DruidTable {
  const series = answer.result as PromSeries[];
  const name = (s: PromSeries) => seriesName(s.metric, bound.legendFormat);
  if (bound.instant)
    return {
      columns: [
        { name: 'series', sqlType: 'VARCHAR' },
        { name: 'value', sqlType: 'DOUBLE' },
      ],
      rows: series
        .map((s) => [name(s), s.value ? sampleValue(s.value[1]) : null] as [string, number | null])
        .sort((a, b) => a[0].localeCompare(b[0])),
    };
  const rows = series.flatMap((s) =>
    (s.values ?? []).map(([t, v]) => [new Date(t * 1000).toISOString(), name(s), sampleValue(v)]),
  );
  rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])));
  return {
    columns: [
      { name: 'time', sqlType: 'TIMESTAMP' },
      { name: 'series', sqlType: 'VARCHAR' },
      { name: 'value', sqlType: 'DOUBLE' },
    ],
    rows,
  };
}
