// The roles hold their declared privileges and nothing more: the replication role reads the publication's
// tables and writes only the heartbeat and signal tables; pulso_app, pulso_monitor and PUBLIC as sql/privileges.sql
// declares; and the stack's pg_hba.conf refuses physical replication. Privileges are checked with SET ROLE.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../sql/migrate.ts';
import { runAsRole, startTestServer, type TestServer } from '../support/testPostgres.ts';
import { loadConfig, replicationPassword, withLocalSecrets } from '../../lib/config.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CAPTURED = [
  'countries',
  'cities',
  'stores',
  'customers',
  'products',
  'orders',
  'order_items',
  'payments',
  'order_status_history',
  'dbz_heartbeat',
  'debezium_signal',
];
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
    const { rows } = await admin.query(
      "SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = 'pulso_cdc'",
    );
    expect(rows).toEqual([
      {
        rolcanlogin: true,
        rolreplication: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolbypassrls: false,
      },
    ]);
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
    await expect(
      asCdc(
        "INSERT INTO countries (code, name, currency, timezone) VALUES ('UY', 'Uruguay', 'UYU', 'America/Montevideo')",
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(asCdc('CREATE TABLE public.sneaky (id int)')).rejects.toThrow(/permission denied/);
  });

  it('can run the heartbeat action query and write signals', async () => {
    await expect(
      asCdc('INSERT INTO dbz_heartbeat (id, ts) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts'),
    ).resolves.toBeUndefined();
    await expect(
      asCdc(
        `INSERT INTO debezium_signal (id, type, data) VALUES ('adhoc-1', 'execute-snapshot', '{"data-collections":["public.orders"],"type":"incremental"}')`,
      ),
    ).resolves.toBeUndefined();
    await expect(asCdc('DELETE FROM debezium_signal')).rejects.toThrow(/permission denied/);
  });

  it.runIf(!loadConfig().pg.external)(
    'logs in with the password the runner set (stored as a SCRAM verifier, not plain text)',
    async () => {
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
      expect(
        (await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'pulso_cdc'")).rows[0].rolpassword,
      ).toBe(stored.rows[0].rolpassword);
    },
  );
});

describe('pulso_app (the generator) and pulso_monitor (status, health)', () => {
  it('are LOGIN roles without superuser, replication or other powers', async () => {
    const { rows } = await admin.query(
      "SELECT rolname, rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname IN ('pulso_app', 'pulso_monitor') ORDER BY 1",
    );
    expect(rows).toEqual(
      ['pulso_app', 'pulso_monitor'].map((rolname) => ({
        rolname,
        rolcanlogin: true,
        rolreplication: false,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolbypassrls: false,
      })),
    );
  });

  it('pulso_app reads and writes the marketplace rows and nothing else', async () => {
    await expect(asRole('pulso_app', "UPDATE orders SET notes = 'x'")).resolves.toBeUndefined();
    await expect(
      asRole('pulso_app', "SELECT nextval(pg_get_serial_sequence('orders', 'id'))"),
    ).resolves.toBeUndefined();
    await expect(asRole('pulso_app', 'DELETE FROM order_items')).resolves.toBeUndefined();
    await expect(asRole('pulso_app', 'SELECT * FROM schema_migrations')).resolves.toBeUndefined();
    await expect(asRole('pulso_app', 'CREATE TABLE public.sneaky (id int)')).rejects.toThrow(/permission denied/);
    await expect(
      asRole('pulso_app', "INSERT INTO debezium_signal (id, type, data) VALUES ('x', 'execute-snapshot', '{}')"),
    ).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'UPDATE dbz_heartbeat SET ts = now()')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'DELETE FROM schema_migrations')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'ALTER TABLE orders REPLICA IDENTITY DEFAULT')).rejects.toThrow(/must be owner/);
    // Exchange rates: published once, never changed or withdrawn (a rate is final, 006_fx_rates.sql).
    await expect(
      asRole('pulso_app', "INSERT INTO fx_rates (currency, rate_date, usd_per_unit) VALUES ('XTS', '2020-01-01', 1)"),
    ).resolves.toBeUndefined();
    await expect(asRole('pulso_app', "UPDATE fx_rates SET usd_per_unit = 2 WHERE currency = 'XTS'")).rejects.toThrow(
      /permission denied/,
    );
    await expect(asRole('pulso_app', "DELETE FROM fx_rates WHERE currency = 'XTS'")).rejects.toThrow(
      /permission denied/,
    );
  });

  it('pulso_monitor sees replication slots and activity, and no row of data', async () => {
    await expect(
      asRole(
        'pulso_monitor',
        'SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM pg_replication_slots',
      ),
    ).resolves.toBeUndefined();
    await expect(asRole('pulso_monitor', 'SELECT query FROM pg_stat_activity')).resolves.toBeUndefined();
    for (const t of ['orders', 'customers', 'addresses'])
      await expect(asRole('pulso_monitor', `SELECT * FROM ${t} LIMIT 1`)).rejects.toThrow(/permission denied/);
  });
});

