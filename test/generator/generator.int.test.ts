// A generator run against a real PostgreSQL leaves every invariant true (checked in SQL), is
// reproducible for a seed, and fails clearly when the schema or the database is not there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../sql/migrate.ts';
import { connectWithRetry, DatabaseUnreachableError } from '../../lib/postgresClient.ts';
import { runGenerator, SchemaNotReadyError, type GeneratorSummary } from '../../generator/writeLoop.ts';
import { WRITER_SESSION } from '../../generator/writer.ts';
import { startTestServer, type TestServer } from '../support/testPostgres.ts';
import { QUIET, SMALL_WORLD, rows } from '../support/generatorFixtures.ts';

const quiet = QUIET;
const SMALL = SMALL_WORLD;
let server: TestServer;
let url: string;
let summary: GeneratorSummary;

const generate = (databaseUrl: string, seed: string) =>
  runGenerator({
    databaseUrl,
    rate: 400,
    orders: 1500,
    seed,
    speedup: 7200,
    start: new Date('2025-03-14T15:00:00Z'),
    connections: 2,
    scale: SMALL,
    geocoder: { provider: 'offline' },
    progress: 'off',
    log: quiet,
    // Higher than real life so a short run exercises updates and deletes of every kind.
    maintenance: { customerUpdates: 0.05, storeUpdates: 0.03, priceUpdates: 0.05, purges: 0.01 },
  });

beforeAll(async () => {
  server = await startTestServer();
  url = await server.freshDatabase();
  await migrate(url, { log: quiet });
  summary = await generate(url, 'invariants');
}, 240_000);
afterAll(async () => server?.stop(), 60_000);

