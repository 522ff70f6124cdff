// The generator survives PostgreSQL going away: a crash (SIGKILL of the postmaster, then crash recovery) and a
// clean restart, mid-run. It reconnects with back-off, writes no order twice and none by halves, carries the
// lifecycles in flight on, and says what happened. The proof: the database it leaves holds exactly what the
// same seed writes when nothing goes wrong.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../sql/migrate.ts';
import { runGenerator, type GeneratorSummary } from '../../generator/writeLoop.ts';
import { Round, roundCommitted } from '../../generator/writer.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../stack/throwawayPostgres.ts';
import { eventually } from '../support/eventually.ts';
import type { Logger } from '../../lib/log.ts';
import { QUIET, SMALL_WORLD, rows } from '../support/generatorFixtures.ts';

const quiet = QUIET;
const SMALL = SMALL_WORLD;
let server: ThrowawayPostgres;

const generate = (databaseUrl: string, log: Logger) =>
  runGenerator({
    databaseUrl,
    rate: 250,
    orders: 2500,
    seed: 'pg-restart',
    speedup: 3600,
    start: new Date('2025-03-14T15:00:00Z'),
    connections: 3,
    scale: SMALL,
    geocoder: { provider: 'offline' },
    progress: 'off',
    log,
    maintenance: { customerUpdates: 0.05, storeUpdates: 0.03, priceUpdates: 0.05, purges: 0.01 },
  });

/** Everything the generator wrote, independent of the ids it was handed (they come from per-lane blocks). */
const digest = async (url: string) =>
  (
    await rows<{
      orders: string;
      items: string;
      history: string;
      payments: string;
      customers: string;
      stores: string;
      products: string;
    }>(
      url,
      `
    SELECT
      (SELECT md5(string_agg(concat_ws('|', store_id, customer_id, address_id, status, payment_method, payment_status, total, created_at, updated_at, delivered_at, item_count, version),
                  ',' ORDER BY created_at, store_id, customer_id, total)) FROM orders) AS orders,
      (SELECT md5(string_agg(concat_ws('|', o.created_at, o.store_id, o.customer_id, i.product_id, i.quantity, i.line_total), ',' ORDER BY o.created_at, o.store_id, o.customer_id, i.product_id, i.quantity))
         FROM order_items i JOIN orders o ON o.id = i.order_id) AS items,
      (SELECT md5(string_agg(concat_ws('|', o.created_at, o.store_id, o.customer_id, h.from_status, h.to_status, h.changed_at), ',' ORDER BY o.created_at, o.store_id, o.customer_id, h.changed_at, h.to_status))
         FROM order_status_history h JOIN orders o ON o.id = h.order_id) AS history,
      (SELECT md5(string_agg(concat_ws('|', o.created_at, o.store_id, o.customer_id, p.status, p.amount, p.updated_at), ',' ORDER BY o.created_at, o.store_id, o.customer_id))
         FROM payments p JOIN orders o ON o.id = p.order_id) AS payments,
      (SELECT md5(string_agg(concat_ws('|', id, email, phone, updated_at), ',' ORDER BY id)) FROM customers) AS customers,
      (SELECT md5(string_agg(concat_ws('|', id, rating, is_active, updated_at), ',' ORDER BY id)) FROM stores) AS stores,
      (SELECT md5(string_agg(concat_ws('|', id, price, updated_at), ',' ORDER BY id)) FROM products) AS products`,
    )
  )[0]!;

let interrupted: GeneratorSummary;
let undisturbed: GeneratorSummary;
let interruptedUrl: string;
let undisturbedUrl: string;
const warnings: string[] = [];

