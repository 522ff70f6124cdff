// The Pipeline health dashboard: freshness, throughput and lag of the CDC path, as far as Druid can tell.
// The transformer writes one counter row per (table, kind, type) with every Kafka transaction to the
// `transformer_stats` topic (transformer/statsRows.ts), rolled up per minute in Druid: events by type,
// Debezium repeats it dropped, dead letters by reason, commit → transformer latency. No panel scans or
// groups the event rows themselves. What Druid cannot see (slot lag, Kafka lag) is listed in a text panel.
import { ROLLUP_IN_RANGE, sumOrZero } from './sqlFragments.ts';
import {
  LONG_TO_SERIES,
  assemble,
  DASHBOARD_DEFAULTS,
  dashboardLink,
  stat,
  table,
  text,
  timeseries,
  type BuiltDashboard,
  type PanelDef,
} from './panelKit.ts';

const NOW_MS = 'TIMESTAMP_TO_MILLIS(CURRENT_TIMESTAMP)';
const FRESHNESS_THRESHOLDS = [
  { color: 'green', value: null },
  { color: 'orange', value: 5 },
  { color: 'red', value: 30 },
];
/** Counter rows of the transformer in the dashboard range (produced_at minute). */
const STATS = `FROM transformer_stats WHERE ${ROLLUP_IN_RANGE}`;

