// The Pipeline health dashboard: freshness, throughput and lag of the CDC path, as far as Druid
// itself can tell (event rows carry source_ts_ms = commit time and transformed_at_ms), plus Druid's
// own system tables. What Druid cannot see (slot lag, Kafka lag, dead letters) is listed in a text
// panel and in docs/dashboards.md.
import { IN_RANGE } from './druidSql.ts';
import { LONG_TO_SERIES, assemble, DASHBOARD_DEFAULTS, dashboardLink, stat, table, text, timeseries, type BuiltDashboard, type PanelDef } from './panelKit.ts';

const NOW_MS = 'TIMESTAMP_TO_MILLIS(CURRENT_TIMESTAMP)';
const FRESHNESS_THRESHOLDS = [
  { color: 'green', value: null },
  { color: 'orange', value: 5 },
  { color: 'red', value: 30 },
];

const panels: PanelDef[] = [
  stat({
    title: 'Seconds since the newest commit reached Druid',
    description:
      'Now minus the commit time (source_ts_ms) of the newest order event queryable in Druid. With the generator running this is the end-to-end freshness (commit → queryable, plus up to one refresh); when nobody writes it simply grows.',
    gridPos: { x: 0, y: 0, w: 6, h: 5 },
    sql: `SELECT (${NOW_MS} - MAX(source_ts_ms)) / 1000.0 AS seconds_since_last_commit FROM orders WHERE ${IN_RANGE}`,
    reads: ['seconds_since_last_commit'],
    unit: 's',
    decimals: 1,
    thresholds: FRESHNESS_THRESHOLDS,
  }),
  stat({
    title: 'Seconds since the transformer last produced',
    description: 'Now minus the newest transformed_at_ms in Druid: how long ago the newest queryable event left the transformer.',
    gridPos: { x: 6, y: 0, w: 6, h: 5 },
    sql: `SELECT (${NOW_MS} - MAX(transformed_at_ms)) / 1000.0 AS seconds_since_last_transform FROM orders WHERE ${IN_RANGE}`,
    reads: ['seconds_since_last_transform'],
    unit: 's',
    decimals: 1,
    thresholds: FRESHNESS_THRESHOLDS,
  }),
  stat({
    title: 'Events in range',
    description: 'Order and order-item event rows ingested with a commit time in the range.',
    gridPos: { x: 12, y: 0, w: 12, h: 5 },
    // Top-level UNION ALL: Druid runs each branch as its own query (no scalar subqueries needed).
    sql:
      `SELECT 'orders' AS datasource, COUNT(*) AS events FROM orders WHERE ${IN_RANGE} ` +
      `UNION ALL SELECT 'order_items' AS datasource, COUNT(*) AS events FROM order_items WHERE ${IN_RANGE}`,
    reads: ['datasource', 'events'],
    decimals: 0,
    perRow: true,
  }),
  timeseries({
    title: 'Commit → transformer latency',
    description:
      'Per minute of commit time: mean and max of transformed_at_ms − source_ts_ms over streamed order events (snapshot rows excluded: their source time is the snapshot, not a commit). Covers Debezium, Kafka and the transformer.',
    gridPos: { x: 0, y: 5, w: 12, h: 8 },
    sql:
      `SELECT TIME_FLOOR(__time, 'PT1M') AS "time", AVG(transformed_at_ms - source_ts_ms) AS mean_latency_ms, ` +
      'MAX(transformed_at_ms - source_ts_ms) AS max_latency_ms ' +
      `FROM orders WHERE ${IN_RANGE} AND event_type <> 'snapshot' GROUP BY 1 ORDER BY 1`,
    reads: ['time', 'mean_latency_ms', 'max_latency_ms'],
    unit: 'ms',
    decimals: 0,
  }),
  timeseries({
    title: 'Order events per minute by type',
    description: 'Event rows in the orders datasource per minute of commit time, by event_type.',
    gridPos: { x: 12, y: 5, w: 12, h: 8 },
    sql:
      `SELECT TIME_FLOOR(__time, 'PT1M') AS "time", event_type, COUNT(*) AS events ` +
      `FROM orders WHERE ${IN_RANGE} GROUP BY 1, 2 ORDER BY 1`,
    reads: ['time', 'event_type', 'events'],
    decimals: 0,
    stacked: true,
    transformations: [LONG_TO_SERIES],
  }),
  timeseries({
    title: 'Order item events per minute by type',
    description: 'Event rows in the order_items datasource per minute of commit time, by event_type.',
    gridPos: { x: 0, y: 13, w: 12, h: 8 },
    sql:
      `SELECT TIME_FLOOR(__time, 'PT1M') AS "time", event_type, COUNT(*) AS events ` +
      `FROM order_items WHERE ${IN_RANGE} GROUP BY 1, 2 ORDER BY 1`,
    reads: ['time', 'event_type', 'events'],
    decimals: 0,
    stacked: true,
    transformations: [LONG_TO_SERIES],
  }),
  timeseries({
    title: 'Redelivered order events per minute',
    description:
      'Extra copies of an already-ingested event_id (Debezium and Kafka deliver at least once; a connector restart replays). The sales panels are immune: they count orders, not rows.',
    gridPos: { x: 12, y: 13, w: 12, h: 8 },
    sql:
      `SELECT TIME_FLOOR(first_seen, 'PT1M') AS "time", SUM(copies - 1) AS redelivered_events ` +
      `FROM (SELECT event_id, MIN(__time) AS first_seen, COUNT(*) AS copies FROM orders WHERE ${IN_RANGE} GROUP BY event_id) ` +
      'GROUP BY 1 ORDER BY 1',
    reads: ['time', 'redelivered_events'],
    decimals: 0,
  }),
  table({
    title: 'Druid supervisors',
    description: 'State of every Kafka supervisor (sys.supervisors). healthy = 0 means ingestion is stuck or failing.',
    gridPos: { x: 0, y: 21, w: 12, h: 6 },
    sql: 'SELECT supervisor_id, state, detailed_state, healthy FROM sys.supervisors ORDER BY supervisor_id',
    reads: ['supervisor_id', 'state', 'detailed_state', 'healthy'],
  }),
  table({
    title: 'Realtime segments not yet handed off',
    description:
      'Segments still served by the indexing task (sys.segments, is_realtime = 1). They are queryable already; a count that only grows means handoff to the historical is stuck.',
    gridPos: { x: 12, y: 21, w: 12, h: 6 },
    sql:
      'SELECT datasource, COUNT(*) AS realtime_segments, SUM(num_rows) AS realtime_rows FROM sys.segments ' +
      'WHERE is_realtime = 1 GROUP BY datasource ORDER BY datasource',
    reads: ['datasource', 'realtime_segments', 'realtime_rows'],
    decimals: 0,
  }),
  text(
    'Not visible from Druid',
    { x: 0, y: 27, w: 24, h: 6 },
    [
      'These stages have no rows in Druid, so they are not on this dashboard:',
      '',
      '- **Replication-slot lag** (WAL retained for `pulso_slot`) and **Kafka consumer lag** of the transformer: `npm start` live view, and the transformer `/metrics` (port 9464).',
      '- **Dead-lettered records** (`pulso.dlq`): transformer `/metrics` and the live view; the DLQ keeps the original bytes, which Druid cannot parse as rows.',
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
