// The schema against a real PostgreSQL: migrates from empty, a second run changes nothing, drift is
// reported, and the CDC pieces (replica identities, publication, reference data) are as designed.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSchema, migrate, MigrationError, readMigrationFiles, SQL_DIR } from '../../sql/migrate.ts';
import { CITIES, COUNTRIES } from '../../generator/geo/gazetteer.ts';
import { startTestServer, type TestServer } from '../support/testPostgres.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let server: TestServer;
let url: string;

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  server = await startTestServer();
  url = await server.freshDatabase();
}, 120_000);
afterAll(async () => server?.stop(), 60_000);

describe('migrations', () => {
  it('reports an empty database as missing every migration, naming npm run migrate', async () => {
    const check = await checkSchema(url);
    expect(check.ok).toBe(false);
    expect(check.missing).toEqual(readMigrationFiles().map((f) => f.name));
    expect(check.hint).toContain('npm run migrate');
    expect(check.hint).not.toMatch(/postgres:[^*@]+@/); // password redacted
  });

  it('migrates from empty, then a second run applies nothing and changes nothing', async () => {
    const first = await migrate(url, { log: quiet });
    expect(first.applied).toEqual([
      '001_schema',
      '002_cdc',
      '003_reference_data',
      '004_roles',
      '005_align_sequences',
      '006_fx_rates',
      '007_inventory',
    ]);
    const before = await query<{ version: number; checksum: string; applied_at: Date }>(
      'SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version',
    );
    const second = await migrate(url, { log: quiet });
    expect(second.applied).toEqual([]);
    expect(await query('SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version')).toEqual(before);
    expect((await checkSchema(url)).ok).toBe(true);
  });

  it('refuses to run when an applied file changed, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulso-sql-'));
    cpSync(SQL_DIR, dir, { recursive: true });
    const file = join(dir, '002_cdc.sql');
    writeFileSync(file, readFileSync(file, 'utf8') + '\n-- an edit after the fact\n');
    await expect(migrate(url, { log: quiet, dir })).rejects.toThrow(MigrationError);
    await expect(migrate(url, { log: quiet, dir })).rejects.toThrow(/sql\/002_cdc\.sql/);
    const check = await checkSchema(url, { dir });
    expect(check.ok).toBe(false);
    expect(check.missing).toEqual(['002_cdc (changed)']);
  });

  it('says npm run migrate when a newer migration file is not applied yet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulso-sql-'));
    cpSync(SQL_DIR, dir, { recursive: true });
    writeFileSync(join(dir, '999_future.sql'), 'SELECT 1;\n');
    const check = await checkSchema(url, { dir });
    expect(check).toMatchObject({ ok: false, missing: ['999_future'] });
    expect(check.hint).toContain('npm run migrate');
  });

  it('creates every table and enum of the contract', async () => {
    const tables = (
      await query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      )
    ).map((r) => r.table_name);
    expect(tables).toEqual([
      'addresses',
      'cities',
      'countries',
      'customers',
      'dbz_heartbeat',
      'debezium_signal',
      'fx_rates',
      'geocode_cache',
      'order_items',
      'order_status_history',
      'orders',
      'payments',
      'products',
      'schema_migrations',
      'stock_levels',
      'stores',
    ]);
    const enums = await query<{ typname: string; labels: string[] }>(
      `SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY t.typname`,
    );
    expect(enums).toEqual([
      { typname: 'order_status', labels: ['placed', 'accepted', 'preparing', 'picked_up', 'delivered', 'cancelled'] },
      { typname: 'payment_status', labels: ['pending', 'paid', 'refunded', 'failed'] },
    ]);
  });

  it('publishes exactly the captured tables in pulso_pub', async () => {
    const rows = await query<{ tablename: string }>(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'pulso_pub' ORDER BY tablename",
    );
    expect(rows.map((r) => r.tablename)).toEqual([
      'cities',
      'countries',
      'customers',
      'dbz_heartbeat',
      'debezium_signal',
      'fx_rates',
      'order_items',
      'order_status_history',
      'orders',
      'payments',
      'products',
      'stock_levels',
      'stores',
    ]);
  });

  it('sets the replica identity per table as designed', async () => {
    const rows = await query<{ relname: string; relreplident: string }>(
      "SELECT relname, relreplident FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname",
    );
    const identity = Object.fromEntries(rows.map((r) => [r.relname, r.relreplident]));
    expect(identity).toMatchObject({
      orders: 'f',
      order_items: 'f',
      payments: 'f',
      stores: 'd',
      customers: 'd',
      products: 'd',
      order_status_history: 'd',
      fx_rates: 'd',
      stock_levels: 'f',
    });
  });

  it('bumps orders.version on every update', async () => {
    const [cust] = await query<{ id: string }>(
      "INSERT INTO customers (full_name, email, city_id) VALUES ('Ana Souza', 'ana@example.com', 1001) RETURNING id",
    );
    const [store] = await query<{ id: string }>(
      "INSERT INTO stores (name, category, city_id, latitude, longitude) VALUES ('Pizzaria Teste', 'restaurant', 1001, -23.55, -46.63) RETURNING id",
    );
    const [addr] = await query<{ id: string }>(
      'INSERT INTO addresses (customer_id, city_id, street, latitude, longitude) VALUES ($1, 1001, $2, -23.56, -46.64) RETURNING id',
      [cust!.id, 'Rua Augusta, 100'],
    );
    const [order] = await query<{ id: string; version: number }>(
      `INSERT INTO orders (customer_id, store_id, address_id, payment_method, currency, subtotal, delivery_fee, discount, tax, total, item_count, business_date)
       VALUES ($1, $2, $3, 'pix', 'BRL', 10.00, 5.00, 0, 0, 15.00, 1, '2025-03-14') RETURNING id, version`,
      [cust!.id, store!.id, addr!.id],
    );
    expect(order!.version).toBe(1);
    await query("UPDATE orders SET status = 'accepted' WHERE id = $1", [order!.id]);
    await query("UPDATE orders SET status = 'preparing' WHERE id = $1", [order!.id]);
    expect(
      (await query<{ version: number }>('SELECT version FROM orders WHERE id = $1', [order!.id]))[0]!.version,
    ).toBe(3);
    // The money invariant is a constraint too.
    await expect(query('UPDATE orders SET total = 99.99 WHERE id = $1', [order!.id])).rejects.toThrow(
      /orders_total_adds_up/,
    );
    await query('DELETE FROM orders WHERE id = $1', [order!.id]);
  });

  it('seeds the countries and cities of the gazetteer, with their real coordinates', async () => {
    const countries = await query<{ code: string; currency: string; timezone: string }>(
      'SELECT code, currency, timezone FROM countries ORDER BY code',
    );
    expect(countries).toEqual(
      COUNTRIES.map((c) => ({ code: c.code, currency: c.currency, timezone: c.timezone })).sort((a, b) =>
        a.code.localeCompare(b.code),
      ),
    );
    const cities = await query<{ id: string; name: string; latitude: string; longitude: string; timezone: string }>(
      'SELECT id, name, latitude, longitude, timezone FROM cities ORDER BY id',
    );
    expect(cities).toEqual(
      CITIES.map((c) => ({
        id: String(c.id),
        name: c.name,
        latitude: c.latitude.toFixed(6),
        longitude: c.longitude.toFixed(6),
        timezone: c.timezone,
      })),
    );
    // Spot-check against well-known coordinates: São Paulo, Ciudad de México, Bogotá within ~0.1°.
    const near = (id: number, lat: number, lon: number) => {
      const c = cities.find((x) => x.id === String(id))!;
      expect(Math.abs(Number(c.latitude) - lat)).toBeLessThan(0.1);
      expect(Math.abs(Number(c.longitude) - lon)).toBeLessThan(0.1);
    };
    near(1001, -23.55, -46.63);
    near(2001, 19.43, -99.13);
    near(3001, 4.71, -74.07);
    for (const code of ['BR', 'MX', 'CO', 'PE', 'CL', 'AR'])
      expect(
        cities.filter((c) => CITIES.find((g) => String(g.id) === c.id)!.countryCode === code).length,
      ).toBeGreaterThanOrEqual(4);
  });
});