const panels: PanelDef[] = [
  stat({
    title: 'Seconds since the newest commit reached Druid',
    description:
      'Now minus the newest commit time (source_ts_ms) among the streamed changes whose counters are queryable in Druid; the counters are written in the same Kafka transaction as the events. With the generator running this is the end-to-end freshness (commit → queryable, plus up to one refresh); when nobody writes it simply grows.',
    gridPos: { x: 0, y: 0, w: 6, h: 5 },
    sql: `SELECT (${NOW_MS} - MAX(max_source_ts_ms)) / 1000.0 AS seconds_since_last_commit ${STATS} AND kind = 'event'`,
    reads: ['seconds_since_last_commit'],
    unit: 's',
    decimals: 1,
    thresholds: FRESHNESS_THRESHOLDS,
  }),
  stat({
    title: 'Seconds since the transformer last produced',
    description: 'Now minus the newest transaction of the transformer that is queryable in Druid.',
    gridPos: { x: 6, y: 0, w: 6, h: 5 },
    sql: `SELECT (${NOW_MS} - MAX(max_produced_ms)) / 1000.0 AS seconds_since_last_transform ${STATS}`,
    reads: ['seconds_since_last_transform'],
    unit: 's',
    decimals: 1,
    thresholds: FRESHNESS_THRESHOLDS,
  }),
  stat({
    title: 'Events produced in range',
    description:
      'Order and order-item events the transformer produced in the range, from its counters (one row per minute and event type): a count of rows in the event datasources would grow with history.',
    gridPos: { x: 12, y: 0, w: 12, h: 5 },
    sql: `SELECT "table" AS datasource, SUM(records) AS events ${STATS} AND kind = 'event' GROUP BY 1 ORDER BY 1`,
    reads: ['datasource', 'events'],
    decimals: 0,
    perRow: true,
  }),
  timeseries({
    title: 'Commit → transformer latency',
    description:
      'Per minute of production: mean and max of (transformer produced − commit time) over streamed changes (snapshot rows excluded: their source time is the snapshot, not a commit). Covers Debezium, Kafka and the transformer.',
    gridPos: { x: 0, y: 5, w: 12, h: 8 },
    sql:
      'SELECT __time AS "time", SUM(latency_ms_sum) / NULLIF(SUM(latency_count), 0) AS mean_latency_ms, MAX(latency_ms_max) AS max_latency_ms ' +
      `${STATS} AND kind = 'event' AND latency_count > 0 GROUP BY 1 ORDER BY 1`,
    reads: ['time', 'mean_latency_ms', 'max_latency_ms'],
    unit: 'ms',
    decimals: 0,
  }),
  timeseries({
    title: 'Order events per minute by type',
    description: 'Order events the transformer produced per minute, by event_type.',
    gridPos: { x: 12, y: 5, w: 12, h: 8 },
    sql: `SELECT __time AS "time", type AS event_type, SUM(records) AS events ${STATS} AND kind = 'event' AND "table" = 'orders' GROUP BY 1, 2 ORDER BY 1`,
    reads: ['time', 'event_type', 'events'],
    decimals: 0,
    stacked: true,
    transformations: [LONG_TO_SERIES],
  }),
  timeseries({
    title: 'Order item events per minute by type',
    description: 'Order-item events the transformer produced per minute, by event_type.',
    gridPos: { x: 0, y: 13, w: 12, h: 8 },
    sql: `SELECT __time AS "time", type AS event_type, SUM(records) AS events ${STATS} AND kind = 'event' AND "table" = 'order_items' GROUP BY 1, 2 ORDER BY 1`,
    reads: ['time', 'event_type', 'events'],
    decimals: 0,
    stacked: true,
    transformations: [LONG_TO_SERIES],
  }),
  timeseries({
    title: 'Redelivered CDC records dropped per minute',
    description:
      'Debezium delivers at least once: after a connector restart it re-sends changes (and a re-run snapshot re-reads rows); a consumer-group reset replays the CDC topics. The transformer recognises them by source position, snapshot version or input offset and drops them inside its exactly-once transactions; this counts them. They never reach the event or rollup datasources.',
    gridPos: { x: 12, y: 13, w: 12, h: 8 },
    sql:
      `SELECT __time AS "time", ${sumOrZero('records')} AS redelivered_events ${STATS} ` +
      "AND kind = 'skip' AND type IN ('duplicate', 'snapshot_duplicate', 'replayed') GROUP BY 1 ORDER BY 1",
    reads: ['time', 'redelivered_events'],
    decimals: 0,
  }),
  timeseries({
    title: 'Dead-lettered records per minute by reason',
    description:
      'CDC records the transformer sent to the dead-letter topic (pulso.dlq), by the dlq.reason it wrote in their headers.',
    gridPos: { x: 0, y: 21, w: 12, h: 6 },
    sql: `SELECT __time AS "time", type AS reason, SUM(records) AS dead_lettered ${STATS} AND kind = 'dlq' GROUP BY 1, 2 ORDER BY 1`,
    reads: ['time', 'reason', 'dead_lettered'],
    decimals: 0,
    stacked: true,
    transformations: [LONG_TO_SERIES],
  }),
  table({
    title: 'Druid supervisors',
    description: 'State of every Kafka supervisor (sys.supervisors). healthy = 0 means ingestion is stuck or failing.',
    gridPos: { x: 12, y: 21, w: 12, h: 6 },
    sql: 'SELECT supervisor_id, state, detailed_state, healthy FROM sys.supervisors ORDER BY supervisor_id',
    reads: ['supervisor_id', 'state', 'detailed_state', 'healthy'],
  }),
  table({
    title: 'Realtime segments not yet handed off',
    description:
      'Segments still served by the indexing task (sys.segments, is_realtime = 1). They are queryable already; a count that only grows means handoff to the historical is stuck.',
    gridPos: { x: 0, y: 27, w: 12, h: 6 },
    sql:
      'SELECT datasource, COUNT(*) AS segments_in_tasks, SUM(num_rows) AS rows_in_tasks FROM sys.segments ' +
      'WHERE is_realtime = 1 GROUP BY datasource ORDER BY datasource',
    reads: ['datasource', 'segments_in_tasks', 'rows_in_tasks'],
    decimals: 0,
  }),
  text(
    'Not visible from Druid',
    { x: 12, y: 27, w: 12, h: 6 },
    [
      'These stages have no rows in Druid, so they are not on this dashboard:',
      '',
      '- **Replication-slot lag** (WAL retained for `pulso_slot`) and **Kafka consumer lag** of the transformer: `npm start` live view, and the transformer `/metrics` (port 9464).',
      '- **Dead-lettered records** themselves (`pulso.dlq`) keep the original bytes, which Druid cannot parse as rows; their counts by reason are above.',
      '- **Druid ingestion lag in offsets**: `GET /druid/indexer/v1/supervisor/orders/status` (aggregateLag) via the router.',
      '',
      'See docs/dashboards.md, “Gaps”.',
    ].join('\n'),
  ),
];

export const pipelineHealthDashboard: BuiltDashboard = assemble(
  'pipeline-health.json',
  {
    uid: 'pulso-pipeline-health',
    title: 'Pulso · Pipeline health',
    description: 'Freshness, throughput and lag of PostgreSQL → Debezium → Kafka → transformer → Druid.',
    tags: ['pulso', 'pipeline', 'druid'],
    ...DASHBOARD_DEFAULTS,
    links: [dashboardLink('Sales', 'pulso-sales')],
  },
  panels,
);