beforeAll(async () => {
  server = await startThrowawayPostgres();
  interruptedUrl = await server.createDatabase('interrupted');
  undisturbedUrl = await server.createDatabase('undisturbed');
  await migrate(interruptedUrl, { log: quiet });
  await migrate(undisturbedUrl, { log: quiet });
  undisturbed = await generate(undisturbedUrl, quiet);

  const log: Logger = { ...quiet, warn: (msg, f) => warnings.push(`${msg} ${JSON.stringify(f ?? {})}`) };
  const run = generate(interruptedUrl, log);
  const placed = async () =>
    Number(
      (await rows<{ n: string }>(interruptedUrl, 'SELECT count(*) AS n FROM orders').catch(() => [{ n: '0' }]))[0]!.n,
    );
  await eventually(
    'a third of the orders to be placed',
    async () => ((await placed()) > 800 ? true : undefined),
    120_000,
    50,
  );
  await server.restart('crash', 1500);
  await eventually(
    'two thirds of the orders to be placed',
    async () => ((await placed()) > 1700 ? true : undefined),
    180_000,
    50,
  );
  await server.restart('fast', 1000);
  interrupted = await run;
}, 400_000);
afterAll(async () => server?.stop(), 60_000);

describe('the generator across a PostgreSQL crash and a restart', () => {
  it('finishes the run: every order placed, every lifecycle finished, and it says it reconnected', () => {
    process.stderr.write(
      `[pg-restart] ${interrupted.ordersCreated} orders, ${interrupted.reconnects} lane reconnections, longest outage ${interrupted.longestOutageMs} ms\n${warnings.filter((w) => w.startsWith('reconnected')).join('\n')}\n`,
    );
    expect(interrupted).toMatchObject({ ordersCreated: 2500, inLifecycle: 0, stoppedBy: 'orders' });
    expect(interrupted.reconnects).toBeGreaterThanOrEqual(2);
    expect(interrupted.longestOutageMs).toBeGreaterThan(900);
    expect(warnings.some((w) => w.startsWith('lost the PostgreSQL connection; reconnecting'))).toBe(true);
    expect(warnings.some((w) => w.startsWith('reconnected: the round in flight had'))).toBe(true);
  });

  it('leaves exactly what an undisturbed run of the same seed writes: no order twice, none by halves', async () => {
    expect(undisturbed.reconnects).toBe(0);
    const [a, b] = await Promise.all([digest(interruptedUrl), digest(undisturbedUrl)]);
    expect(a).toEqual(b);
    const [counts] = await rows<{ orders: number; payments: number; dup_history: number }>(
      interruptedUrl,
      `
      SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM payments) AS payments,
             (SELECT count(*)::int FROM (SELECT order_id, to_status FROM order_status_history GROUP BY 1, 2 HAVING count(*) > 1) d) AS dup_history`,
    );
    expect(counts).toEqual({
      orders: 2500 - interrupted.ordersPurged,
      payments: 2500 - interrupted.ordersPurged,
      dup_history: 0,
    });
  });

  it('tells a committed round from one that did not commit, by what the database holds', async () => {
    const [o] = await rows<{ id: string; status: string; ms: string }>(
      interruptedUrl,
      'SELECT id::text, status::text, (extract(epoch FROM updated_at) * 1000)::bigint::text AS ms FROM orders ORDER BY id DESC LIMIT 1',
    );
    const c = new pg.Client({ connectionString: interruptedUrl });
    await c.connect();
    try {
      const created = (id: string) => Object.assign(new Round(), { orders: [{ dbId: id }] }) as unknown as Round;
      const stepped = (status: string, atMs: number) =>
        Object.assign(new Round(), {
          steps: [{ kind: 'step', order: { dbId: o!.id }, to: { status }, atMs }],
        }) as unknown as Round;
      expect(await roundCommitted(c, created(o!.id))).toBe(true);
      expect(await roundCommitted(c, created('999999999999'))).toBe(false);
      expect(await roundCommitted(c, stepped(o!.status, Number(o!.ms)))).toBe(true);
      expect(await roundCommitted(c, stepped(o!.status, Number(o!.ms) + 1))).toBe(false);
    } finally {
      await c.end();
    }
  });
});
