// Druid SQL building blocks shared by the dashboards. Why each choice: docs/dashboards.md.
//
// The Sales panels read the rollup datasources (order_rollup, order_rollup_by_store, order_item_rollup,
// order_deliveries): signed deltas whose sums are each order's current state, so a panel aggregates a
// few pre-rolled rows per minute instead of grouping every event by order_id.
//
// currentOrders()/currentItems() are the per-order reconstruction from the event datasources (an order
// counted once, in its latest state, from all its event rows): for drill-down queries by hand and as
// the baseline that `npm run bench:dashboards` times against the rollup panels. No panel uses them.

/** Grafana's global range variables (epoch ms). The Druid plugin has no $__timeFilter macro. */
export const RANGE_FROM = 'MILLIS_TO_TIMESTAMP(${__from})';
export const RANGE_TO = 'MILLIS_TO_TIMESTAMP(${__to})';

/** Rows whose __time (the commit time) falls in the dashboard range. */
export const IN_RANGE = `__time >= ${RANGE_FROM} AND __time <= ${RANGE_TO}`;

/**
 * Rollup rows (minute granularity: __time is the minute of the order's created_at) of orders placed in
 * the range. The range start is floored to its minute: an order placed at 10:00:40 is in a range starting
 * at 10:00:30, because its row is the 10:00 minute's.
 */
export const ROLLUP_IN_RANGE = `__time >= TIME_FLOOR(${RANGE_FROM}, 'PT1M') AND __time <= ${RANGE_TO}`;

/** The previous range of equal length starts here, minute-aligned as ROLLUP_IN_RANGE is. */
const PREVIOUS_FROM = "TIME_FLOOR(MILLIS_TO_TIMESTAMP(2 * ${__from} - ${__to}), 'PT1M')";
const CURRENT_FROM = `TIME_FLOOR(${RANGE_FROM}, 'PT1M')`;

/**
 * A headline figure and its trend: two rows, the previous range of equal length and the range itself, each
 * `time` its start and `measures` summed over it (each row exists even when its range is empty). Grafana's stat
 * shows the last row with `showPercentChange` against the first; the local page draws the same.
 */
export function trendOf(table: string, measures: string): string {
  const previous = `__time >= ${PREVIOUS_FROM} AND __time < ${CURRENT_FROM}`;
  return (
    `SELECT ${PREVIOUS_FROM} AS "time", ${measures} FROM ${table} WHERE ${previous} ` +
    `UNION ALL SELECT ${CURRENT_FROM} AS "time", ${measures} FROM ${table} WHERE ${ROLLUP_IN_RANGE}`
  );
}

/** Signed sums leave a zero row behind for a group whose orders all moved on or were deleted: hide it. */
export const HAVING_ORDERS = 'HAVING SUM(orders) <> 0';

/** A sum that is 0 (not null, which a stat shows as "No data") over an empty range; optionally filtered. */
export function sumOrZero(expr: string, where?: string): string {
  return `COALESCE(SUM(${expr})${where ? ` FILTER (WHERE ${where})` : ''}, 0)`;
}

/** Tie-breaker for LATEST_BY: orders.version, bumped by a trigger on every UPDATE. */
const BY_VERSION = 'MILLIS_TO_TIMESTAMP(order_version)';

/**
 * Order attributes a panel can ask for, each as its latest value per order_id.
 * Strings carry a maxBytesPerValue sized to the longest expected value (LATEST_BY truncates at it).
 */
const ORDER_STATE = {
  current_status: `LATEST_BY(status, ${BY_VERSION}, 32)`,
  payment_method: `LATEST_BY(payment_method, ${BY_VERSION}, 64)`,
  payment_status: `LATEST_BY(payment_status, ${BY_VERSION}, 32)`,
  currency: `LATEST_BY(currency, ${BY_VERSION}, 8)`,
  total_cents: `LATEST_BY(total_cents, ${BY_VERSION})`,
  item_count: `LATEST_BY(item_count, ${BY_VERSION})`,
  store_id: `LATEST_BY(store_id, ${BY_VERSION}, 32)`,
  store_name: `LATEST_BY(store_name, ${BY_VERSION}, 256)`,
  store_category: `LATEST_BY(store_category, ${BY_VERSION}, 64)`,
  city: `LATEST_BY(city, ${BY_VERSION}, 128)`,
  country: `LATEST_BY(country, ${BY_VERSION}, 8)`,
  latitude: `LATEST_BY(latitude, ${BY_VERSION})`,
  longitude: `LATEST_BY(longitude, ${BY_VERSION})`,
  delivery_minutes: `LATEST_BY(delivery_minutes, ${BY_VERSION})`,
  /**
   * Furthest delivery stage any event of the order showed (placed=1 … delivered=5, cancelled=0).
   * A MAX over all events, so an order later cancelled still counts for the stages it reached.
   */
  furthest_stage:
    "MAX(CASE status WHEN 'placed' THEN 1 WHEN 'accepted' THEN 2 WHEN 'preparing' THEN 3 " +
    "WHEN 'picked_up' THEN 4 WHEN 'delivered' THEN 5 ELSE 0 END)",
} as const;

