// The baseline for bench:dashboards: the Sales panels as they were before the rollups, each recomputing
// every order's current state per query (GROUP BY order_id with LATEST_BY over all its event rows).
// Timed side by side with the rollup panels (same titles); no dashboard uses these. Only the SQL is kept.
import { currentItems, currentOrders, IN_RANGE, money } from '../../grafana/src/sqlFragments.ts';

const DELIVERED = "current_status = 'delivered'";
const CANCELLED = "current_status = 'cancelled'";
const NOT_CANCELLED = "current_status <> 'cancelled'";
const countWhere = (cond: string): string => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;

export interface BaselineQuery {
  readonly title: string;
  readonly sql: string;
}

export const PER_ORDER_SALES_PANELS: readonly BaselineQuery[] = [
  {
    title: 'Total orders',
    sql: `SELECT COUNT(*) AS total_orders FROM (${currentOrders([])})`,
  },
  {
    title: 'Completed orders',
    sql: `SELECT ${countWhere(DELIVERED)} AS completed_orders FROM (${currentOrders(['current_status'])})`,
  },
  {
    title: '% completed',
    sql:
      `SELECT 100.0 * ${countWhere(DELIVERED)} / NULLIF(COUNT(*), 0) AS completed_pct ` +
      `FROM (${currentOrders(['current_status'])})`,
  },
  {
    title: 'Completion and cancellation rate (finished orders)',
    sql:
      `SELECT 100.0 * ${countWhere(DELIVERED)} / NULLIF(${countWhere(`${DELIVERED} OR ${CANCELLED}`)}, 0) AS completion_rate_pct, ` +
      `100.0 * ${countWhere(CANCELLED)} / NULLIF(${countWhere(`${DELIVERED} OR ${CANCELLED}`)}, 0) AS cancellation_rate_pct ` +
      `FROM (${currentOrders(['current_status'])})`,
  },
  {
    title: 'GMV by currency',
    sql:
      `SELECT currency, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['currency', 'total_cents', 'current_status'])}) WHERE ${NOT_CANCELLED} ` +
      'GROUP BY currency ORDER BY currency',
  },
  {
    title: 'Orders per minute',
    sql:
      `SELECT TIME_FLOOR(created_at, 'PT1M') AS "time", COUNT(*) AS orders ` +
      `FROM (${currentOrders([])}) GROUP BY 1 ORDER BY 1`,
  },
  {
    title: 'GMV per minute by currency',
    sql:
      `SELECT TIME_FLOOR(created_at, 'PT1M') AS "time", currency, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['currency', 'total_cents', 'current_status'])}) WHERE ${NOT_CANCELLED} ` +
      'GROUP BY 1, 2 ORDER BY 1',
  },
  {
    title: 'Average ticket by currency',
    sql:
      `SELECT currency, COUNT(*) AS orders, SUM(total_cents) / 100.0 / COUNT(*) AS avg_ticket ` +
      `FROM (${currentOrders(['currency', 'total_cents', 'current_status'])}) WHERE ${NOT_CANCELLED} ` +
      'GROUP BY currency ORDER BY currency',
  },
  {
    title: 'Revenue by payment method',
    sql:
      `SELECT payment_method, currency, COUNT(*) AS orders, ${money('total_cents')} AS revenue ` +
      `FROM (${currentOrders(['payment_method', 'currency', 'total_cents', 'current_status'])}) WHERE ${DELIVERED} ` +
      'GROUP BY payment_method, currency ORDER BY currency, revenue DESC',
  },
  {
    title: 'Orders by payment method',
    sql:
      `SELECT payment_method, COUNT(*) AS orders FROM (${currentOrders(['payment_method'])}) ` +
      'GROUP BY payment_method ORDER BY orders DESC',
  },
  {
    title: 'Top stores',
    sql:
      `SELECT store_name, city, currency, COUNT(*) AS orders, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['store_id', 'store_name', 'city', 'currency', 'total_cents', 'current_status'])}) ` +
      `WHERE ${NOT_CANCELLED} GROUP BY store_id, store_name, city, currency ORDER BY orders DESC LIMIT 10`,
  },
  {
    title: 'Top store categories',
    sql:
      `SELECT store_category, currency, COUNT(*) AS orders, ${money('total_cents')} AS gmv ` +
      `FROM (${currentOrders(['store_category', 'currency', 'total_cents', 'current_status'])}) ` +
      `WHERE ${NOT_CANCELLED} GROUP BY store_category, currency ORDER BY orders DESC LIMIT 20`,
  },
  {
    title: 'Orders by city',
    sql:
      `SELECT city, country, AVG(latitude) AS latitude, AVG(longitude) AS longitude, COUNT(*) AS orders ` +
      `FROM (${currentOrders(['city', 'country', 'latitude', 'longitude'])}) GROUP BY city, country`,
  },
  {
    title: 'Store locations and their orders',
    sql:
      `SELECT store_name, city, MAX(latitude) AS latitude, MAX(longitude) AS longitude, COUNT(*) AS orders ` +
      `FROM (${currentOrders(['store_id', 'store_name', 'city', 'latitude', 'longitude'])}) ` +
      'GROUP BY store_id, store_name, city',
  },
  {
    title: 'Status funnel',
    sql:
      'SELECT COUNT(*) AS placed, ' +
      `${countWhere('furthest_stage >= 2')} AS accepted, ` +
      `${countWhere('furthest_stage >= 3')} AS preparing, ` +
      `${countWhere('furthest_stage >= 4')} AS picked_up, ` +
      `${countWhere('furthest_stage >= 5')} AS delivered, ` +
      `${countWhere(CANCELLED)} AS cancelled ` +
      `FROM (${currentOrders(['furthest_stage', 'current_status'])})`,
  },
  {
    title: 'Orders by current status',
    sql:
      `SELECT current_status, COUNT(*) AS orders FROM (${currentOrders(['current_status'])}) ` +
      'GROUP BY current_status ORDER BY orders DESC',
  },
  {
    title: 'Delivery time percentiles',
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
  },
  {
    title: 'Delivery time distribution',
    sql:
      "SELECT delivery_minute, CONCAT('<= ', CAST(delivery_minute AS VARCHAR), ' min') AS delivery_time, COUNT(*) AS orders " +
      'FROM (SELECT CAST(CEIL(delivery_minutes) AS BIGINT) AS delivery_minute ' +
      `FROM (${currentOrders(['current_status', 'delivery_minutes'])}) ` +
      `WHERE ${DELIVERED} AND delivery_minutes IS NOT NULL) ` +
      'GROUP BY delivery_minute ORDER BY delivery_minute',
  },
  {
    title: 'Top products by units',
    sql:
      `SELECT product_name, SUM(quantity) AS units FROM (${currentItems()}) ` +
      'GROUP BY product_id, product_name ORDER BY units DESC LIMIT 10',
  },
];

