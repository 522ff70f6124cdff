// The Risk & Inventory dashboard: stock now, stock-outs and the sales they cost, top sellers with their stock.
// Stock comes from two datasources fed by the transformer's stock deltas (transformer/rollup/stockDeltas.ts):
// `stock_now`, every delta of a product on the day it was first seen, so a sum over all of it is the stock
// PostgreSQL holds now (compaction folds a product's history into one row), and `stock_movements`, what moved at
// each change's commit minute (units in and out, stock-outs, the units after). Lost sales are orders rejected out
// of stock, from the order rollup (lost_* measures). Why each query stays cheap: docs/dashboards.md, "Inventory".
import { RANGE_FROM, RANGE_TO, ROLLUP_IN_RANGE, sumOrZero, trendOf } from './sqlFragments.ts';
import {
  assemble,
  DASHBOARD_DEFAULTS,
  dashboardLink,
  stat,
  table,
  timeseries,
  type BuiltDashboard,
  type PanelDef,
} from './panelKit.ts';

const STOCK_NOW = 'FROM stock_now';
/** stock_movements is per product and UTC hour: a range starts at its first hour. */
const MOVEMENTS = `FROM stock_movements WHERE __time >= TIME_FLOOR(${RANGE_FROM}, 'PT1H') AND __time <= ${RANGE_TO}`;
/**
 * The current sales rate, behind hours of cover and the top sellers: units reserved in the last three whole hours
 * before the range end and the hour it is in, per hour of that window.
 */
const RATE_HOURS = 3;
const RATE_WINDOW = `__time >= TIME_FLOOR(${RANGE_TO}, 'PT1H') - INTERVAL '${RATE_HOURS}' HOUR AND __time <= ${RANGE_TO}`;
const RATE_WINDOW_HOURS = `(${RATE_HOURS} + MOD(\${__to}, 3600000) / 3600000.0)`;
const ALERT = [
  { color: 'green', value: null },
  { color: 'red', value: 1 },
];

/**
 * Products whose stock is low, out or negative now: only the rows of those state classes (a state's +1 and its −1 are
 * in the same class, so what is left is the current state when it is in one of them). stock_now is the join's base
 * table, so the join runs where the segment is; the recent sales are the only subquery.
 */
const LOW_NOW_WHERE = `WHERE s.stock_state IN ('low', 'out', 'negative')`;
/**
 * A product's recent sales, joined to each of its stock rows: the same value on every row, so MAX is that value
 * (SUM would count it once per row while a state change is not compacted yet).
 */
const SOLD = 'MAX(COALESCE(m.sold, 0))';
/** Units left over the hourly rate of the window: null when nothing sold in it. */
const HOURS_OF_COVER = `SUM(s.units) * ${RATE_WINDOW_HOURS} / NULLIF(${SOLD}, 0)`;
/** Shown to a tenth of an hour; units stay whole numbers in the same table. */
const HOURS_OF_COVER_SHOWN = `ROUND(${HOURS_OF_COVER}, 1)`;
const SOLD_RECENTLY = `SELECT product_id, SUM(units_out) AS sold FROM stock_movements WHERE ${RATE_WINDOW} GROUP BY 1`;

// ── Risk: each signal is a rule over exact per-customer or per-store sums (transformer/rollup/riskFlags.ts) ──
/**
 * Card testing: at least this many small card declines (a declined credit or debit card payment under 10 USD,
 * transformer/rollup/riskFlags.ts) of one customer in some 10 whole minutes (sliding windows, slidingWindows below).
 */
export const CARD_TESTING = { declines: 4, minutes: 10 } as const;
/** Refund abuse: at least this many refunded deliveries, and at least this share of the customer's deliveries. */
export const REFUND_ABUSE = { refunds: 3, sharePct: 50 } as const;
/** A new account (signed up less than a day before) with this many high tickets (≥ 150 USD) in 30 whole minutes. */
export const NEW_ACCOUNT = { highTickets: 3, minutes: 30 } as const;
/** A store with at least this many orders, this share of them cancelled after the payment was taken. */
export const STORE_CANCELS = { orders: 10, sharePct: 30 } as const;

/** Per customer and day: the days the range touches (a day row is stamped at its start). */
const CUSTOMER_DAYS = `FROM customer_risk_day WHERE __time >= TIME_FLOOR(${RANGE_FROM}, 'P1D') AND __time <= ${RANGE_TO}`;