export type OrderStateColumn = keyof typeof ORDER_STATE;

/**
 * One row per order placed in the dashboard range, in its latest known state as of the range end,
 * deleted orders excluded. Output columns: order_id, created_at (TIMESTAMP), and the asked-for columns.
 *
 * - Inner scan: events committed in [from, to]. Every event of an order commits at or after its
 *   created_at, so an order created in the range has all its events up to `to` in this scan.
 * - is_deleted: MAX, not LATEST_BY: the `deleted` event carries the same order_version as the last
 *   update, so LATEST_BY on the version would be a tie with either value.
 * - created_at: the string from the event, parsed once per order in the outer query.
 */
export function currentOrders(columns: readonly OrderStateColumn[]): string {
  const picked = [...new Set(columns)];
  const inner = [
    'order_id',
    `LATEST_BY(created_at, ${BY_VERSION}, 64) AS created_at_iso`,
    'MAX(is_deleted) AS deleted_flag',
    ...picked.map((c) => `${ORDER_STATE[c]} AS ${c}`),
  ].join(', ');
  const outer = ['order_id', 'TIME_PARSE(created_at_iso) AS created_at', ...picked].join(', ');
  return (
    `SELECT ${outer} FROM (SELECT ${inner} FROM orders WHERE ${IN_RANGE} GROUP BY order_id) ` +
    `WHERE deleted_flag = 0 AND TIME_PARSE(created_at_iso) >= ${RANGE_FROM} AND TIME_PARSE(created_at_iso) <= ${RANGE_TO}`
  );
}

/** How far back "Latest orders" looks from the range end: its cost follows the order rate, never the history. */
export const LATEST_ORDERS_WINDOW_MS = 15 * 60_000;

/**
 * The newest orders placed in the last LATEST_ORDERS_WINDOW_MS of the range (or the whole range when shorter; an
 * order dated after the range end, as a simulated clock writes them, is not in it),
 * each in its latest state, deleted ones excluded: when, which store and city, status, total (from its integer
 * cents) and currency. A per-order query like currentOrders(), kept cheap by the window: at
 * 150 orders/s it groups about 135,000 orders' events at most, whatever the range.
 */
export function latestOrders(limit: number): string {
  const since = `MILLIS_TO_TIMESTAMP(GREATEST(\${__from}, \${__to} - ${LATEST_ORDERS_WINDOW_MS}))`;
  const placedAt = `TIME_PARSE(LATEST_BY(created_at, ${BY_VERSION}, 64))`;
  const columns = [
    `${placedAt} AS placed_at`,
    'order_id',
    `${ORDER_STATE.store_name} AS store_name`,
    `${ORDER_STATE.city} AS city`,
    `${ORDER_STATE.current_status} AS status`,
    `${ORDER_STATE.total_cents} / 100.0 AS total`,
    `${ORDER_STATE.currency} AS currency`,
  ].join(', ');
  return (
    `SELECT ${columns} FROM orders WHERE __time >= ${since} AND __time <= ${RANGE_TO} GROUP BY order_id ` +
    `HAVING MAX(is_deleted) = 0 AND ${placedAt} >= ${since} AND ${placedAt} <= ${RANGE_TO} ORDER BY 1 DESC, 2 DESC LIMIT ${limit}`
  );
}

/**
 * One row per order item first seen in the range, latest state, deleted items excluded.
 * Items have no version column: LATEST_BY orders by __time (commit time); two updates of one item
 * in the same millisecond are not expected (each is its own transaction).
 */
export function currentItems(): string {
  return (
    'SELECT item_id, order_id, product_id, product_name, quantity, line_total_cents FROM (' +
    'SELECT item_id, ' +
    'LATEST_BY(order_id, __time, 32) AS order_id, ' +
    'LATEST_BY(product_id, __time, 32) AS product_id, ' +
    'LATEST_BY(product_name, __time, 256) AS product_name, ' +
    'LATEST_BY(quantity, __time) AS quantity, ' +
    'LATEST_BY(line_total_cents, __time) AS line_total_cents, ' +
    'MAX(is_deleted) AS deleted_flag ' +
    `FROM order_items WHERE ${IN_RANGE} GROUP BY item_id) WHERE deleted_flag = 0`
  );
}

/** Money in major units from integer minor units; the division happens once, after the exact SUM. */
export function money(centsExpr: string): string {
  return `SUM(${centsExpr}) / 100.0`;
}