// The Pipeline-health panels as they were: scans and groupings of the event rows themselves.
const NOW_MS = 'TIMESTAMP_TO_MILLIS(CURRENT_TIMESTAMP)';

export const PER_EVENT_PIPELINE_PANELS: readonly BaselineQuery[] = [
  {
    title: 'Seconds since the newest commit reached Druid',
    sql: `SELECT (${NOW_MS} - MAX(source_ts_ms)) / 1000.0 AS seconds_since_last_commit FROM orders WHERE ${IN_RANGE}`,
  },
  {
    title: 'Seconds since the transformer last produced',
    sql: `SELECT (${NOW_MS} - MAX(transformed_at_ms)) / 1000.0 AS seconds_since_last_transform FROM orders WHERE ${IN_RANGE}`,
  },
  {
    title: 'Events produced in range',
    sql:
      `SELECT 'orders' AS datasource, COUNT(*) AS events FROM orders WHERE ${IN_RANGE} ` +
      `UNION ALL SELECT 'order_items' AS datasource, COUNT(*) AS events FROM order_items WHERE ${IN_RANGE}`,
  },
  {
    title: 'Commit → transformer latency',
    sql:
      `SELECT TIME_FLOOR(__time, 'PT1M') AS "time", AVG(transformed_at_ms - source_ts_ms) AS mean_latency_ms, ` +
      'MAX(transformed_at_ms - source_ts_ms) AS max_latency_ms ' +
      `FROM orders WHERE ${IN_RANGE} AND event_type <> 'snapshot' GROUP BY 1 ORDER BY 1`,
  },
  {
    title: 'Order events per minute by type',
    sql:
      `SELECT TIME_FLOOR(__time, 'PT1M') AS "time", event_type, COUNT(*) AS events ` +
      `FROM orders WHERE ${IN_RANGE} GROUP BY 1, 2 ORDER BY 1`,
  },
  {
    title: 'Order item events per minute by type',
    sql:
      `SELECT TIME_FLOOR(__time, 'PT1M') AS "time", event_type, COUNT(*) AS events ` +
      `FROM order_items WHERE ${IN_RANGE} GROUP BY 1, 2 ORDER BY 1`,
  },
  {
    title: 'Redelivered order events per minute',
    sql:
      `SELECT TIME_FLOOR(first_seen, 'PT1M') AS "time", SUM(copies - 1) AS redelivered_events ` +
      `FROM (SELECT event_id, MIN(__time) AS first_seen, COUNT(*) AS copies FROM orders WHERE ${IN_RANGE} GROUP BY event_id) ` +
      'GROUP BY 1 ORDER BY 1',
  },
];
