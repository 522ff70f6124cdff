// Card testing over sliding windows, through the whole pipeline: declines written with psql at chosen minutes reach
// the minute cube, and the panels flag a burst that straddles a 10-minute boundary (aligned windows saw 2 and 2),
// but not 4 declines spread over 11 whole minutes; a decline retried and paid later retracts the flag; and rows a
// spec without the window columns ingested are rebuilt from order_deltas when the bootstrap meets that older spec.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { activeTaskIds, queryDruidSql } from '../../lib/druidClient.ts';
import { runGenerator } from '../../generator/index.ts';
import { bootstrapPipeline, submitSupervisor } from '../../pipeline/bootstrap.ts';
import { readSupervisorSpec, renderSupervisorSpec, supervisorTopic } from '../../druid-specs/renderSpec.ts';
import { listPanelQueries, substituteRange } from '../../grafana/src/panelQueryList.ts';
import { CARD_TESTING } from '../../grafana/src/riskInventory.ts';
import { eventually } from '../support/eventually.ts';
import { withStackPg } from '../support/stackPostgres.ts';

const cfg = loadConfig();
const MINUTE = 60_000;
const WINDOW = CARD_TESTING.minutes * MINUTE;
// A 10-minute boundary two hours back: within the fx rates the generator publishes (yesterday to tomorrow).
const T = Math.floor((Date.now() - 2 * 3600_000) / WINDOW) * WINDOW;

const panel = (title: string) => {
  const q = listPanelQueries().find((x) => x.panelTitle === title);
  if (!q) throw new Error(`no panel "${title}"`);
  return q;
};

/** A new customer of the store's city, with `CARD_TESTING.declines` small card declines at the given minutes of T. */
async function declinesAt(minutes: readonly number[]): Promise<{ customer: string; orders: string[] }> {
  return withStackPg(cfg, async (c) => {
    const { rows } = await c.query<{ store: string; product: string; city: string; currency: string; tz: string }>(
      `SELECT s.id AS store, p.id AS product, s.city_id AS city, co.currency, ci.timezone AS tz
         FROM stores s JOIN products p ON p.store_id = s.id JOIN cities ci ON ci.id = s.city_id
         JOIN countries co ON co.code = ci.country_code ORDER BY s.id, p.id LIMIT 1`,
    );
    const at = rows[0]!;
    const customer = (
      await c.query<{ id: string }>(
        `INSERT INTO customers (full_name, email, city_id) VALUES ('Sliding Window', 'sliding@example.com', $1) RETURNING id`,
        [at.city],
      )
    ).rows[0]!.id;
    const address = (
      await c.query<{ id: string }>(
        `INSERT INTO addresses (customer_id, city_id, street, latitude, longitude) VALUES ($1, $2, 'Calle 1', 4.6, -74.0) RETURNING id`,
        [customer, at.city],
      )
    ).rows[0]!.id;
    const orders: string[] = [];
    for (const m of minutes) {
      const createdAt = new Date(T + m * MINUTE + 15_000);
      const order = await c.query<{ id: string }>(
        `INSERT INTO orders (customer_id, store_id, address_id, status, payment_method, payment_status, currency,
           subtotal, delivery_fee, discount, tax, total, item_count, business_date, created_at)
         VALUES ($1, $2, $3, 'cancelled', 'credit_card', 'failed', $4, 1.00, 0, 0, 0, 1.00, 1,
           ($5::timestamptz AT TIME ZONE $6)::date, $5) RETURNING id`,
        [customer, at.store, address, at.currency, createdAt, at.tz],
      );
      await c.query(
        `INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price, line_total)
         VALUES ($1, $2, 'Sliding window test', 1, 1.00, 1.00)`,
        [order.rows[0]!.id, at.product],
      );
      orders.push(order.rows[0]!.id);
    }
    return { customer, orders };
  });
}

