// The Pipeline health dashboard: every stage of the CDC path, from Prometheus where the component reports to it
// (scrape targets, the replication slot, Debezium, Connect, the transformer's lag and dead letters, Druid's
// ingestion lag, freshness p50/p99, restarts) and from Druid where Druid is the source: the transformer writes one
// counter row per (table, kind, type) with every Kafka transaction to `transformer_stats` (transformer/statsRows.ts),
// rolled up per minute: events by type, Debezium repeats dropped, commit → transformer latency. No panel scans or
// groups the event rows themselves.
import { ROLLUP_IN_RANGE, sumOrZero } from './sqlFragments.ts';
import {
  LONG_TO_SERIES,
  assemble,
  DASHBOARD_DEFAULTS,
  dashboardLink,
  stat,
  table,
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

const UP_MAPPINGS = [
  { value: '1', text: 'up', color: 'green' },
  { value: '0', text: 'DOWN', color: 'red' },
];
const RUNNING_MAPPINGS = [
  { value: '1', text: 'running', color: 'green' },
  { value: '0', text: 'NOT RUNNING', color: 'red' },
];
const quantile = (q: number, name: string) =>
  `label_replace(histogram_quantile(${q}, sum by (le) (rate(pulso_freshness_seconds_bucket[$__rate_interval]))), "quantile", "${name}", "", "")`;
/** 1 while running, 0 in any other state, per connector and per task (Connect reports states as labels). */
const CONNECT_STATES =
  'label_replace(max by (connector) (kafka_connect_connector_status{status="running"}) or 0 * max by (connector) (kafka_connect_connector_status), "task", "connector", "", "") or ' +
  'label_replace(max by (connector, task) (kafka_connect_task_status{status="running"}) or 0 * max by (connector, task) (kafka_connect_task_status), "task", "task $1", "task", "(.*)")';

const panels: PanelDef[] = [
  // ── Row 1: is everything there, and how fresh is what Druid serves ─────────────────────────
  stat({
    title: 'Scrape targets',
    description:
      "Prometheus' `up` for every target: the transformer instances, Kafka and Connect (JMX exporter), PostgreSQL (postgres_exporter), the pipeline exporter (Druid, freshness) and Prometheus itself. A target that does not answer shows DOWN, never an empty panel.",
    gridPos: { x: 0, y: 0, w: 8, h: 5 },
    // One series per target, whatever labels a target file gave it (a relabelled target is not two targets).
    promql: 'max by (job, instance) (up)',
    legend: '{{job}} {{instance}}',
    instant: true,
    reads: ['series', 'value'],
    perRow: true,
    mappings: UP_MAPPINGS,
  }),
  stat({
    title: 'Seconds since the newest commit reached Druid',
    description:
      'Now minus the newest commit time (source_ts_ms) among the streamed changes whose counters are queryable in Druid; the counters are written in the same Kafka transaction as the events. With the generator running this is the end-to-end freshness (commit → queryable, plus up to one refresh); when nobody writes it simply grows.',
    gridPos: { x: 8, y: 0, w: 4, h: 5 },
    sql: `SELECT (${NOW_MS} - MAX(max_source_ts_ms)) / 1000.0 AS seconds_since_last_commit ${STATS} AND kind = 'event'`,
    reads: ['seconds_since_last_commit'],
    unit: 's',
    decimals: 1,
    thresholds: FRESHNESS_THRESHOLDS,
  }),
  stat({
    title: 'Connector and task state',
    description:
      "Kafka Connect's state of the Debezium connector and of each of its tasks (JMX exporter): running, or NOT RUNNING when paused, stopped, failed, unassigned or restarting.",
    gridPos: { x: 12, y: 0, w: 4, h: 5 },
    promql: CONNECT_STATES,
    legend: '{{connector}} {{task}}',
    instant: true,
    reads: ['series', 'value'],
    perRow: true,
    mappings: RUNNING_MAPPINGS,
  }),
  stat({
    title: 'Events produced in range',
    description:
      'Order and order-item events the transformer produced in the range, from its counters (one row per minute and event type): a count of rows in the event datasources would grow with history.',
    gridPos: { x: 16, y: 0, w: 8, h: 5 },
    sql: `SELECT "table" AS datasource, SUM(records) AS events ${STATS} AND kind = 'event' GROUP BY 1 ORDER BY 1`,
    reads: ['datasource', 'events'],
    decimals: 0,
    perRow: true,
  }),

  // ── Row 2: freshness and the source ────────────────────────────────────────────────────────
  timeseries({
    title: 'Freshness: commit → queryable, p50 and p99',
    description:
      'From the pipeline exporter, which sees each newer PostgreSQL commit as soon as Druid serves it (every second): quantiles of commit → queryable over the rate window. The FreshnessSlow alert fires when p99 stays above 5 s for 5 minutes.',
    gridPos: { x: 0, y: 5, w: 12, h: 8 },
    promql: `${quantile(0.5, 'p50')} or ${quantile(0.99, 'p99')}`,
    legend: '{{quantile}}',
    reads: ['time', 'series', 'value'],
    unit: 's',
    decimals: 2,
  }),
  timeseries({
    title: 'Replication slot: WAL retained',
    description:
      'WAL PostgreSQL keeps for each replication slot (current LSN − restart_lsn, postgres_exporter as pulso_monitor). It falls back as Debezium confirms; growth means the connector is not confirming (alerts: ReplicationSlotWalHigh, ReplicationSlotWalGrowing).',
    gridPos: { x: 12, y: 5, w: 12, h: 8 },
    promql: 'pg_replication_slot_retained_wal_bytes',
    legend: '{{slot_name}}',
    reads: ['time', 'series', 'value'],
    unit: 'bytes',
    decimals: 0,
  }),

  // ── Row 3: Debezium ─────────────────────────────────────────────────────────────────────────
  timeseries({
    title: 'Debezium: milliseconds behind the source',
    description:
      "Debezium's streaming MilliSecondsBehindSource (JMX): commit time in PostgreSQL → the change read by the connector, for the last event.",
    gridPos: { x: 0, y: 13, w: 12, h: 7 },
    promql: 'debezium_streaming_millisecondsbehindsource',
    legend: '{{server}}',
    reads: ['time', 'series', 'value'],
    unit: 'ms',
    decimals: 0,
  }),
  timeseries({
    title: 'Debezium: queue remaining capacity',
    description:
      "Free places in Debezium's internal queue between the replication stream and Kafka (of QueueTotalCapacity): near 0, Kafka cannot take the changes as fast as PostgreSQL sends them.",
    gridPos: { x: 12, y: 13, w: 12, h: 7 },
    promql: 'debezium_streaming_queueremainingcapacity',
    legend: '{{server}}',
    reads: ['time', 'series', 'value'],
    decimals: 0,
  }),

  // ── Row 4: the transformer ──────────────────────────────────────────────────────────────────
  timeseries({
    title: 'Transformer lag per input partition',
    description:
      'Records behind the end of each CDC input partition, as each transformer instance reports it (prom-client). Growing for 5 minutes above 1,000: TransformerLagGrowing.',
    gridPos: { x: 0, y: 20, w: 12, h: 8 },
    promql: 'sum by (topic, partition) (pulso_transformer_consumer_lag)',
    legend: '{{topic}}/{{partition}}',
    reads: ['time', 'series', 'value'],
    decimals: 0,
  }),
  timeseries({
    title: 'Transformer throughput (records per second)',
    description: 'CDC records consumed per second by each transformer instance.',
    gridPos: { x: 12, y: 20, w: 12, h: 8 },
    promql: 'sum by (instance) (rate(pulso_transformer_consumed_records_total[$__rate_interval]))',
    legend: '{{instance}}',
    reads: ['time', 'series', 'value'],
    decimals: 1,
  }),
  timeseries({
    title: 'Dead letters by reason',
    description:
      'CDC records the transformer sent to the dead-letter topic (pulso.dlq) per rate window, by the dlq.reason it wrote in their headers; 0 when there are none. Any dead letter fires DeadLetters.',
    gridPos: { x: 0, y: 28, w: 12, h: 7 },
    promql: 'sum by (reason) (increase(pulso_transformer_dead_lettered_total[$__rate_interval])) or vector(0)',
    legend: '{{reason}}',
    reads: ['time', 'series', 'value'],
    decimals: 0,
  }),
  timeseries({
    title: 'Druid ingestion lag per supervisor',
    description:
      "Records of each supervisor's Kafka topic its tasks have not read yet (aggregateLag from the supervisors' status API, through the pipeline exporter).",
    gridPos: { x: 12, y: 28, w: 12, h: 7 },
    promql: 'pulso_druid_supervisor_lag',
    legend: '{{supervisor}}',
    reads: ['time', 'series', 'value'],
    decimals: 0,
  }),

  // ── Row 5: what Druid counts ────────────────────────────────────────────────────────────────
  timeseries({
    title: 'Commit → transformer latency',
    description:
      'Per minute of production: mean and max of (transformer produced − commit time) over streamed changes (snapshot rows excluded: their source time is the snapshot, not a commit). Covers Debezium, Kafka and the transformer.',
    gridPos: { x: 0, y: 35, w: 12, h: 8 },
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
    gridPos: { x: 12, y: 35, w: 12, h: 8 },
    sql: `SELECT __time AS "time", type AS event_type, SUM(records) AS events ${STATS} AND kind = 'event' AND "table" = 'orders' GROUP BY 1, 2 ORDER BY 1`,
    reads: ['time', 'event_type', 'events'],
    decimals: 0,
    stacked: true,
    transformations: [LONG_TO_SERIES],
  }),
  timeseries({
    title: 'Order item events per minute by type',
    description: 'Order-item events the transformer produced per minute, by event_type.',
    gridPos: { x: 0, y: 43, w: 12, h: 8 },
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
    gridPos: { x: 12, y: 43, w: 12, h: 8 },
    // Every minute the transformer counted anything, so a quiet pipeline draws 0, not "No data".
    sql:
      `SELECT __time AS "time", ${sumOrZero('records', "kind = 'skip' AND type IN ('duplicate', 'snapshot_duplicate', 'replayed')")} AS redelivered_events ` +
      `${STATS} GROUP BY 1 ORDER BY 1`,
    reads: ['time', 'redelivered_events'],
    decimals: 0,
  }),

  // ── Row 6: Druid and the stack ──────────────────────────────────────────────────────────────
  table({
    title: 'Druid supervisors',
    description: 'State of every Kafka supervisor (sys.supervisors). healthy = 0 means ingestion is stuck or failing.',
    gridPos: { x: 0, y: 51, w: 8, h: 7 },
    sql: 'SELECT supervisor_id, state, detailed_state, healthy FROM sys.supervisors ORDER BY supervisor_id',
    reads: ['supervisor_id', 'state', 'detailed_state', 'healthy'],
  }),
  table({
    title: 'Realtime segments not yet handed off',
    description:
      'Segments still served by the indexing task (sys.segments, is_realtime = 1). They are queryable already; a count that only grows means handoff to the historical is stuck.',
    gridPos: { x: 8, y: 51, w: 8, h: 7 },
    sql:
      'SELECT datasource, COUNT(*) AS segments_in_tasks, SUM(num_rows) AS rows_in_tasks FROM sys.segments ' +
      'WHERE is_realtime = 1 GROUP BY datasource ORDER BY datasource',
    reads: ['datasource', 'segments_in_tasks', 'rows_in_tasks'],
    decimals: 0,
  }),
  stat({
    title: 'Service restarts in range',
    description:
      'Restarts of each local service by the stack supervisor within the range (pipeline exporter); more than 3 in 30 minutes fires ServiceRestarting. `npm run status` has the reasons.',
    gridPos: { x: 16, y: 51, w: 8, h: 7 },
    promql: 'round(max by (service) (increase(pulso_stack_service_restarts_total[$__range])))',
    legend: '{{service}}',
    instant: true,
    reads: ['series', 'value'],
    decimals: 0,
    perRow: true,
  }),
];

export const pipelineHealthDashboard: BuiltDashboard = assemble(
  'pipeline-health.json',
  {
    uid: 'pulso-pipeline-health',
    title: 'Pulso · Pipeline health',
    description: 'Freshness, throughput and lag of PostgreSQL → Debezium → Kafka → transformer → Druid.',
    tags: ['pulso', 'pipeline', 'druid', 'prometheus'],
    ...DASHBOARD_DEFAULTS,
    links: [dashboardLink('Sales', 'pulso-sales')],
  },
  panels,
);
