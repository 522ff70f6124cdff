// PostgreSQL's current state against what Druid serves: the rollups' order counts and cents per grouping,
// exactly, and the event datasources' rows against the records in their topics, with duplicate event ids
// counted. Used by the reconciliation tests and by `npm run chaos`.
import pg from 'pg';
import type { PulsoConfig } from '../lib/config.ts';
import { queryDruidSql } from '../lib/druidClient.ts';
import { readCommitted } from '../lib/readCommitted.ts';
import { SMALL_CARD_DECLINE_USD_CENTS } from '../transformer/rollup/riskFlags.ts';
import { createKafka } from '../lib/kafka.ts';

/** A grouping, as PostgreSQL computes it from its tables and as the rollup datasource sums it. */
export interface Grouping {
  readonly name: string;
  readonly postgres: string;
  readonly druid: string;
}

const NONZERO = 'HAVING SUM(orders) <> 0 OR SUM(total_cents) <> 0';
export const GROUPINGS: readonly Grouping[] = [
  {
    name: '(currency, status)',
    postgres: 'SELECT o.currency::text AS k1, o.status::text AS k2, o.total FROM orders o',
    druid: `SELECT currency AS k1, status AS k2, SUM(orders) AS orders, SUM(total_cents) AS total_cents FROM order_rollup_status GROUP BY 1, 2 ${NONZERO}`,
  },
  {
    name: '(city, currency)',
    postgres:
      'SELECT ci.name AS k1, o.currency::text AS k2, o.total FROM orders o JOIN stores s ON s.id = o.store_id JOIN cities ci ON ci.id = s.city_id',
    druid: `SELECT city AS k1, currency AS k2, SUM(orders) AS orders, SUM(total_cents) AS total_cents FROM order_rollup_market GROUP BY 1, 2 ${NONZERO}`,
  },
  {
    name: '(payment method, currency)',
    postgres: 'SELECT o.payment_method AS k1, o.currency::text AS k2, o.total FROM orders o',
    druid: `SELECT payment_method AS k1, currency AS k2, SUM(orders) AS orders, SUM(total_cents) AS total_cents FROM order_rollup_market GROUP BY 1, 2 ${NONZERO}`,
  },
  {
    name: 'store',
    postgres: "SELECT o.store_id::text AS k1, '' AS k2, o.total FROM orders o",
    druid: `SELECT store_id AS k1, '' AS k2, SUM(orders) AS orders, SUM(total_cents) AS total_cents FROM order_rollup_store GROUP BY 1, 2 ${NONZERO}`,
  },
  {
    // The reporting currency: each non-cancelled order's USD amount recomputed from orders and fx_rates with the
    // transformer's rule (round half away from zero of an exact product, sql/006_fx_rates.sql), summed per country.
    name: 'GMV in USD (country)',
    postgres:
      "SELECT ci.country_code::text AS k1, '' AS k2, round(o.total * r.usd_per_unit, 2) AS total FROM orders o " +
      'JOIN stores s ON s.id = o.store_id JOIN cities ci ON ci.id = s.city_id ' +
      "JOIN fx_rates r ON r.currency = o.currency AND r.rate_date = o.business_date WHERE o.status <> 'cancelled'",
    druid:
      "SELECT country AS k1, '' AS k2, SUM(usd_live_orders) AS orders, SUM(usd_live_total_cents) AS total_cents " +
      'FROM order_rollup_market GROUP BY 1, 2 HAVING SUM(usd_live_orders) <> 0 OR SUM(usd_live_total_cents) <> 0',
  },
  // The per-customer risk cubes, each read by its own supervisor: orders and cents per customer and day, and the
  // small card declines per customer in the minute cube (which keeps the flagged rows only).
  {
    name: 'customer (customer_risk_day)',
    postgres: "SELECT o.customer_id::text AS k1, '' AS k2, o.total FROM orders o",
    druid: `SELECT customer_id AS k1, '' AS k2, SUM(orders) AS orders, SUM(total_cents) AS total_cents FROM customer_risk_day GROUP BY 1, 2 ${NONZERO}`,
  },
  {
    // Small card declines: the transformer's rule (riskFlags.ts) on the USD amount as the GMV grouping computes it.
    name: 'customer small card declines (customer_risk_minute)',
    postgres:
      "SELECT o.customer_id::text AS k1, '' AS k2, 0 AS total FROM orders o JOIN fx_rates r ON r.currency = o.currency " +
      "AND r.rate_date = o.business_date WHERE o.payment_status = 'failed' AND o.payment_method IN ('credit_card', " +
      `'debit_card') AND round(o.total * r.usd_per_unit, 2) * 100 < ${SMALL_CARD_DECLINE_USD_CENTS}`,
    druid:
      "SELECT customer_id AS k1, '' AS k2, SUM(small_card_declines) AS orders, 0 AS total_cents FROM customer_risk_minute " +
      'GROUP BY 1, 2 HAVING SUM(small_card_declines) <> 0',
  },
  {
    // Sales lost to stock-outs: orders rejected at acceptance (sql/007_inventory.sql), per currency.
    name: 'sales lost to stock-outs (currency)',
    postgres: "SELECT o.currency::text AS k1, '' AS k2, o.total FROM orders o WHERE o.cancel_reason = 'out_of_stock'",
    druid:
      "SELECT currency AS k1, '' AS k2, SUM(lost_orders) AS orders, SUM(lost_total_cents) AS total_cents " +
      'FROM order_rollup_status GROUP BY 1, 2 HAVING SUM(lost_orders) <> 0 OR SUM(lost_total_cents) <> 0',
  },
  {
    // Stock now, per product: one row each ("orders" counts the rows, "cents" carries the units: units / 100
    // in PostgreSQL, summed ×100 back to units).
    name: 'stock per product (rows, units)',
    postgres: "SELECT s.product_id::text AS k1, '' AS k2, s.units / 100.0 AS total FROM stock_levels s",
    druid:
      "SELECT product_id AS k1, '' AS k2, SUM(stock_rows) AS orders, SUM(units) AS total_cents FROM stock_now " +
      'GROUP BY 1, 2 HAVING SUM(stock_rows) <> 0 OR SUM(units) <> 0',
  },
];