const minuteCube = (customer: string, bucket: string) =>
  queryDruidSql<{ n: number }>(
    cfg,
    `SELECT MAX(n) AS n FROM (SELECT TIME_FLOOR(__time, '${bucket}') AS t, SUM(small_card_declines) AS n
       FROM customer_risk_minute WHERE customer_id = '${customer}' GROUP BY 1)`,
  );

const sumOf = async (customer: string) =>
  (
    await queryDruidSql<{ n: number }>(
      cfg,
      `SELECT SUM(small_card_declines) AS n FROM customer_risk_minute WHERE customer_id = '${customer}'`,
    )
  )[0]?.n;

describe('card testing over sliding windows', () => {
  let straddling: string;
  let spread: string;
  let straddlingOrders: string[];

  beforeAll(async () => {
    // The marketplace and its fx rates, processed by the transformer before the declines are written.
    await runGenerator({ rate: 50, orders: 20, seed: 'sliding-windows', speedup: 600, drain: true, progress: 'off' });
    ({ customer: straddling, orders: straddlingOrders } = await declinesAt([8, 9, 10, 11]));
    ({ customer: spread } = await declinesAt([0, 1, 10, 11]));
    for (const customer of [straddling, spread])
      await eventually(
        `the 4 declines of customer ${customer} in the minute cube`,
        async () => ((await sumOf(customer)) === 4 ? true : undefined),
        90_000,
      );
  }, 240_000);

  it('flags a burst across a 10-minute boundary that aligned windows split 2 and 2', async () => {
    expect((await minuteCube(straddling, 'PT10M'))[0]!.n, 'the most in one aligned window').toBe(2);
    const rows = await queryDruidSql<{ customer_id: string; first_window_start: string; most_declines: number }>(
      cfg,
      substituteRange(panel('Card testing: small card declines per customer').sql, T, T + 2 * WINDOW),
    );
    const row = rows.find((r) => r.customer_id === straddling);
    // The first window of 10 whole minutes holding minutes 8 to 11 starts at minute 2.
    expect(row).toEqual({
      customer_id: straddling,
      first_window_start: new Date(T + 2 * MINUTE).toISOString(),
      most_declines: 4,
    });
    const [count] = await queryDruidSql<{ flagged: number }>(
      cfg,
      substituteRange(panel('Card testing').sql, T, T + 2 * WINDOW),
    );
    expect(count!.flagged).toBeGreaterThanOrEqual(1);
  });

  it('does not flag 4 declines spread over 11 whole minutes (at most 2 in any 10)', async () => {
    const rows = await queryDruidSql<{ customer_id: string }>(
      cfg,
      substituteRange(panel('Card testing: small card declines per customer').sql, T, T + 2 * WINDOW),
    );
    expect(rows.map((r) => r.customer_id)).not.toContain(spread);
    expect(rows.map((r) => r.customer_id)).toContain(straddling);
  });

  it('retracts the flag when one of the declines is retried and paid (3 left in any window)', async () => {
    await withStackPg(cfg, (c) =>
      c.query(`UPDATE orders SET status = 'accepted', payment_status = 'paid' WHERE id = $1`, [straddlingOrders[1]]),
    );
    await eventually(
      `customer ${straddling}'s declines down to 3 in the minute cube`,
      async () => ((await sumOf(straddling)) === 3 ? true : undefined),
      90_000,
    );
    const rows = await queryDruidSql<{ customer_id: string }>(
      cfg,
      substituteRange(panel('Card testing: small card declines per customer').sql, T, T + 2 * WINDOW),
    );
    expect(rows.map((r) => r.customer_id)).not.toContain(straddling);
    const [most] = await queryDruidSql<{ n: number }>(
      cfg,
      `SELECT MAX(n) AS n FROM (SELECT card_window_starts, SUM(small_card_declines) AS n FROM customer_risk_minute
         WHERE customer_id = '${straddling}' AND small_card_declines <> 0 GROUP BY 1)`,
    );
    expect(most!.n, 'the most declines in one sliding window after the retraction').toBe(3);
  });
});