// Declared privileges only (sql/privileges.sql), brought back on every migrate; PUBLIC holds nothing; and the
// stack's pg_hba.conf lets the CDC role replicate logically, never physically. Each refusal is tried for real.
describe('declared privileges', () => {
  it('pulso_app deletes only what its purges delete', async () => {
    for (const t of ['countries', 'cities', 'stores', 'customers', 'addresses', 'products', 'geocode_cache']) {
      await expect(asRole('pulso_app', `DELETE FROM ${t}`), t).rejects.toThrow(/permission denied/);
    }
    for (const t of ['order_status_history', 'payments', 'order_items', 'orders'])
      await expect(asRole('pulso_app', `DELETE FROM ${t}`), t).resolves.toBeUndefined();
    await expect(asRole('pulso_app', "UPDATE countries SET name = 'x'")).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'TRUNCATE orders CASCADE')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'SELECT pulso_align_sequences()')).resolves.toBeUndefined();
  });

  it('PUBLIC has no CONNECT, TEMP or CREATE here; only the declared roles connect', async () => {
    const { rows } = await admin.query<{ grantee: string; privilege_type: string }>(
      `SELECT COALESCE(r.rolname, 'PUBLIC') AS grantee, a.privilege_type
       FROM pg_database d, aclexplode(d.datacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
       WHERE d.datname = current_database() AND a.grantee <> d.datdba ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { grantee: 'pulso_app', privilege_type: 'CONNECT' },
      { grantee: 'pulso_cdc', privilege_type: 'CONNECT' },
      { grantee: 'pulso_monitor', privilege_type: 'CONNECT' },
    ]);
    const schema = await admin.query<{ create: boolean }>(
      "SELECT has_schema_privilege('public', 'public', 'CREATE') AS create",
    );
    expect(schema.rows[0]!.create).toBe(false);
  });

  it('a privilege granted by hand (or by an older migration) is revoked by the next migrate', async () => {
    await admin.query('GRANT DELETE ON stores, countries TO pulso_app');
    await admin.query('GRANT TRUNCATE ON orders TO pulso_app');
    await admin.query('GRANT SELECT ON addresses TO pulso_cdc');
    await admin.query('GRANT SELECT ON orders TO pulso_monitor');
    await admin.query(`GRANT TEMP ON DATABASE "${new URL(url).pathname.slice(1)}" TO PUBLIC`);
    await migrate(url, { log: quiet });
    await expect(asRole('pulso_app', 'DELETE FROM stores')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'TRUNCATE orders CASCADE')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_cdc', 'SELECT * FROM addresses')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_monitor', 'SELECT * FROM orders')).rejects.toThrow(/permission denied/);
    const temp = await admin
      .query("SELECT has_database_privilege('public', current_database(), 'TEMP') AS t")
      .catch(() => undefined);
    if (temp) expect(temp.rows[0].t).toBe(false);
    const acl = await admin.query<{ acl: string }>(
      'SELECT datacl::text AS acl FROM pg_database WHERE datname = current_database()',
    );
    expect(acl.rows[0]!.acl).not.toMatch(/(^|[{,])=/); // no entry for PUBLIC
  });
});

// The stack's own PostgreSQL, with the pg_hba.conf the stack renders (an external database has its own).
describe.runIf(!loadConfig().pg.external)('pg_hba.conf of the stack', () => {
  const cfg = withLocalSecrets(loadConfig());
  const cdc = (database: string, replication?: 'database' | true) => {
    const u = new URL(cfg.pg.url);
    u.username = 'pulso_cdc';
    u.password = replicationPassword(cfg) ?? '';
    u.pathname = `/${database}`;
    return new pg.Client({ connectionString: u.toString(), replication } as pg.ClientConfig);
  };
  const tryConnect = async (c: pg.Client, sql: string) => {
    try {
      await c.connect();
      return await c.query(sql).then((r) => r.rows[0] as Record<string, unknown>);
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  it('lets the CDC role replicate its database logically', async () => {
    const row = await tryConnect(cdc(cfg.pg.database, 'database'), 'IDENTIFY_SYSTEM');
    expect(row.dbname).toBe(cfg.pg.database);
  });

  it('refuses the CDC role a physical replication connection (a base backup of the whole cluster)', async () => {
    await expect(tryConnect(cdc(cfg.pg.database, true), 'IDENTIFY_SYSTEM')).rejects.toThrow(
      /no pg_hba\.conf entry for replication connection/,
    );
  });

  it('refuses the CDC role any other database', async () => {
    await expect(tryConnect(cdc('postgres'), 'SELECT 1')).rejects.toThrow(
      /pg_hba\.conf rejects connection|no pg_hba\.conf entry/,
    );
  });

  it('answers scram only: a password-less attempt is refused', async () => {
    const u = new URL(cfg.pg.url);
    u.password = 'wrong-password';
    await expect(tryConnect(new pg.Client({ connectionString: u.toString() }), 'SELECT 1')).rejects.toThrow(
      /password authentication failed/,
    );
  });
});