/**
 * Orders whose currency has no rate at their business date, per currency (no amount: they have none in USD).
 * Apart from GROUPINGS because it is normally empty.
 */
export const MISSING_RATE_GROUPING: Grouping = {
  name: 'orders without an exchange rate (currency)',
  postgres:
    "SELECT o.currency::text AS k1, '' AS k2, 0 AS total FROM orders o " +
    'LEFT JOIN fx_rates r ON r.currency = o.currency AND r.rate_date = o.business_date WHERE r.currency IS NULL',
  druid:
    "SELECT currency AS k1, '' AS k2, SUM(usd_missing_orders) AS orders, 0 AS total_cents FROM order_rollup_status " +
    'GROUP BY 1, 2 HAVING SUM(usd_missing_orders) <> 0',
};

/** One group as a line `k1|k2|orders|total_cents`; a grouping is the sorted lines, so equal means exactly equal. */
export type GroupLines = string[];

const canonical = (rows: { k1: unknown; k2: unknown; orders: unknown; total_cents: unknown }[]): GroupLines =>
  rows.map((r) => `${String(r.k1)}|${String(r.k2)}|${String(r.orders)}|${String(r.total_cents)}`).sort();

export async function postgresGroups(cfg: PulsoConfig, g: Grouping): Promise<GroupLines> {
  const c = new pg.Client({ connectionString: cfg.pg.appUrl });
  await c.connect();
  try {
    const r = await c.query<Record<string, string>>(
      `SELECT k1, k2, count(*)::text AS orders, (sum(total) * 100)::bigint::text AS total_cents FROM (${g.postgres}) t GROUP BY 1, 2`,
    );
    return canonical(r.rows as { k1: string; k2: string; orders: string; total_cents: string }[]);
  } finally {
    await c.end();
  }
}

