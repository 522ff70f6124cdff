// The generator next to rows it did not write (issue "Hardening"): the README walkthrough's psql inserts
// (one store without products, one customer with an address, one order with an explicit id) used to make the
// generator keep that "world", drop the store and fail ("the world has no stores or no customers with
// addresses"), writing nothing. Now the simulated marketplace is created beside the user's rows, their
// explicit ids are stepped over, and they stay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../sql/migrate.ts';
import { runGenerator } from '../../generator/writeLoop.ts';
import { startTestServer, type TestServer } from '../support/testPostgres.ts';
import { QUIET, SMALL_WORLD, rows } from '../support/generatorFixtures.ts';

let server: TestServer;
let url: string;
let storesAfterFirstRun = 0;

// The README's "Insert a row and find it in Druid" statements, as a user runs them.
const README_INSERTS = `
  INSERT INTO stores (id, name, category, city_id, latitude, longitude) VALUES (900001, 'Arepera Demo', 'restaurant', 3001, 4.6486, -74.0788);
  INSERT INTO customers (id, full_name, email, city_id) VALUES (900001, 'Ana Demo', 'ana@example.com', 3001);
  INSERT INTO addresses (id, customer_id, city_id, street, latitude, longitude) VALUES (900001, 900001, 3001, 'Calle 85 # 11-53', 4.668, -74.054);
  INSERT INTO orders (id, customer_id, store_id, address_id, payment_method, currency, subtotal, delivery_fee, discount, tax, total, item_count, business_date)
    VALUES (900001, 900001, 900001, 900001, 'nequi', 'COP', 24691.34, 4500.00, 0.00, 4691.35, 33882.69, 2, current_date);
  UPDATE orders SET status = 'accepted' WHERE id = 900001;`;

beforeAll(async () => {
  server = await startTestServer();
  url = await server.freshDatabase();
  await migrate(url, { log: QUIET });
  const c = new (await import('pg')).default.Client({ connectionString: url });
  await c.connect();
  await c.query(README_INSERTS);
  await c.end();
}, 120_000);
afterAll(async () => server?.stop(), 60_000);

describe('the generator beside a user’s own rows', () => {
  it('creates its marketplace beside them, writes its orders, and leaves the user’s rows as they were', async () => {
    const s = await runGenerator({
      databaseUrl: url,
      rate: 400,
      orders: 300,
      seed: 'user-rows',
      speedup: 7200,
      start: new Date('2025-03-14T15:00:00Z'),
      scale: SMALL_WORLD,
      geocoder: { provider: 'offline' },
      progress: 'off',
      log: QUIET,
    });
    expect(s.worldCreated).toBe(true);
    expect(s.ordersCreated).toBe(300);
    const [db] = await rows<{ orders: number; stores: number; mine: string }>(
      url,
      'SELECT count(*)::int AS orders, (SELECT count(*)::int FROM stores) AS stores, (SELECT status::text FROM orders WHERE id = 900001) AS mine FROM orders',
    );
    expect(db!.orders).toBe(301 - s.ordersPurged);
    expect(db!.stores).toBeGreaterThan(SMALL_WORLD.stores / 2);
    storesAfterFirstRun = db!.stores;
    expect(db!.mine).toBe('accepted');
    // The identity sequences were moved past the explicit ids: the generator's rows come after them.
    const [ids] = await rows<{ min_generated: string }>(
      url,
      'SELECT min(id)::text AS min_generated FROM orders WHERE id <> 900001',
    );
    expect(BigInt(ids!.min_generated)).toBeGreaterThan(900001n);
  }, 120_000);

  it('a second run keeps the same marketplace (no second world)', async () => {
    const s = await runGenerator({
      databaseUrl: url,
      rate: 400,
      orders: 50,
      seed: 'user-rows',
      speedup: 7200,
      start: new Date('2025-03-14T16:00:00Z'),
      scale: SMALL_WORLD,
      geocoder: { provider: 'offline' },
      progress: 'off',
      log: QUIET,
    });
    expect(s.worldCreated).toBe(false);
    const [db] = await rows<{ stores: number }>(url, 'SELECT count(*)::int AS stores FROM stores');
    expect(db!.stores).toBe(storesAfterFirstRun);
  }, 120_000);
});