/**
 * Velocity over sliding windows of whole minutes, one starting at every minute: the windows (start, customer) with
 * at least `atLeast` of the measure, exact over the per-customer minute cube. Druid stamps each flagged minute row at
 * ingestion with the starts of the windows that contain it (`starts`, a multi-value column: the row's minute and the
 * minutes−1 before it, druid-specs/customer_risk_minute.supervisor.json), and grouping by a multi-value column counts
 * the row once in each of its values. Aligned windows missed a burst across their boundary (2 declines at :08 and
 * :09, 2 at :10 and :11). A row without starts (ingested before they existed) would group as one null window, so it
 * is left out; the bootstrap rebuilds such rows (pipeline/druidSetup.ts).
 */
function slidingWindows(
  measure: string,
  starts: string,
  atLeast: number,
  alias: string,
  opts: { candidatesFirst: boolean },
): string {
  const flagged = `FROM customer_risk_minute WHERE ${ROLLUP_IN_RANGE} AND ${measure} <> 0`;
  // A customer with fewer than `atLeast` in the whole range has no such window. Where most customers with the measure
  // have a lone one (honest small declines), counting only the others' rows per window pays for the extra pass: the
  // cost is one group per window and customer (docs/benchmarks.md); a new account's high tickets mostly come in bursts.
  const candidates = `SELECT customer_id ${flagged} GROUP BY customer_id HAVING SUM(${measure}) >= ${atLeast}`;
  return (
    `SELECT MILLIS_TO_TIMESTAMP(CAST(${starts} AS BIGINT)) AS window_start, customer_id, SUM(${measure}) AS ${alias} ` +
    `${flagged} AND ${starts} IS NOT NULL${opts.candidatesFirst ? ` AND customer_id IN (${candidates})` : ''} ` +
    `GROUP BY ${starts}, customer_id HAVING SUM(${measure}) >= ${atLeast}`
  );
}
/** The multi-value columns of window starts, per measure (checked against the spec by test/static). */
export const WINDOW_STARTS = {
  small_card_declines: { column: 'card_window_starts', minutes: CARD_TESTING.minutes },
  new_account_high_ticket_orders: { column: 'ticket_window_starts', minutes: NEW_ACCOUNT.minutes },
} as const;

/** One row per flagged window (or customer, or store), ready to be listed or counted. Only flagged rows are read. */
const CARD_TESTERS = slidingWindows(
  'small_card_declines',
  WINDOW_STARTS.small_card_declines.column,
  CARD_TESTING.declines,
  'declined',
  { candidatesFirst: true },
);
const REFUND_ABUSERS =
  'SELECT customer_id, SUM(delivered_orders) AS delivered, SUM(refunded_orders) AS refunded, ' +
  `100.0 * SUM(refunded_orders) / NULLIF(SUM(delivered_orders), 0) AS refund_pct ${CUSTOMER_DAYS} GROUP BY customer_id ` +
  `HAVING SUM(refunded_orders) >= ${REFUND_ABUSE.refunds} AND SUM(refunded_orders) * 100 >= ${REFUND_ABUSE.sharePct} * SUM(delivered_orders)`;
const NEW_ACCOUNT_BURSTS = slidingWindows(
  'new_account_high_ticket_orders',
  WINDOW_STARTS.new_account_high_ticket_orders.column,
  NEW_ACCOUNT.highTickets,
  'high_tickets',
  { candidatesFirst: false },
);
/**
 * Orders a store took on: placed and not rejected out of stock. A rejection is the inventory's (lost sales), not the
 * store's conduct, so it counts in neither side of the share.
 */
const TAKEN_ON = '(SUM(orders) - SUM(lost_orders))';
const CANCELLING_STORES =
  `SELECT store_id, store_name, city, ${TAKEN_ON} AS orders, SUM(paid_cancelled_orders) AS cancelled_after_payment, ` +
  `100.0 * SUM(paid_cancelled_orders) / NULLIF(${TAKEN_ON}, 0) AS cancelled_pct FROM order_rollup_store WHERE ${ROLLUP_IN_RANGE} ` +
  `GROUP BY store_id, store_name, city HAVING ${TAKEN_ON} >= ${STORE_CANCELS.orders} ` +
  `AND SUM(paid_cancelled_orders) * 100 >= ${STORE_CANCELS.sharePct} * ${TAKEN_ON}`;

const flaggedCount = (title: string, description: string, x: number, query: string, key: string) =>
  stat({
    title,
    description: `${description} 0: nobody matches the rule in the range.`,
    gridPos: { x, y: 23, w: 4, h: 4 },
    sql: `SELECT COUNT(DISTINCT ${key}) AS flagged FROM (${query})`,
    reads: ['flagged'],
    decimals: 0,
    thresholds: ALERT,
  });

