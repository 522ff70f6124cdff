// The baseline for bench:dashboards: the Sales panels as they were before the rollups, each recomputing
// every order's current state per query (GROUP BY order_id with LATEST_BY over all its event rows).
// Timed side by side with the rollup panels; no dashboard uses these.
import { currentItems, currentOrders, money } from '../../grafana/src/druidSql.ts';
import { barChart, barGauge, geomap, LONG_TO_SERIES, pieChart, stat, table, timeseries, type PanelDef } from '../../grafana/src/panelKit.ts';
import { IN_RANGE } from '../../grafana/src/druidSql.ts';

const DELIVERED = "current_status = 'delivered'";
const CANCELLED = "current_status = 'cancelled'";
const NOT_CANCELLED = "current_status <> 'cancelled'";
const countWhere = (cond: string): string => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;

export const PER_ORDER_SALES_PANELS: PanelDef[] = [
  // ── Row 1: the case study's headline numbers ──────────────────────────────────────────────
  stat({
    title: 'Total orders',
    description: 'Orders placed in the time range (each order once, deleted orders excluded).',
    gridPos: { x: 0, y: 0, w: 4, h: 4 },
    sql: `SELECT COUNT(*) AS total_orders FROM (${currentOrders([])})`,
    reads: ['total_orders'],
    decimals: 0,
  }),
  stat({
    title: 'Completed orders',
    description: 'Orders placed in the range whose latest status is delivered.',
    gridPos: { x: 4, y: 0, w: 4, h: 4 },
    sql: `SELECT ${countWhere(DELIVERED)} AS completed_orders FROM (${currentOrders(['current_status'])})`,
    reads: ['completed_orders'],
    decimals: 0,
  }),
  stat({
    title: '% completed',
    description: 'Completed (delivered) orders as a share of all orders placed in the range, including those still in progress.',
    gridPos: { x: 8, y: 0, w: 4, h: 4 },
    sql:
      `SELECT 100.0 * ${countWhere(DELIVERED)} / NULLIF(COUNT(*), 0) AS completed_pct ` +
      `FROM (${currentOrders(['current_status'])})`,
    reads: ['completed_pct'],
    unit: 'percent',
    decimals: 1,
  }),
  stat({
    title: 'Completion and cancellation rate (finished orders)',
    description:
      'Among orders placed in the range that are finished (delivered or cancelled): the share delivered and the share cancelled. The two add up to 100%.',
    gridPos: { x: 12, y: 0, w: 6, h: 4 },
    sql:
      `SELECT 100.0 * ${countWhere(DELIVERED)} / NULLIF(${countWhere(`${DELIVERED} OR ${CANCELLED}`)}, 0) AS completion_rate_pct, ` +
      `100.0 * ${countWhere(CANCELLED)} / NULLIF(${countWhere(`${DELIVERED} OR ${CANCELLED}`)}, 0) AS cancellation_rate_pct ` +
      `FROM (${currentOrders(['current_status'])})`,
    reads: ['completion_rate_pct', 'cancellation_rate_pct'],
    unit: 'percent',
    decimals: 1,
  }),
  stat({
    title: 'GMV by currency',
    description:
      'Gross merchandise value: sum of order totals of non-cancelled orders placed in the range, per currency (currencies are never added together).',
    gridPos: { x: 18, y: 0, w: 6, h: 4 },
    sql:
      `SELECT currency, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['currency', 'total_cents', 'current_status'])}) WHERE ${NOT_CANCELLED} ` +
      'GROUP BY currency ORDER BY currency',
    reads: ['currency', 'gmv'],
    decimals: 2,
    perRow: true,
  }),

  // ── Row 2: flow over time ─────────────────────────────────────────────────────────────────
  timeseries({
    title: 'Orders per minute',
    description: 'Orders placed per minute (UTC minute of created_at), each order once.',
    gridPos: { x: 0, y: 4, w: 12, h: 8 },
    sql:
      `SELECT TIME_FLOOR(created_at, 'PT1M') AS "time", COUNT(*) AS orders ` +
      `FROM (${currentOrders([])}) GROUP BY 1 ORDER BY 1`,
    reads: ['time', 'orders'],
    decimals: 0,
  }),
  timeseries({
    title: 'GMV per minute by currency',
    description: 'Sum of totals of non-cancelled orders placed in each UTC minute, one series per currency.',
    gridPos: { x: 12, y: 4, w: 12, h: 8 },
    sql:
      `SELECT TIME_FLOOR(created_at, 'PT1M') AS "time", currency, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['currency', 'total_cents', 'current_status'])}) WHERE ${NOT_CANCELLED} ` +
      'GROUP BY 1, 2 ORDER BY 1',
    reads: ['time', 'currency', 'gmv'],
    decimals: 2,
    transformations: [LONG_TO_SERIES],
  }),

  // ── Row 3: tickets and payment methods ───────────────────────────────────────────────────
  table({
    title: 'Average ticket by currency',
    description: 'Average order total of non-cancelled orders placed in the range, per currency.',
    gridPos: { x: 0, y: 12, w: 8, h: 7 },
    sql:
      `SELECT currency, COUNT(*) AS orders, SUM(total_cents) / 100.0 / COUNT(*) AS avg_ticket ` +
      `FROM (${currentOrders(['currency', 'total_cents', 'current_status'])}) WHERE ${NOT_CANCELLED} ` +
      'GROUP BY currency ORDER BY currency',
    reads: ['currency', 'orders', 'avg_ticket'],
    decimals: 2,
  }),
  table({
    title: 'Revenue by payment method',
    description: 'Revenue = totals of completed (delivered) orders placed in the range, per payment method and currency.',
    gridPos: { x: 8, y: 12, w: 8, h: 7 },
    sql:
      `SELECT payment_method, currency, COUNT(*) AS orders, ${money('total_cents')} AS revenue ` +
      `FROM (${currentOrders(['payment_method', 'currency', 'total_cents', 'current_status'])}) WHERE ${DELIVERED} ` +
      'GROUP BY payment_method, currency ORDER BY currency, revenue DESC',
    reads: ['payment_method', 'currency', 'orders', 'revenue'],
    decimals: 2,
  }),
  pieChart({
    title: 'Orders by payment method',
    description: 'All orders placed in the range, by the payment method of their latest state.',
    gridPos: { x: 16, y: 12, w: 8, h: 7 },
    sql:
      `SELECT payment_method, COUNT(*) AS orders FROM (${currentOrders(['payment_method'])}) ` +
      'GROUP BY payment_method ORDER BY orders DESC',
    reads: ['payment_method', 'orders'],
    labelField: 'payment_method',
    decimals: 0,
  }),

  // ── Row 4: stores and categories ─────────────────────────────────────────────────────────
  table({
    title: 'Top stores',
    description: 'The 10 stores with the most non-cancelled orders placed in the range, with their GMV in the store currency.',
    gridPos: { x: 0, y: 19, w: 12, h: 9 },
    sql:
      `SELECT store_name, city, currency, COUNT(*) AS orders, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['store_id', 'store_name', 'city', 'currency', 'total_cents', 'current_status'])}) ` +
      `WHERE ${NOT_CANCELLED} GROUP BY store_id, store_name, city, currency ORDER BY orders DESC LIMIT 10`,
    reads: ['store_name', 'city', 'currency', 'orders', 'gmv'],
    decimals: 2,
    sortBy: 'orders',
  }),
  table({
    title: 'Top store categories',
    description: 'Non-cancelled orders and GMV per store category and currency, most orders first.',
    gridPos: { x: 12, y: 19, w: 12, h: 9 },
    sql:
      `SELECT store_category, currency, COUNT(*) AS orders, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['store_category', 'currency', 'total_cents', 'current_status'])}) ` +
      `WHERE ${NOT_CANCELLED} GROUP BY store_category, currency ORDER BY orders DESC LIMIT 20`,
    reads: ['store_category', 'currency', 'orders', 'gmv'],
    decimals: 2,
    sortBy: 'orders',
  }),

  // ── Row 5: maps ──────────────────────────────────────────────────────────────────────────
  geomap({
    title: 'Orders by city',
    description:
      'Orders placed in the range per city. The marker sits at the order-weighted mean of the stores’ coordinates in that city (events carry store coordinates, not city centroids).',
    gridPos: { x: 0, y: 28, w: 12, h: 11 },
    sql:
      `SELECT city, country, AVG(latitude) AS latitude, AVG(longitude) AS longitude, COUNT(*) AS orders ` +
      `FROM (${currentOrders(['city', 'country', 'latitude', 'longitude'])}) GROUP BY city, country`,
    reads: ['city', 'country', 'latitude', 'longitude', 'orders'],
    sizeField: 'orders',
    layerName: 'Orders by city',
  }),
  geomap({
    title: 'Store locations and their orders',
    description: 'Every store with orders placed in the range, at its coordinates, sized by its order count.',
    gridPos: { x: 12, y: 28, w: 12, h: 11 },
    sql:
      `SELECT store_name, city, MAX(latitude) AS latitude, MAX(longitude) AS longitude, COUNT(*) AS orders ` +
      `FROM (${currentOrders(['store_id', 'store_name', 'city', 'latitude', 'longitude'])}) ` +
      'GROUP BY store_id, store_name, city',
    reads: ['store_name', 'city', 'latitude', 'longitude', 'orders'],
    sizeField: 'orders',
    layerName: 'Stores',
  }),

  // ── Row 6: the order lifecycle ───────────────────────────────────────────────────────────
  barGauge({
    title: 'Status funnel',
    description:
      'Orders placed in the range that reached at least each stage (from any of their status events), and how many ended cancelled.',
    gridPos: { x: 0, y: 39, w: 8, h: 8 },
    sql:
      'SELECT COUNT(*) AS placed, ' +
      `${countWhere('furthest_stage >= 2')} AS accepted, ` +
      `${countWhere('furthest_stage >= 3')} AS preparing, ` +
      `${countWhere('furthest_stage >= 4')} AS picked_up, ` +
      `${countWhere('furthest_stage >= 5')} AS delivered, ` +
      `${countWhere(CANCELLED)} AS cancelled ` +
      `FROM (${currentOrders(['furthest_stage', 'current_status'])})`,
    reads: ['placed', 'accepted', 'preparing', 'picked_up', 'delivered', 'cancelled'],
    decimals: 0,
  }),
  pieChart({
    title: 'Orders by current status',
    description: 'Orders placed in the range by their latest status.',
    gridPos: { x: 8, y: 39, w: 8, h: 8 },
    sql:
      `SELECT current_status, COUNT(*) AS orders FROM (${currentOrders(['current_status'])}) ` +
      'GROUP BY current_status ORDER BY orders DESC',
    reads: ['current_status', 'orders'],
    labelField: 'current_status',
    decimals: 0,
  }),
  stat({
    title: 'Delivery time percentiles',
    description:
      'p50 / p90 / p99 of delivered_at − created_at for delivered orders placed in the range, exact nearest-rank at whole-minute resolution (each duration rounded up to the minute). Computed with a cumulative window sum; no sketch extension needed.',
    gridPos: { x: 16, y: 39, w: 8, h: 4 },
    sql:
      'SELECT ' +
      'MIN(CASE WHEN orders_up_to_minute >= 0.50 * delivered_orders THEN delivery_minute END) AS p50_minutes, ' +
      'MIN(CASE WHEN orders_up_to_minute >= 0.90 * delivered_orders THEN delivery_minute END) AS p90_minutes, ' +
      'MIN(CASE WHEN orders_up_to_minute >= 0.99 * delivered_orders THEN delivery_minute END) AS p99_minutes ' +
      'FROM (SELECT delivery_minute, ' +
      'SUM(COUNT(*)) OVER (ORDER BY delivery_minute ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS orders_up_to_minute, ' +
      'SUM(COUNT(*)) OVER () AS delivered_orders ' +
      'FROM (SELECT CAST(CEIL(delivery_minutes) AS BIGINT) AS delivery_minute ' +
      `FROM (${currentOrders(['current_status', 'delivery_minutes'])}) ` +
      `WHERE ${DELIVERED} AND delivery_minutes IS NOT NULL) ` +
      'GROUP BY delivery_minute)',
    reads: ['p50_minutes', 'p90_minutes', 'p99_minutes'],
    unit: 'm',
    decimals: 0,
  }),
  barChart({
    title: 'Delivery time distribution',
    description: 'Delivered orders placed in the range by delivery time, rounded up to the minute (the histogram behind the percentiles).',
    gridPos: { x: 16, y: 43, w: 8, h: 4 },
    sql:
      "SELECT delivery_minute, CONCAT('<= ', CAST(delivery_minute AS VARCHAR), ' min') AS delivery_time, COUNT(*) AS orders " +
      'FROM (SELECT CAST(CEIL(delivery_minutes) AS BIGINT) AS delivery_minute ' +
      `FROM (${currentOrders(['current_status', 'delivery_minutes'])}) ` +
      `WHERE ${DELIVERED} AND delivery_minutes IS NOT NULL) ` +
      'GROUP BY delivery_minute ORDER BY delivery_minute',
    reads: ['delivery_time', 'orders'],
    xField: 'delivery_time',
    decimals: 0,
    // delivery_minute only orders the rows; the bars are labelled by delivery_time.
    transformations: [{ id: 'organize', options: { excludeByName: { delivery_minute: true } } }],
  }),

  // ── Row 7: products ──────────────────────────────────────────────────────────────────────
  barChart({
    title: 'Top products by units',
    description: 'Units in order items first seen in the range (latest quantity per item, deleted items excluded), top 10 products.',
    gridPos: { x: 0, y: 47, w: 24, h: 8 },
    sql:
      `SELECT product_name, SUM(quantity) AS units FROM (${currentItems()}) ` +
      'GROUP BY product_id, product_name ORDER BY units DESC LIMIT 10',
    reads: ['product_name', 'units'],
    xField: 'product_name',
    horizontal: true,
    decimals: 0,
  }),
];


// The Pipeline-health panels as they were: scans and groupings of the event rows themselves.
const NOW_MS = 'TIMESTAMP_TO_MILLIS(CURRENT_TIMESTAMP)';
const FRESHNESS_THRESHOLDS = [
  { color: 'green', value: null },
  { color: 'orange', value: 5 },
  { color: 'red', value: 30 },
];

export const PER_EVENT_PIPELINE_PANELS: PanelDef[] = [
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
];
