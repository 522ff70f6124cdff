// Inventory and risk, end to end: a seeded generator run with injected suspicious behaviour, then the Risk &
// Inventory panels' own queries against Druid. Every injected customer pattern is flagged, and every injected store
// with the rule's support; the share of honest customers and stores flagged is printed and bounded. Current stock
// per product equals PostgreSQL exactly, also after a manual UPDATE drives one product below zero (counted as
// impossible stock, never clamped). A run without injection leaves the risk panels empty, not failing.
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../../lib/config.ts';
import { queryDruidSql } from '../../lib/druidClient.ts';
import { runGenerator, type GeneratorSummary } from '../../generator/index.ts';
import { GROUPINGS } from '../../pipeline/reconcile.ts';
import { listPanelQueries, substituteRange } from '../../grafana/src/panelQueryList.ts';
import { STORE_CANCELS } from '../../grafana/src/riskInventory.ts';
import { eventually } from '../support/eventually.ts';
import { withStackPg } from '../support/stackPostgres.ts';
import { expectGroupingEqual } from '../support/groupingsEqual.ts';

const cfg = loadConfig();
const log = (msg: string) => process.stderr.write(`[risk ${new Date().toISOString()}] ${msg}\n`);
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const STOCK = GROUPINGS.find((g) => g.name.startsWith('stock per product'))!;

const withPg = <T>(fn: (c: pg.Client) => Promise<T>) => withStackPg(cfg, fn);

const panel = (title: string) => {
  const q = listPanelQueries().find((p) => p.dashboard === 'risk-inventory.json' && p.panelTitle === title);
  if (!q) throw new Error(`no panel ${title}`);
  return q;
};
const runPanel = <T>(title: string, from: number, to: number) =>
  queryDruidSql<T>(cfg, substituteRange(panel(title).sql, from, to));

/**
 * The run's simulated hours: a day back (2 to 20 days, within the event datasources' retention) with no order yet
 * on any UTC day they touch, so neither other tests' orders nor an earlier run of this one are in it: the per-customer
 * day cube reads whole days (an 8-hour window from 21:00 shares its second day with a run that starts a day later).
 */
async function freeWindow(hours: number, except?: number): Promise<{ start: number; from: number; to: number }> {
  for (let days = 2; days <= 20; days++) {
    const start = Math.floor(Date.now() / HOUR) * HOUR - days * 24 * HOUR;
    if (start === except) continue;
    const { rows } = await withPg((c) =>
      c.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE created_at >= $1 AND created_at < $2', [
        new Date(Math.floor(start / DAY) * DAY - DAY),
        new Date(Math.floor((start + hours * HOUR) / DAY) * DAY + 2 * DAY),
      ]),
    );
    if (rows[0]!.n === '0') return { start, from: start, to: start + hours * HOUR };
  }
  throw new Error('no free day in the last 20 days for this run: `npm run down -- --reset` for a fresh database');
}

