// The replication role can read the publication's tables and write only the heartbeat and signal
// tables: nothing more. Privileges are checked with SET ROLE (works on any server); logging in with
// the password the runner sets is checked only on a throwaway cluster, since roles are cluster-wide.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../sql/migrate.ts';
import { runAsRole, startTestServer, type TestServer } from '../support/testPostgres.ts';
import { loadConfig } from '../../lib/config.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CAPTURED = ['countries', 'cities', 'stores', 'customers', 'products', 'orders', 'order_items', 'payments', 'order_status_history', 'dbz_heartbeat', 'debezium_signal'];
const PASSWORD = 'test-replication-password-1';
let server: TestServer;
let url: string;
let admin: pg.Client;

const asRole = (role: string, sql: string) => runAsRole(admin, role, sql);
const asCdc = (sql: string) => asRole('pulso_cdc', sql);

beforeAll(async () => {
  server = await startTestServer();
  url = await server.freshDatabase();
  await migrate(url, { log: quiet, replicationPassword: server.ownsCluster ? PASSWORD : undefined });
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
}, 120_000);
afterAll(async () => {
  await admin?.end();
  await server?.stop();
}, 60_000);

describe('pulso_cdc', () => {
  it('is a LOGIN REPLICATION role without superuser or other powers', async () => {
    const { rows } = await admin.query("SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = 'pulso_cdc'");
    expect(rows).toEqual([{ rolcanlogin: true, rolreplication: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false }]);
  });

  it('can SELECT every table of the publication', async () => {
    for (const t of CAPTURED) await expect(asCdc(`SELECT * FROM ${t} LIMIT 1`)).resolves.toBeUndefined();
  });

  it('cannot read tables outside the publication', async () => {
    for (const t of ['addresses', 'geocode_cache', 'schema_migrations']) {
      await expect(asCdc(`SELECT * FROM ${t} LIMIT 1`)).rejects.toThrow(/permission denied/);
    }
  });

  it('cannot write the business tables', async () => {
    await expect(asCdc("UPDATE orders SET notes = 'x'")).rejects.toThrow(/permission denied/);
    await expect(asCdc('DELETE FROM order_items')).rejects.toThrow(/permission denied/);
    await expect(asCdc("INSERT INTO countries (code, name, currency, timezone) VALUES ('UY', 'Uruguay', 'UYU', 'America/Montevideo')")).rejects.toThrow(/permission denied/);
    await expect(asCdc('CREATE TABLE public.sneaky (id int)')).rejects.toThrow(/permission denied/);
  });

  it('can run the heartbeat action query and write signals', async () => {
    await expect(asCdc('INSERT INTO dbz_heartbeat (id, ts) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts')).resolves.toBeUndefined();
    await expect(
      asCdc(`INSERT INTO debezium_signal (id, type, data) VALUES ('adhoc-1', 'execute-snapshot', '{"data-collections":["public.orders"],"type":"incremental"}')`),
    ).resolves.toBeUndefined();
    await expect(asCdc('DELETE FROM debezium_signal')).rejects.toThrow(/permission denied/);
  });

  it.runIf(!loadConfig().pg.external)('logs in with the password the runner set (stored as a SCRAM verifier, not plain text)', async () => {
    const u = new URL(url);
    u.username = 'pulso_cdc';
    u.password = PASSWORD;
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    const { rows } = await c.query('SELECT current_user AS who, count(*)::int AS n FROM countries');
    await c.end();
    expect(rows).toEqual([{ who: 'pulso_cdc', n: 6 }]);
    const stored = await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'pulso_cdc'");
    expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(stored.rows[0].rolpassword).not.toContain(PASSWORD);
    // Same password again: nothing changes (idempotent).
    await migrate(url, { log: quiet, replicationPassword: PASSWORD });
    expect((await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'pulso_cdc'")).rows[0].rolpassword).toBe(stored.rows[0].rolpassword);
  });
});

describe('pulso_app (the generator) and pulso_monitor (status, health)', () => {
  it('are LOGIN roles without superuser, replication or other powers', async () => {
    const { rows } = await admin.query("SELECT rolname, rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname IN ('pulso_app', 'pulso_monitor') ORDER BY 1");
    expect(rows).toEqual(['pulso_app', 'pulso_monitor'].map((rolname) => ({ rolname, rolcanlogin: true, rolreplication: false, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false })));
  });

  it('pulso_app reads and writes the marketplace rows and nothing else', async () => {
    await expect(asRole('pulso_app', "UPDATE orders SET notes = 'x'")).resolves.toBeUndefined();
    await expect(asRole('pulso_app', "SELECT nextval(pg_get_serial_sequence('orders', 'id'))")).resolves.toBeUndefined();
    await expect(asRole('pulso_app', 'DELETE FROM order_items')).resolves.toBeUndefined();
    await expect(asRole('pulso_app', 'SELECT * FROM schema_migrations')).resolves.toBeUndefined();
    await expect(asRole('pulso_app', 'CREATE TABLE public.sneaky (id int)')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', "INSERT INTO debezium_signal (id, type, data) VALUES ('x', 'execute-snapshot', '{}')")).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'UPDATE dbz_heartbeat SET ts = now()')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'DELETE FROM schema_migrations')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'ALTER TABLE orders REPLICA IDENTITY DEFAULT')).rejects.toThrow(/must be owner/);
  });

  it('pulso_monitor sees replication slots and activity, and no row of data', async () => {
    await expect(asRole('pulso_monitor', 'SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM pg_replication_slots')).resolves.toBeUndefined();
    await expect(asRole('pulso_monitor', 'SELECT query FROM pg_stat_activity')).resolves.toBeUndefined();
    for (const t of ['orders', 'customers', 'addresses']) await expect(asRole('pulso_monitor', `SELECT * FROM ${t} LIMIT 1`)).rejects.toThrow(/permission denied/);
  });
});