/** customer_risk_minute as it was before the window columns (rows version 1): no transforms, customer_id only. */
function legacySpec(): object {
  const spec = renderSupervisorSpec(readSupervisorSpec('customer_risk_minute'), {
    kafkaBootstrap: cfg.bootstrap.druidKafkaBootstrap,
    topic: supervisorTopic('customer_risk_minute', cfg.topics),
  });
  const { dataSchema } = spec.spec;
  const { transforms: _computed, ...transformSpec } = (
    dataSchema as unknown as { transformSpec: { transforms: unknown } }
  ).transformSpec;
  return {
    type: spec.type,
    spec: {
      ...spec.spec,
      dataSchema: {
        ...dataSchema,
        dimensionsSpec: { ...dataSchema.dimensionsSpec, dimensions: [{ type: 'string', name: 'customer_id' }] },
        transformSpec,
      },
    },
  };
}

const cubeTotals = async () =>
  (
    await queryDruidSql<{ declines: number; tickets: number; customers: number }>(
      cfg,
      'SELECT SUM(small_card_declines) AS declines, SUM(new_account_high_ticket_orders) AS tickets, ' +
        'COUNT(DISTINCT customer_id) AS customers FROM customer_risk_minute',
    )
  )[0]!;

describe('rows ingested without the window columns', () => {
  it('are rebuilt from the topic when the bootstrap submits the spec of a newer rows version: the burst is flagged, no row counted twice', async () => {
    const oldTasks = await activeTaskIds(cfg, 'customer_risk_minute');
    expect(await submitSupervisor(cfg, 'customer_risk_minute', legacySpec(), 'legacy spec')).toBe('updated');
    // The running tasks read on with the spec they started with until they publish: only the new ones are legacy.
    await eventually(
      'the legacy spec read by tasks of its own',
      async () => {
        const now = await activeTaskIds(cfg, 'customer_risk_minute');
        return now.length > 0 && now.every((t) => !oldTasks.includes(t)) ? true : undefined;
      },
      180_000,
    );
    const { customer } = await declinesAt([8, 9, 10, 11]);
    await eventually(
      `the legacy rows of ${customer}`,
      async () => ((await sumOf(customer)) === 4 ? true : undefined),
      90_000,
    );
    const legacy = await queryDruidSql<{ customer_id: string }>(
      cfg,
      substituteRange(panel('Card testing: small card declines per customer').sql, T, T + 2 * WINDOW),
    );
    const [stamped] = await queryDruidSql<{ n: number }>(
      cfg,
      `SELECT COUNT(card_window_starts) AS n FROM customer_risk_minute WHERE customer_id = '${customer}'`,
    );
    expect(stamped!.n, 'legacy rows carry no window starts').toBe(0);
    expect(
      legacy.map((r) => r.customer_id),
      'rows without window starts are not counted',
    ).not.toContain(customer);
    const before = await cubeTotals();

    const report = await bootstrapPipeline(cfg, { log: () => undefined });
    expect(report.changed).toContain('supervisor customer_risk_minute updated: its rows are rebuilt from its topic');
    expect(report.changed).toContain('compaction customer_risk_minute submitted');
    await eventually(
      'the cube rebuilt from order_deltas',
      async () => ((await sumOf(customer)) === 4 ? true : undefined),
      180_000,
    );
    const rows = await queryDruidSql<{ customer_id: string; most_declines: number }>(
      cfg,
      substituteRange(panel('Card testing: small card declines per customer').sql, T, T + 2 * WINDOW),
    );
    expect(rows.find((r) => r.customer_id === customer)?.most_declines).toBe(4);
    // The whole cube, before and after: nothing lost, nothing twice (the topic is read in order, so wait for all).
    await eventually(
      `the cube's totals back to ${JSON.stringify(before)}`,
      async () => (JSON.stringify(await cubeTotals()) === JSON.stringify(before) ? true : undefined),
      180_000,
    );
    const again = await bootstrapPipeline(cfg, { log: () => undefined });
    expect(
      again.changed.filter((l) => l.includes('rebuilt')),
      'a rebuild happens once',
    ).toEqual([]);
  }, 600_000);
});