describe('risk and inventory, from the pipeline', () => {
  let w: { start: number; from: number; to: number };
  let summary: GeneratorSummary;
  let ordersPerStore: Map<string, number>;
  let paidCancelledPerStore: Map<string, number>;
  let activeCustomers: Set<string>;

  beforeAll(async () => {
    w = await freeWindow(8);
    summary = await runGenerator({
      rate: 1000,
      orders: 6000,
      seed: 'risk-e2e',
      start: new Date(w.start),
      speedup: 2400,
      drain: true,
      riskShare: 0.004,
      progress: 'off',
    });
    const rows = await withPg((c) =>
      c.query<{ store_id: string; customer_id: string; taken_on: boolean; paid_cancelled: boolean }>(
        // The store rule's support: orders the store took on (a rejection out of stock is the inventory's); and
        // what it counts, as transformer/rollup/riskFlags.ts does: cancelled after the money was taken.
        'SELECT store_id::text, customer_id::text, cancel_reason IS DISTINCT FROM $3 AS taken_on, ' +
          "status = 'cancelled' AND payment_status IN ('paid', 'refunded') AND cancel_reason IS DISTINCT FROM $3 " +
          'AS paid_cancelled FROM orders WHERE created_at >= $1 AND created_at < $2',
        [new Date(w.from), new Date(w.to), 'out_of_stock'],
      ),
    );
    ordersPerStore = new Map();
    paidCancelledPerStore = new Map();
    activeCustomers = new Set();
    for (const r of rows.rows) {
      if (r.taken_on) ordersPerStore.set(r.store_id, (ordersPerStore.get(r.store_id) ?? 0) + 1);
      if (r.paid_cancelled) paidCancelledPerStore.set(r.store_id, (paidCancelledPerStore.get(r.store_id) ?? 0) + 1);
      activeCustomers.add(r.customer_id);
    }
    const by = (p: string) => summary.injected.filter((r) => r.pattern === p).length;
    log(
      `generator: ${summary.ordersCreated} orders (${rows.rowCount} in the window), injected card testing ${by('card_testing')}, refund abuse ${by('refund_abuse')}, new accounts ${by('new_account')}, stores ${by('store_cancellations')}; ${summary.rejectedOutOfStock} rejected out of stock`,
    );
    // Every order of the run is in every cube the panels read (each has its own supervisor) before they are asked.
    for (const g of GROUPINGS.filter((x) => /currency, status|^store$|^customer /.test(x.name)))
      await expectGroupingEqual(cfg, g, 'after the risk run');
  }, 600_000);

  it('flags every injected customer, and few honest ones', async () => {
    const flagged = async (title: string) =>
      new Set((await runPanel<{ customer_id: string }>(title, w.from, w.to)).map((r) => r.customer_id));
    const cardTesting = await flagged('Card testing: small card declines per customer');
    const refundAbuse = await flagged('Refund abuse: refund share per customer');
    const newAccounts = await flagged('New accounts placing high tickets');
    const injected = (p: string) => summary.injected.filter((r) => r.pattern === p).map((r) => r.customerId!);
    for (const [pattern, set] of [
      ['card_testing', cardTesting],
      ['refund_abuse', refundAbuse],
      ['new_account', newAccounts],
    ] as const) {
      const ids = injected(pattern);
      expect(ids.length, `${pattern} injected`).toBeGreaterThan(0);
      expect(
        ids.filter((id) => !set.has(id)),
        `${pattern} injected but not flagged`,
      ).toEqual([]);
    }
    const suspicious = new Set(summary.injected.flatMap((r) => (r.customerId ? [r.customerId] : [])));
    const honestFlagged = [...cardTesting, ...refundAbuse, ...newAccounts].filter((id) => !suspicious.has(id));
    const honest = [...activeCustomers].filter((id) => !suspicious.has(id)).length;
    const share = honestFlagged.length / honest;
    log(`honest customers flagged: ${honestFlagged.length} of ${honest} active (${(share * 100).toFixed(3)} %)`);
    expect(share).toBeLessThan(0.005);
  });

  it('flags every injected store with the rule’s support, and few honest ones', async () => {
    const rows = await runPanel<{ store_id: string }>('Stores cancelling after payment: share per store', w.from, w.to);
    const flagged = new Set(rows.map((r) => r.store_id));
    const injected = summary.injected.filter((r) => r.pattern === 'store_cancellations').map((r) => r.storeId!);
    const supported = injected.filter((id) => (ordersPerStore.get(id) ?? 0) >= STORE_CANCELS.orders);
    const shareOf = (id: string) =>
      `${id}: ${paidCancelledPerStore.get(id) ?? 0} of ${ordersPerStore.get(id) ?? 0} cancelled after payment`;
    log(
      `injected stores: ${injected.length}, with ${STORE_CANCELS.orders}+ orders in the run: ${supported.length} (${supported.map(shareOf).join('; ')})`,
    );
    expect(supported.length).toBeGreaterThan(0);
    // The panel is exact: it lists (up to its 20 rows) the stores that meet the rule in PostgreSQL, and no other.
    const meetsRule = [...ordersPerStore]
      .filter(
        ([id, n]) =>
          n >= STORE_CANCELS.orders && (paidCancelledPerStore.get(id) ?? 0) * 100 >= STORE_CANCELS.sharePct * n,
      )
      .map(([id]) => id);
    if (meetsRule.length <= 20) expect([...flagged].sort()).toEqual(meetsRule.sort());
    else {
      expect(flagged.size, 'the table is full').toBe(20);
      expect(
        [...flagged].filter((id) => !meetsRule.includes(id)),
        'flagged, not meeting the rule',
      ).toEqual([]);
    }
    expect(
      supported.filter((id) => !flagged.has(id)),
      'injected stores with support, not flagged',
    ).toEqual([]);
    const honestSupported = [...ordersPerStore].filter(
      ([id, n]) => n >= STORE_CANCELS.orders && !injected.includes(id),
    ).length;
    const honestFlagged = [...flagged].filter((id) => !injected.includes(id)).length;
    log(`honest stores flagged: ${honestFlagged} of ${honestSupported} with ${STORE_CANCELS.orders}+ orders`);
    expect(honestFlagged / Math.max(1, honestSupported)).toBeLessThan(0.02);
  });

  it('current stock per product equals PostgreSQL, also with a row driven below zero by hand', async () => {
    await expectGroupingEqual(cfg, STOCK, 'after the risk run');
    const before = await runPanel<{ negative_stock: number }>('Impossible stock', w.from, w.to);
    const product = await withPg(async (c) => {
      const r = await c.query<{ product_id: string }>(
        'UPDATE stock_levels SET units = -7, updated_at = now() WHERE product_id = (SELECT min(product_id) FROM stock_levels WHERE units > 0) RETURNING product_id::text',
      );
      return r.rows[0]!.product_id;
    });
    await expectGroupingEqual(cfg, STOCK, `after product ${product} was set to -7 units by hand`);
    await eventually(
      'Impossible stock to count it',
      async () => {
        const [now] = await runPanel<{ negative_stock: number }>('Impossible stock', w.from, w.to);
        return now!.negative_stock === before[0]!.negative_stock + 1 ? true : undefined;
      },
      60_000,
      1000,
    );
    const low = await runPanel<{ product_name: string; units_left: number }>('Low stock now', w.from, Date.now());
    log(
      `Low stock now lists ${low.length} products; the negative one: ${JSON.stringify(low.find((r) => r.units_left === -7))}`,
    );
    expect(low.some((r) => r.units_left === -7)).toBe(true);
    // Back to a positive count: the impossible stock is gone, and the rollup still sums exactly.
    await withPg((c) => c.query('UPDATE stock_levels SET units = 5 WHERE product_id = $1', [product]));
    await expectGroupingEqual(cfg, STOCK, `after product ${product} was set back to 5`);
  });

  it('counts the sales lost to stock-outs as PostgreSQL records them', async () => {
    const lost = GROUPINGS.find((g) => g.name.startsWith('sales lost'))!;
    await expectGroupingEqual(cfg, lost, 'after the risk run');
    const [, row] = await runPanel<{ lost_orders: number }>('Orders lost to stock-outs', w.from, w.to);
    expect(row).toBeDefined();
    log(`orders lost to stock-outs in the run's window: ${JSON.stringify(row)}`);
  });

  it('without injection, the risk panels answer empty, not with an error', async () => {
    const quiet = await freeWindow(3, w.start);
    await runGenerator({
      rate: 1000,
      orders: 1500,
      seed: 'risk-e2e-quiet',
      start: new Date(quiet.start),
      speedup: 2400,
      drain: true,
      riskShare: 0,
      progress: 'off',
    });
    for (const g of GROUPINGS.filter((x) => /currency, status|^store$|^customer /.test(x.name)))
      await expectGroupingEqual(cfg, g, 'after the quiet run');
    for (const title of [
      'Card testing',
      'Refund abuse',
      'New accounts with high tickets',
      'Card testing: small card declines per customer',
      'Refund abuse: refund share per customer',
      'New accounts placing high tickets',
    ]) {
      const rows = await runPanel<Record<string, number>>(title, quiet.from, quiet.to);
      const counted = rows.length === 1 && 'flagged' in rows[0]! ? rows[0]!.flagged : rows.length;
      expect(counted, title).toBe(0);
    }
  });
});