describe('a generator run', () => {
  it('places the asked orders and finishes their lifecycles', async () => {
    expect(summary).toMatchObject({ ordersCreated: 1500, inLifecycle: 0, stoppedBy: 'orders', worldCreated: true });
    expect(summary.delivered).toBeGreaterThan(1200);
    expect(summary.cancelled).toBeGreaterThan(0);
    expect(summary.refunded).toBeGreaterThan(0);
    const [db] = await rows<{ orders: number; delivered: number }>(
      url,
      "SELECT count(*)::int AS orders, count(*) FILTER (WHERE status = 'delivered')::int AS delivered FROM orders",
    );
    expect(db!.orders).toBe(1500 - summary.ordersPurged);
    expect(db!.delivered).toBe(summary.delivered);
  });

  it('leaves every money invariant true, to the cent', async () => {
    const violations = await rows(
      url,
      `
      SELECT o.id FROM orders o
      LEFT JOIN (SELECT order_id, sum(line_total) AS s, sum(quantity) AS q, bool_and(line_total = quantity * unit_price) AS lines_ok
                 FROM order_items GROUP BY order_id) i ON i.order_id = o.id
      JOIN payments p ON p.order_id = o.id
      WHERE i.order_id IS NULL OR o.subtotal <> i.s OR o.item_count <> i.q OR NOT i.lines_ok
         OR o.total <> o.subtotal + o.delivery_fee - o.discount + o.tax
         OR o.discount > o.subtotal OR p.amount <> o.total OR p.currency <> o.currency OR p.method <> o.payment_method`,
    );
    expect(violations).toEqual([]);
    const [counts] = await rows<{ orders: number; with_payment: number }>(
      url,
      'SELECT count(*)::int AS orders, (SELECT count(*)::int FROM payments) AS with_payment FROM orders',
    );
    expect(counts!.with_payment).toBe(counts!.orders);
  });

  it('keeps statuses, history, payments and timestamps consistent', async () => {
    const bad = await rows(
      url,
      `
      WITH last AS (
        SELECT DISTINCT ON (order_id) order_id, to_status FROM order_status_history ORDER BY order_id, changed_at DESC, id DESC)
      SELECT o.id, o.status, o.payment_status, p.status AS payment_row_status FROM orders o
      JOIN payments p ON p.order_id = o.id
      JOIN last l ON l.order_id = o.id
      WHERE l.to_status <> o.status
         OR p.status <> o.payment_status
         OR (o.status = 'delivered') <> (o.delivered_at IS NOT NULL)
         OR (o.delivered_at IS NOT NULL AND o.delivered_at <= o.created_at)
         OR o.updated_at < o.created_at
         OR (o.status = 'delivered' AND o.payment_status NOT IN ('paid', 'refunded'))
         OR (o.payment_status = 'refunded' AND o.status NOT IN ('cancelled', 'delivered'))
         OR (o.payment_status = 'failed' AND o.status <> 'cancelled')
         OR (o.status = 'cancelled' AND o.payment_status = 'paid')
         OR o.version < 2`,
    );
    expect(bad).toEqual([]);
    // The first history row of every order is "placed", and each row starts where the previous ended.
    const broken = await rows(
      url,
      `
      SELECT order_id FROM (
        SELECT order_id, from_status, to_status, lag(to_status) OVER (PARTITION BY order_id ORDER BY changed_at, id) AS prev
        FROM order_status_history) h
      WHERE from_status IS DISTINCT FROM prev`,
    );
    expect(broken).toEqual([]);
  });

  it('writes the store-local business date and realistic delivery times', async () => {
    const wrongDate = await rows(
      url,
      `
      SELECT o.id FROM orders o JOIN stores s ON s.id = o.store_id JOIN cities c ON c.id = s.city_id
      WHERE o.business_date <> (o.created_at AT TIME ZONE c.timezone)::date`,
    );
    expect(wrongDate).toEqual([]);
    const [t] = await rows<{ p50: number; p95: number }>(
      url,
      `
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY m) AS p95
      FROM (SELECT extract(epoch FROM delivered_at - created_at) / 60 AS m FROM orders WHERE delivered_at IS NOT NULL) x`,
    );
    expect(t!.p50).toBeGreaterThan(20);
    expect(t!.p50).toBeLessThan(50);
    expect(t!.p95).toBeLessThan(100);
  });

  it('uses local currencies and payment methods per country', async () => {
    const mix = await rows<{ country_code: string; currency: string; methods: string[] }>(
      url,
      `
      SELECT c.country_code, o.currency, array_agg(DISTINCT o.payment_method ORDER BY o.payment_method) AS methods
      FROM orders o JOIN stores s ON s.id = o.store_id JOIN cities c ON c.id = s.city_id
      GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(mix.map((m) => `${m.country_code}:${m.currency}`)).toEqual([
      'AR:ARS',
      'BR:BRL',
      'CL:CLP',
      'CO:COP',
      'MX:MXN',
      'PE:PEN',
    ]);
    expect(mix.find((m) => m.country_code === 'BR')!.methods).toContain('pix');
    expect(mix.find((m) => m.country_code === 'MX')!.methods).not.toContain('pix');
  });

  it('produces inserts, updates and deletes for CDC', async () => {
    expect(summary.rowsInserted).toBeGreaterThan(1500 * 4);
    expect(summary.rowsUpdated).toBeGreaterThan(1500 * 3);
    expect(summary.customerUpdates + summary.storeUpdates + summary.priceUpdates).toBeGreaterThan(0);
    expect(summary.ordersPurged).toBeGreaterThan(0);
    expect(summary.rowsDeleted).toBeGreaterThan(summary.ordersPurged); // an order and its items, payment, history
    const [u] = await rows<{ customers: number; prices: number; long_descriptions: number }>(
      url,
      `
      SELECT (SELECT count(*)::int FROM customers WHERE updated_at > created_at) AS customers,
             (SELECT count(*)::int FROM products WHERE updated_at > '2025-03-14T15:00:00Z') AS prices,
             (SELECT count(*)::int FROM stores WHERE length(description) > 4000) AS long_descriptions`,
    );
    expect(u!.customers).toBeGreaterThan(0);
    expect(u!.prices).toBeGreaterThan(0);
    expect(u!.long_descriptions).toBeGreaterThan(0); // TOASTed descriptions exist
  });

  it('is reproducible: the same seed on a fresh database gives the same orders', async () => {
    const other = await server.freshDatabase();
    await migrate(other, { log: quiet });
    await generate(other, 'invariants');
    // Order ids come from per-connection blocks, so compare content, not ids.
    const digest = (u: string) =>
      rows<{ d: string }>(
        u,
        `
      SELECT md5(string_agg(concat_ws('|', store_id, customer_id, address_id, status, payment_method, payment_status, total, created_at, delivered_at, item_count),
                            ',' ORDER BY created_at, store_id, customer_id, total)) AS d FROM orders`,
      );
    expect(await digest(other)).toEqual(await digest(url));
  });
});

describe('faults', () => {
  it('says npm run migrate when the schema is missing', async () => {
    const empty = await server.freshDatabase();
    const err = await generate(empty, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaNotReadyError);
    expect((err as Error).message).toContain('npm run migrate');
  });

  it("gives the writer's connections their session settings (the round runs on its generic plan)", async () => {
    const client = await connectWithRetry(url, { sessionSettings: WRITER_SESSION });
    try {
      const res = await client.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode');
      expect(res.rows[0]!.plan_cache_mode).toBe('force_generic_plan');
    } finally {
      await client.end();
    }
  });

  it('retries an unreachable database, then names the URL without its password', async () => {
    const started = Date.now();
    const err = await connectWithRetry('postgres://pulso:s3cret-pw@127.0.0.1:1/pulso', {
      attempts: 3,
      initialDelayMs: 50,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnreachableError);
    expect((err as Error).message).toContain('postgres://pulso:***@127.0.0.1:1/pulso');
    expect((err as Error).message).toContain('after 3 attempts');
    expect((err as Error).message).not.toContain('s3cret-pw');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150); // 50 + 100 ms of backoff
  });
});