export async function druidGroups(cfg: PulsoConfig, g: Grouping): Promise<GroupLines> {
  return canonical(await queryDruidSql<{ k1: string; k2: string; orders: number; total_cents: number }>(cfg, g.druid));
}

export interface GroupingDiff {
  readonly grouping: string;
  readonly groups: number;
  readonly onlyPostgres: string[];
  readonly onlyDruid: string[];
  /** Σ|orders| and Σ|cents| over the groups that differ: 0 and 0 when exact. */
  readonly orderDrift: number;
  readonly centsDrift: bigint;
}

/** Compares one grouping; `drift` sums what differs per group key, so one wrong cent anywhere shows. */
export function diffGroups(grouping: string, truth: GroupLines, druid: GroupLines): GroupingDiff {
  const t = new Set(truth);
  const d = new Set(druid);
  const onlyPostgres = truth.filter((x) => !d.has(x));
  const onlyDruid = druid.filter((x) => !t.has(x));
  const byKey = new Map<string, { orders: number; cents: bigint }>();
  const add = (line: string, sign: 1 | -1) => {
    const [k1, k2, orders, cents] = line.split('|');
    const key = `${k1}|${k2}`;
    const cur = byKey.get(key) ?? { orders: 0, cents: 0n };
    byKey.set(key, { orders: cur.orders + sign * Number(orders), cents: cur.cents + BigInt(sign) * BigInt(cents!) });
  };
  for (const l of onlyPostgres) add(l, 1);
  for (const l of onlyDruid) add(l, -1);
  let orderDrift = 0;
  let centsDrift = 0n;
  for (const v of byKey.values()) {
    orderDrift += Math.abs(v.orders);
    centsDrift += v.cents < 0n ? -v.cents : v.cents;
  }
  return { grouping, groups: truth.length, onlyPostgres, onlyDruid, orderDrift, centsDrift };
}

export async function reconcileGrouping(cfg: PulsoConfig, g: Grouping): Promise<GroupingDiff> {
  const [truth, druid] = await Promise.all([postgresGroups(cfg, g), druidGroups(cfg, g)]);
  return diffGroups(g.name, truth, druid);
}

export interface EventIntegrity {
  readonly datasource: string;
  readonly topicRecords: number;
  readonly druidRows: number;
  /** event ids that Druid holds more than once */
  readonly duplicateEventIds: number;
}

/** The append-only event datasources, fed one row per record of the topic of the same name. */
export function eventDatasources(cfg: PulsoConfig): { datasource: string; topic: string }[] {
  return [
    { datasource: 'orders', topic: cfg.topics.orders },
    { datasource: 'order_items', topic: cfg.topics.orderItems },
  ];
}

export async function countTopicRecords(cfg: PulsoConfig, topic: string): Promise<number> {
  const kafka = createKafka(cfg, 'pulso-reconcile');
  let n = 0;
  await readCommitted(
    kafka,
    topic,
    () => {
      n += 1;
    },
    600_000,
  );
  return n;
}

export async function eventIntegrity(cfg: PulsoConfig, datasource: string, topic: string): Promise<EventIntegrity> {
  const [topicRecords, [rows], [dups]] = await Promise.all([
    countTopicRecords(cfg, topic),
    queryDruidSql<{ n: number }>(cfg, `SELECT COUNT(*) AS n FROM "${datasource}"`),
    queryDruidSql<{ n: number }>(
      cfg,
      `SELECT COUNT(*) AS n FROM (SELECT event_id FROM "${datasource}" GROUP BY event_id HAVING COUNT(*) > 1)`,
    ),
  ]);
  return { datasource, topicRecords, druidRows: rows?.n ?? 0, duplicateEventIds: dups?.n ?? 0 };
}
