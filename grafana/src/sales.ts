// The Sales dashboard: business numbers from the rollup datasources (signed deltas, docs/dashboards.md).
// Semantics (what counts as an order, GMV vs revenue, percentiles): docs/dashboards.md.
import { HAVING_ORDERS, ROLLUP_IN_RANGE, latestOrders, money, sumOrZero, trendOf } from './sqlFragments.ts';
import {
  LONG_TO_SERIES,
  assemble,
  DASHBOARD_DEFAULTS,
  dashboardLink,
  barChart,
  barGauge,
  geomap,
  pieChart,
  stat,
  table,
  timeseries,
  type BuiltDashboard,
  type PanelDef,
} from './panelKit.ts';

// Datasources (druid-specs/*.supervisor.json). Measures are signed sums: live_* leave out cancelled
// orders, delivered_orders / revenue_cents count delivered ones (transformer/rollup/orderDeltas.ts).
// Each cube keeps only the dimensions its panels group by, so a minute holds at most a few hundred rows
// per cube whatever the order volume (docs/dashboards.md, "Cubes").
const ROLLUP = `FROM order_rollup_status WHERE ${ROLLUP_IN_RANGE}`;
const BY_MARKET = `FROM order_rollup_market WHERE ${ROLLUP_IN_RANGE}`;
const BY_STORE = `FROM order_rollup_store WHERE ${ROLLUP_IN_RANGE}`;
const DELIVERIES = `FROM order_deliveries WHERE ${ROLLUP_IN_RANGE}`;
// One quantiles sketch per minute, no dimension: a query merges a sketch per minute of its range, not one
// per (minute, delivery_minute) as it would on order_deliveries (≈ 80 per minute at 10 M orders a day).
const DELIVERY_SKETCHES = `FROM order_delivery_sketches WHERE ${ROLLUP_IN_RANGE}`;
const ITEMS = `FROM order_item_rollup WHERE ${ROLLUP_IN_RANGE}`;
const pct = (part: string, whole: string) => `100.0 * SUM(${part}) / NULLIF(SUM(${whole}), 0)`;