/** Every demand series as one PromQL answer, told apart by a `series` label (one target per panel). */
const DEMAND_SERIES = [
  ['pulso_demand_orders', 'orders'],
  ['pulso_demand_expected_orders', 'expected'],
  ['pulso_demand_band_low', 'band low'],
  ['pulso_demand_band_high', 'band high'],
  ['pulso_demand_orders and on () (max(pulso_demand_anomaly) == 1)', 'outside the band'],
]
  .map(([expr, name]) => `label_replace(${expr}, "series", "${name}", "", "")`)
  .join(' or ');

const panels: PanelDef[] = [
  // ── Row 1: stock now, and what stock-outs cost ─────────────────────────────────────────────
  stat({
    title: 'Products low on stock now',
    description:
      'Products with units left at or under their reorder point (and above zero): the next restock tops them up. Stock now, whatever the time range.',
    gridPos: { x: 0, y: 0, w: 4, h: 4 },
    sql: `SELECT ${sumOrZero('low_rows')} AS low_products ${STOCK_NOW}`,
    reads: ['low_products'],
    decimals: 0,
  }),
  stat({
    title: 'Out of stock now',
    description: 'Products with no units left (zero or below): an order for one is rejected. Stock now.',
    gridPos: { x: 4, y: 0, w: 4, h: 4 },
    sql: `SELECT ${sumOrZero('out_of_stock_rows')} AS out_of_stock ${STOCK_NOW}`,
    reads: ['out_of_stock'],
    decimals: 0,
  }),
  stat({
    title: 'Impossible stock',
    description:
      'Products whose stock is below zero in PostgreSQL: no shelf can hold that, so a writer has a bug or someone changed stock_levels by hand. Shown as it is, never clamped. Should be 0.',
    gridPos: { x: 8, y: 0, w: 4, h: 4 },
    sql: `SELECT ${sumOrZero('negative_rows')} AS negative_stock ${STOCK_NOW}`,
    reads: ['negative_stock'],
    decimals: 0,
    thresholds: ALERT,
  }),
  stat({
    title: 'Orders lost to stock-outs',
    description:
      'Orders placed in the range that the store rejected because an item was out of stock (cancel_reason out_of_stock), and the change against the previous range of equal length.',
    gridPos: { x: 12, y: 0, w: 6, h: 4 },
    sql: trendOf('order_rollup_status', `${sumOrZero('lost_orders')} AS lost_orders`),
    reads: ['time', 'lost_orders'],
    decimals: 0,
    trend: true,
  }),
  stat({
    title: 'Sales lost to stock-outs (USD)',
    description:
      "Totals of the orders rejected out of stock, in US dollars at each order's business-date rate, and the change against the previous range of equal length.",
    gridPos: { x: 18, y: 0, w: 6, h: 4 },
    sql: trendOf('order_rollup_status', `${sumOrZero('lost_usd_cents')} / 100.0 AS lost_gmv_usd`),
    reads: ['time', 'lost_gmv_usd'],
    unit: 'currencyUSD',
    decimals: 2,
    trend: true,
  }),

  // ── Row 2: what to restock first ───────────────────────────────────────────────────────────
  table({
    title: 'Low stock now',
    description: `Products at or under their reorder point, or out: units left, the units reserved lately (the ${RATE_HOURS} whole UTC hours before the range end and the hour it is in), and the hours of cover that rate leaves (empty: nothing sold lately). Out of stock first (fewest units first), then the fewest hours of cover; 20 rows.`,
    gridPos: { x: 0, y: 4, w: 14, h: 10 },
    sql:
      'SELECT s.store_name AS store_name, s.product_name AS product_name, s.city AS city, SUM(s.units) AS units_left, ' +
      `SUM(s.reorder_point) AS reorder_point, ${SOLD} AS sold_lately, ${HOURS_OF_COVER_SHOWN} AS hours_of_cover ` +
      `FROM stock_now AS s LEFT JOIN (${SOLD_RECENTLY}) AS m ON s.product_id = m.product_id ${LOW_NOW_WHERE} ` +
      'GROUP BY s.product_id, s.store_name, s.product_name, s.city HAVING SUM(s.stock_rows) > 0 ' +
      // Out of stock (or below zero) first, fewest units first; then the low ones by hours of cover. The product id
      // breaks ties (hundreds of products are out at 0 units), so a refresh shows the same 20.
      `ORDER BY CASE WHEN SUM(s.units) <= 0 THEN SUM(s.units) - 1e9 ELSE COALESCE(${HOURS_OF_COVER}, 1e9) END, SUM(s.units), s.product_id LIMIT 20`,
    reads: ['store_name', 'product_name', 'city', 'units_left', 'reorder_point', 'sold_lately', 'hours_of_cover'],
  }),
  timeseries({
    title: 'Stock-outs per hour',
    description: 'Products that ran out (their units went from above zero to zero or below), per UTC hour.',
    gridPos: { x: 14, y: 4, w: 10, h: 5 },
    sql: `SELECT __time AS "time", SUM(stockouts) AS stockouts ${MOVEMENTS} GROUP BY 1 ORDER BY 1`,
    reads: ['time', 'stockouts'],
    decimals: 0,
  }),
  timeseries({
    title: 'Orders lost to stock-outs per hour',
    description: 'Orders placed in each UTC hour that were rejected because an item was out of stock.',
    gridPos: { x: 14, y: 9, w: 10, h: 5 },
    sql:
      `SELECT TIME_FLOOR(__time, 'PT1H') AS "time", SUM(lost_orders) AS lost_orders FROM order_rollup_status ` +
      `WHERE ${ROLLUP_IN_RANGE} GROUP BY 1 ORDER BY 1`,
    reads: ['time', 'lost_orders'],
    decimals: 0,
  }),

  // ── Row 3: what sells, and what is left of it ──────────────────────────────────────────────
  table({
    title: 'Top sellers lately, with their stock',
    description: `The 10 products with the most units reserved by orders lately (the ${RATE_HOURS} whole UTC hours before the range end and the hour it is in), with the units left after their last change.`,
    gridPos: { x: 0, y: 14, w: 24, h: 9 },
    sql:
      // Two stages: the ten products by a one-key top-N, then their names and stock from their rows alone.
      'SELECT store_name, product_name, city, SUM(units_out) AS units_sold, LATEST(stock_after) AS units_left ' +
      `FROM stock_movements WHERE ${RATE_WINDOW} AND product_id IN (SELECT product_id FROM stock_movements ` +
      `WHERE ${RATE_WINDOW} GROUP BY product_id HAVING SUM(units_out) > 0 ORDER BY SUM(units_out) DESC LIMIT 10) ` +
      'GROUP BY product_id, store_name, product_name, city ORDER BY SUM(units_out) DESC LIMIT 10',
    reads: ['store_name', 'product_name', 'city', 'units_sold', 'units_left'],
    decimals: 0,
    sortBy: 'units_sold',
  }),

  // ── Row 4: how many are flagged, against the population ───────────────────────────────────
  flaggedCount(
    'Card testing',
    `Customers with ${CARD_TESTING.declines} or more declined card payments under 10 USD in some ${CARD_TESTING.minutes} whole minutes of the range (sliding windows).`,
    0,
    CARD_TESTERS,
    'customer_id',
  ),
  flaggedCount(
    'Refund abuse',
    `Customers with ${REFUND_ABUSE.refunds} or more refunded deliveries, at least ${REFUND_ABUSE.sharePct} % of their deliveries, on the days of the range.`,
    4,
    REFUND_ABUSERS,
    'customer_id',
  ),
  flaggedCount(
    'New accounts with high tickets',
    `Accounts less than a day old with ${NEW_ACCOUNT.highTickets} or more orders of 150 USD or more in some ${NEW_ACCOUNT.minutes} whole minutes of the range (sliding windows).`,
    8,
    NEW_ACCOUNT_BURSTS,
    'customer_id',
  ),
  flaggedCount(
    'Stores cancelling after payment',
    `Stores with ${STORE_CANCELS.orders} or more orders in the range (rejections out of stock aside), ${STORE_CANCELS.sharePct} % or more of them cancelled after the payment was taken.`,
    12,
    CANCELLING_STORES,
    'store_id',
  ),
  stat({
    title: 'Refund rate, all customers',
    description:
      'Refunded deliveries as a share of all deliveries of orders placed in the range: the population the refund rule compares with.',
    gridPos: { x: 16, y: 23, w: 4, h: 4 },
    sql: `SELECT 100.0 * SUM(refunded_orders) / NULLIF(SUM(delivered_orders), 0) AS refund_pct FROM order_rollup_status WHERE ${ROLLUP_IN_RANGE}`,
    reads: ['refund_pct'],
    unit: 'percent',
    decimals: 2,
  }),
  stat({
    title: 'Cancelled after payment, all stores',
    description:
      'Orders cancelled after their payment was taken, as a share of the orders placed in the range (rejections out of stock aside).',
    gridPos: { x: 20, y: 23, w: 4, h: 4 },
    sql: `SELECT 100.0 * SUM(paid_cancelled_orders) / NULLIF(${TAKEN_ON}, 0) AS cancelled_pct FROM order_rollup_status WHERE ${ROLLUP_IN_RANGE}`,
    reads: ['cancelled_pct'],
    unit: 'percent',
    decimals: 2,
  }),

  // ── Demand: orders per minute against what the minute should bring (pipeline/demandAnomaly.ts) ─────────
  timeseries({
    title: 'Orders per minute against expected',
    description:
      "Orders placed in each complete minute, the orders expected (the previous days' shape, or without history the generator's daily curve, at the level of the last hour's busy minutes) and the band around it (4 Poisson standard deviations and 10 %). Red points: minutes outside the band; the DemandAnomaly alert fires after a minute of them. From the pipeline exporter, through Prometheus.",
    gridPos: { x: 0, y: 43, w: 24, h: 9 },
    promql: DEMAND_SERIES,
    legend: '{{series}}',
    reads: ['time', 'series', 'value'],
    decimals: 0,
    marks: ['outside the band'],
  }),

  // ── Rows 5–6: who, to check by hand in PostgreSQL (payments, orders by customer_id / store_id) ──
  table({
    title: 'Card testing: small card declines per customer',
    description: `Customers with ${CARD_TESTING.declines} or more declined card payments under 10 USD in some ${CARD_TESTING.minutes} whole minutes (sliding, one window starting at every minute): the first such window's start (UTC) and the most declines in one window. Check: SELECT … FROM payments JOIN orders … WHERE customer_id = ….`,
    gridPos: { x: 0, y: 27, w: 12, h: 8 },
    sql:
      'SELECT customer_id, MIN(window_start) AS first_window_start, MAX(declined) AS most_declines ' +
      `FROM (${CARD_TESTERS}) GROUP BY customer_id ORDER BY 3 DESC, 1 LIMIT 20`,
    reads: ['customer_id', 'first_window_start', 'most_declines'],
    decimals: 0,
  }),
  table({
    title: 'Refund abuse: refund share per customer',
    description: `Customers with ${REFUND_ABUSE.refunds} or more refunded deliveries, at least ${REFUND_ABUSE.sharePct} % of their deliveries (all customers: see Refund rate).`,
    gridPos: { x: 12, y: 27, w: 12, h: 8 },
    sql: `${REFUND_ABUSERS} ORDER BY SUM(refunded_orders) DESC LIMIT 20`,
    reads: ['customer_id', 'delivered', 'refunded', 'refund_pct'],
    decimals: 1,
  }),
  table({
    title: 'New accounts placing high tickets',
    description: `Accounts less than a day old with ${NEW_ACCOUNT.highTickets} or more orders of 150 USD or more in some ${NEW_ACCOUNT.minutes} whole minutes (sliding, one window starting at every minute): the first such window's start (UTC) and the most in one window.`,
    gridPos: { x: 0, y: 35, w: 12, h: 8 },
    sql:
      'SELECT customer_id, MIN(window_start) AS first_window_start, MAX(high_tickets) AS most_high_tickets ' +
      `FROM (${NEW_ACCOUNT_BURSTS}) GROUP BY customer_id ORDER BY 3 DESC, 1 LIMIT 20`,
    reads: ['customer_id', 'first_window_start', 'most_high_tickets'],
    decimals: 0,
  }),
  table({
    title: 'Stores cancelling after payment: share per store',
    description: `Stores with ${STORE_CANCELS.orders} or more orders in the range (rejections out of stock aside) and ${STORE_CANCELS.sharePct} % or more cancelled after payment (all stores: see Cancelled after payment).`,
    gridPos: { x: 12, y: 35, w: 12, h: 8 },
    sql: `${CANCELLING_STORES} ORDER BY SUM(paid_cancelled_orders) DESC LIMIT 20`,
    reads: ['store_id', 'store_name', 'city', 'orders', 'cancelled_after_payment', 'cancelled_pct'],
    decimals: 1,
  }),
];

export const riskInventoryDashboard: BuiltDashboard = assemble(
  'risk-inventory.json',
  {
    uid: 'pulso-risk-inventory',
    title: 'Pulso · Risk & Inventory',
    description:
      'Stock now and what stock-outs cost, from exact signed-delta rollups of stock_levels and orders: act while it happens.',
    tags: ['pulso', 'inventory', 'risk', 'druid'],
    ...DASHBOARD_DEFAULTS,
    links: [dashboardLink('Sales', 'pulso-sales'), dashboardLink('Pipeline health', 'pulso-pipeline-health')],
  },
  panels,
);