const panels: PanelDef[] = [
  // ── Row 1: the case study's headline numbers ──────────────────────────────────────────────
  stat({
    title: 'Total orders',
    description:
      'Orders placed in the time range (each order once, deleted orders excluded), and the change against the previous range of equal length.',
    gridPos: { x: 0, y: 0, w: 4, h: 4 },
    sql: trendOf('order_rollup_status', `${sumOrZero('orders')} AS total_orders`),
    reads: ['time', 'total_orders'],
    decimals: 0,
    trend: true,
  }),
  stat({
    title: 'Completed orders',
    description:
      'Orders placed in the range whose current status is delivered, and the change against the previous range of equal length.',
    gridPos: { x: 4, y: 0, w: 4, h: 4 },
    sql: trendOf('order_rollup_status', `${sumOrZero('delivered_orders')} AS completed_orders`),
    reads: ['time', 'completed_orders'],
    decimals: 0,
    trend: true,
  }),
  stat({
    title: '% completed',
    description:
      'Completed (delivered) orders as a share of all orders placed in the range, including those still in progress, and its change against the previous range of equal length.',
    gridPos: { x: 8, y: 0, w: 4, h: 4 },
    sql: trendOf('order_rollup_status', `${pct('delivered_orders', 'orders')} AS completed_pct`),
    reads: ['time', 'completed_pct'],
    unit: 'percent',
    decimals: 1,
    trend: true,
  }),
  stat({
    title: 'Completion and cancellation rate (finished orders)',
    description:
      'Among orders placed in the range that are finished (delivered or cancelled): the share delivered and the share cancelled. The two add up to 100%. Each with its change against the previous range of equal length.',
    gridPos: { x: 12, y: 0, w: 6, h: 4 },
    sql: trendOf(
      'order_rollup_status',
      `${pct('delivered_orders', 'delivered_orders + cancelled_orders')} AS completion_rate_pct, ` +
        `${pct('cancelled_orders', 'delivered_orders + cancelled_orders')} AS cancellation_rate_pct`,
    ),
    reads: ['time', 'completion_rate_pct', 'cancellation_rate_pct'],
    unit: 'percent',
    decimals: 1,
    trend: true,
  }),
  stat({
    title: 'GMV by currency',
    description:
      'Gross merchandise value: sum of order totals of non-cancelled orders placed in the range, per currency (currencies are never added together).',
    gridPos: { x: 18, y: 0, w: 6, h: 4 },
    sql: `SELECT currency, ${money('live_total_cents')} AS gmv ${ROLLUP} GROUP BY currency HAVING SUM(live_orders) <> 0 ORDER BY currency`,
    reads: ['currency', 'gmv'],
    decimals: 2,
    perRow: true,
  }),

  // ── Row 2: the marketplace in one currency (USD at each order's business-date rate) ──────────
  stat({
    title: 'GMV (USD)',
    description:
      "Gross merchandise value in US dollars: each non-cancelled order placed in the range at its currency's rate on its business date (fx_rates, rounded once per order to the cent), and the change against the previous range of equal length. Orders without a rate are left out and counted beside.",
    gridPos: { x: 0, y: 4, w: 4, h: 5 },
    sql: trendOf('order_rollup_status', `${sumOrZero('usd_live_total_cents')} / 100.0 AS gmv_usd`),
    reads: ['time', 'gmv_usd'],
    unit: 'currencyUSD',
    decimals: 2,
    trend: true,
  }),
  stat({
    title: 'Average ticket (USD)',
    description:
      'Average order total in US dollars of the non-cancelled orders placed in the range that have a rate, and the change against the previous range of equal length.',
    gridPos: { x: 4, y: 4, w: 4, h: 5 },
    sql: trendOf(
      'order_rollup_status',
      'SUM(usd_live_total_cents) / 100.0 / NULLIF(SUM(usd_live_orders), 0) AS avg_ticket_usd',
    ),
    reads: ['time', 'avg_ticket_usd'],
    unit: 'currencyUSD',
    decimals: 2,
    trend: true,
  }),
  stat({
    title: 'Orders without an exchange rate',
    description:
      'Orders placed in the range whose currency has no rate for their business date: they are in every local-currency figure and in none in USD (never guessed). Normally 0; publish the missing rates in fx_rates and the orders are priced at their next change.',
    gridPos: { x: 8, y: 4, w: 4, h: 5 },
    sql: `SELECT ${sumOrZero('usd_missing_orders')} AS orders_without_rate ${ROLLUP}`,
    reads: ['orders_without_rate'],
    decimals: 0,
  }),
  timeseries({
    title: 'GMV per minute in USD by country',
    description:
      'GMV of the non-cancelled orders placed in each UTC minute, in US dollars, stacked by country: the whole marketplace on one axis.',
    gridPos: { x: 12, y: 4, w: 12, h: 5 },
    sql:
      `SELECT __time AS "time", country, ${money('usd_live_total_cents')} AS gmv_usd ${BY_MARKET} ` +
      'GROUP BY 1, 2 HAVING SUM(usd_live_orders) <> 0 ORDER BY 1',
    reads: ['time', 'country', 'gmv_usd'],
    unit: 'currencyUSD',
    decimals: 2,
    stacked: true,
    transformations: [LONG_TO_SERIES],
  }),

  // ── Row 3: flow over time ─────────────────────────────────────────────────────────────────
  timeseries({
    title: 'Orders per minute',
    description: 'Orders placed per minute (UTC minute of created_at), each order once.',
    gridPos: { x: 0, y: 9, w: 12, h: 8 },
    sql: `SELECT __time AS "time", SUM(orders) AS orders ${ROLLUP} GROUP BY 1 ${HAVING_ORDERS} ORDER BY 1`,
    reads: ['time', 'orders'],
    decimals: 0,
  }),
  timeseries({
    title: 'GMV per minute by currency',
    description: 'Sum of totals of non-cancelled orders placed in each UTC minute, one series per currency.',
    gridPos: { x: 12, y: 9, w: 12, h: 8 },
    sql:
      `SELECT __time AS "time", currency, ${money('live_total_cents')} AS gmv ${ROLLUP} ` +
      'GROUP BY 1, 2 HAVING SUM(live_orders) <> 0 ORDER BY 1',
    reads: ['time', 'currency', 'gmv'],
    decimals: 2,
    transformations: [LONG_TO_SERIES],
  }),

  // ── Row 4: tickets and payment methods ───────────────────────────────────────────────────
  table({
    title: 'Average ticket by currency',
    description: 'Average order total of non-cancelled orders placed in the range, per currency.',
    gridPos: { x: 0, y: 17, w: 8, h: 7 },
    sql:
      `SELECT currency, SUM(live_orders) AS orders, SUM(live_total_cents) / 100.0 / NULLIF(SUM(live_orders), 0) AS avg_ticket ${ROLLUP} ` +
      'GROUP BY currency HAVING SUM(live_orders) <> 0 ORDER BY currency',
    reads: ['currency', 'orders', 'avg_ticket'],
    decimals: 2,
  }),
  table({
    title: 'Revenue by payment method',
    description:
      'Revenue = totals of completed (delivered) orders placed in the range, per payment method and currency.',
    gridPos: { x: 8, y: 17, w: 8, h: 7 },
    sql:
      `SELECT payment_method, currency, SUM(delivered_orders) AS orders, ${money('revenue_cents')} AS revenue ${BY_MARKET} ` +
      'GROUP BY payment_method, currency HAVING SUM(delivered_orders) <> 0 ORDER BY currency, SUM(revenue_cents) DESC',
    reads: ['payment_method', 'currency', 'orders', 'revenue'],
    decimals: 2,
  }),
  pieChart({
    title: 'Orders by payment method',
    description: 'All orders placed in the range, by the payment method of their current state.',
    gridPos: { x: 16, y: 17, w: 8, h: 7 },
    sql: `SELECT payment_method, SUM(orders) AS orders ${BY_MARKET} GROUP BY payment_method ${HAVING_ORDERS} ORDER BY orders DESC`,
    reads: ['payment_method', 'orders'],
    labelField: 'payment_method',
    decimals: 0,
  }),

  // ── Row 5: stores and categories ─────────────────────────────────────────────────────────
  table({
    title: 'Top stores',
    description:
      'The 10 stores with the most non-cancelled orders placed in the range, with their GMV in the store currency.',
    gridPos: { x: 0, y: 24, w: 12, h: 9 },
    sql:
      `SELECT store_name, city, currency, SUM(live_orders) AS orders, ${money('live_total_cents')} AS gmv ${BY_STORE} ` +
      'GROUP BY store_id, store_name, city, currency HAVING SUM(live_orders) <> 0 ORDER BY orders DESC LIMIT 10',
    reads: ['store_name', 'city', 'currency', 'orders', 'gmv'],
    decimals: 2,
    sortBy: 'orders',
  }),
  table({
    title: 'Top store categories',
    description: 'Non-cancelled orders and GMV per store category and currency, most orders first.',
    gridPos: { x: 12, y: 24, w: 12, h: 9 },
    sql:
      `SELECT store_category, currency, SUM(live_orders) AS orders, ${money('live_total_cents')} AS gmv ${BY_MARKET} ` +
      'GROUP BY store_category, currency HAVING SUM(live_orders) <> 0 ORDER BY orders DESC LIMIT 20',
    reads: ['store_category', 'currency', 'orders', 'gmv'],
    decimals: 2,
    sortBy: 'orders',
  }),

  // ── Row 6: maps ──────────────────────────────────────────────────────────────────────────
  geomap({
    title: 'Orders by city',
    description:
      'Orders placed in the range per city. The marker sits at the order-weighted mean of the stores’ coordinates in that city (events carry store coordinates, not city centroids).',
    gridPos: { x: 0, y: 33, w: 12, h: 11 },
    sql:
      'SELECT city, country, SUM(latitude * orders) / NULLIF(SUM(orders), 0) AS latitude, SUM(longitude * orders) / NULLIF(SUM(orders), 0) AS longitude, ' +
      `SUM(orders) AS orders ${BY_STORE} GROUP BY city, country ${HAVING_ORDERS}`,
    reads: ['city', 'country', 'latitude', 'longitude', 'orders'],
    sizeField: 'orders',
    layerName: 'Orders by city',
  }),
  geomap({
    title: 'Store locations and their orders',
    description: 'Every store with orders placed in the range, at its coordinates, sized by its order count.',
    gridPos: { x: 12, y: 33, w: 12, h: 11 },
    sql:
      `SELECT store_name, city, MAX(latitude) AS latitude, MAX(longitude) AS longitude, SUM(orders) AS orders ${BY_STORE} ` +
      `GROUP BY store_id, store_name, city ${HAVING_ORDERS}`,
    reads: ['store_name', 'city', 'latitude', 'longitude', 'orders'],
    sizeField: 'orders',
    layerName: 'Stores',
  }),

  // ── Row 7: the order lifecycle ───────────────────────────────────────────────────────────
  barGauge({
    title: 'Status funnel',
    description:
      'Orders placed in the range that reached at least each stage (the furthest stage any of their versions reached), and how many ended cancelled.',
    gridPos: { x: 0, y: 44, w: 8, h: 8 },
    sql:
      `SELECT ${sumOrZero('orders')} AS placed, ` +
      `${sumOrZero('orders', 'furthest_stage >= 2')} AS accepted, ` +
      `${sumOrZero('orders', 'furthest_stage >= 3')} AS preparing, ` +
      `${sumOrZero('orders', 'furthest_stage >= 4')} AS picked_up, ` +
      `${sumOrZero('orders', 'furthest_stage >= 5')} AS delivered, ` +
      `${sumOrZero('cancelled_orders')} AS cancelled ${ROLLUP}`,
    reads: ['placed', 'accepted', 'preparing', 'picked_up', 'delivered', 'cancelled'],
    decimals: 0,
  }),
  pieChart({
    title: 'Orders by current status',
    description: 'Orders placed in the range by their current status.',
    gridPos: { x: 8, y: 44, w: 8, h: 8 },
    sql: `SELECT status AS current_status, SUM(orders) AS orders ${ROLLUP} GROUP BY status ${HAVING_ORDERS} ORDER BY orders DESC`,
    reads: ['current_status', 'orders'],
    labelField: 'current_status',
    decimals: 0,
  }),
  stat({
    title: 'Delivery time percentiles',
    description:
      'p50 / p90 / p99 of delivered_at − created_at for delivered orders placed in the range, from DataSketches quantiles sketches (k = 128: rank error within about 1.7 %). A sketch cannot forget a value: an order deleted after delivery stays in it (the histogram beside it is exact).',
    gridPos: { x: 16, y: 44, w: 8, h: 4 },
    sql:
      'SELECT APPROX_QUANTILE_DS(delivery_minutes_sketch, 0.50) AS p50_minutes, ' +
      'APPROX_QUANTILE_DS(delivery_minutes_sketch, 0.90) AS p90_minutes, ' +
      `APPROX_QUANTILE_DS(delivery_minutes_sketch, 0.99) AS p99_minutes ${DELIVERY_SKETCHES}`,
    reads: ['p50_minutes', 'p90_minutes', 'p99_minutes'],
    unit: 'm',
    decimals: 1,
  }),
  barChart({
    title: 'Delivery time distribution',
    description: 'Delivered orders placed in the range by delivery time, rounded up to the minute (exact counts).',
    gridPos: { x: 16, y: 48, w: 8, h: 4 },
    sql:
      "SELECT delivery_minute, CONCAT('<= ', CAST(delivery_minute AS VARCHAR), ' min') AS delivery_time, SUM(deliveries) AS orders " +
      `${DELIVERIES} GROUP BY delivery_minute HAVING SUM(deliveries) <> 0 ORDER BY delivery_minute`,
    reads: ['delivery_time', 'orders'],
    xField: 'delivery_time',
    decimals: 0,
    // delivery_minute only orders the rows; the bars are labelled by delivery_time.
    transformations: [{ id: 'organize', options: { excludeByName: { delivery_minute: true } } }],
  }),

  // ── Row 8: products ──────────────────────────────────────────────────────────────────────
  barChart({
    title: 'Top products by units',
    description:
      'Units in order items first seen in the range (current quantity per item, deleted items excluded), top 10 product names: the same product name sold by several stores counts once.',
    gridPos: { x: 0, y: 52, w: 24, h: 8 },
    sql: `SELECT product_name, SUM(units) AS units ${ITEMS} GROUP BY product_name HAVING SUM(units) <> 0 ORDER BY units DESC LIMIT 10`,
    reads: ['product_name', 'units'],
    xField: 'product_name',
    horizontal: true,
    decimals: 0,
  }),

  // ── Row 9: the orders as they arrive ─────────────────────────────────────────────────────
  table({
    title: 'Latest orders',
    description:
      'The 20 newest orders placed in the last 15 minutes of the range, each in its current state: when, store, city, status and total in its currency. Refreshed with the dashboard.',
    gridPos: { x: 0, y: 60, w: 24, h: 10 },
    sql: latestOrders(20),
    reads: ['placed_at', 'order_id', 'store_name', 'city', 'status', 'total', 'currency'],
    decimals: 2,
  }),
];

export const salesDashboard: BuiltDashboard = assemble(
  'sales.json',
  {
    uid: 'pulso-sales',
    title: 'Pulso · Sales',
    description:
      'Real-time sales from the CDC pipeline, read from exact signed-delta rollups: each order counted once, in its current state; money per currency.',
    tags: ['pulso', 'sales', 'druid'],
    ...DASHBOARD_DEFAULTS,
    links: [
      dashboardLink('Risk & Inventory', 'pulso-risk-inventory'),
      dashboardLink('Pipeline health', 'pulso-pipeline-health'),
    ],
  },
  panels,
);
