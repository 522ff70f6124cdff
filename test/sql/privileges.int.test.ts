// Roles hold their declared privileges only (sql/privileges.sql), brought back on every migrate; PUBLIC holds
// nothing; and the stack's pg_hba.conf lets the CDC role replicate logically, never physically. Each refusal
// is tried for real. Before: pulso_app kept whatever it was once granted (DELETE on six reference tables
// included), PUBLIC had CONNECT and TEMP, and initdb's `host replication all 127.0.0.1/32` let the CDC role
// take a base backup of the whole cluster, password hashes included.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, replicationPassword, withLocalSecrets } from '../../lib/config.ts';
import { migrate } from '../../sql/migrate.ts';
import { runAsRole, startTestServer, type TestServer } from '../support/testPostgres.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let server: TestServer;
let url: string;
let admin: pg.Client;

const asRole = (role: string, sql: string) => runAsRole(admin, role, sql);

beforeAll(async () => {
  server = await startTestServer();
  url = await server.freshDatabase();
  await migrate(url, { log: quiet });
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
}, 120_000);
afterAll(async () => {
  await admin?.end();
  await server?.stop();
}, 60_000);

describe('declared privileges', () => {
  it('pulso_app deletes only what its purges delete', async () => {
    for (const t of ['countries', 'cities', 'stores', 'customers', 'addresses', 'products', 'geocode_cache']) {
      await expect(asRole('pulso_app', `DELETE FROM ${t}`), t).rejects.toThrow(/permission denied/);
    }
    for (const t of ['order_status_history', 'payments', 'order_items', 'orders']) await expect(asRole('pulso_app', `DELETE FROM ${t}`), t).resolves.toBeUndefined();
    await expect(asRole('pulso_app', "UPDATE countries SET name = 'x'")).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'TRUNCATE orders CASCADE')).rejects.toThrow(/permission denied/);
    await expect(asRole('pulso_app', 'SELECT pulso_align_sequences()')).resolves.toBeUndefined();
  });

  it('PUBLIC has no CONNECT, TEMP or CREATE here; only the declared roles connect', async () => {
    const { rows } = await admin.query<{ grantee: string; privilege_type: string }>(
      `SELECT COALESCE(r.rolname, 'PUBLIC') AS grantee, a.privilege_type
       FROM pg_database d, aclexplode(d.datacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
       WHERE d.datname = current_database() AND a.grantee <> d.datdba ORDER BY 1, 2`);
    expect(rows).toEqual([
      { grantee: 'pulso_app', privilege_type: 'CONNECT' },
      { grantee: 'pulso_cdc', privilege_type: 'CONNECT' },
      { grantee: 'pulso_monitor', privilege_type: 'CONNECT' },
    ]);
    const schema = await admin.query<{ create: boolean }>("SELECT has_schema_privilege('public', 'public', 'CREATE') AS create");
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
    const temp = await admin.query("SELECT has_database_privilege('public', current_database(), 'TEMP') AS t").catch(() => undefined);
    if (temp) expect(temp.rows[0].t).toBe(false);
    const acl = await admin.query<{ acl: string }>("SELECT datacl::text AS acl FROM pg_database WHERE datname = current_database()");
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
    await expect(tryConnect(cdc(cfg.pg.database, true), 'IDENTIFY_SYSTEM')).rejects.toThrow(/no pg_hba\.conf entry for replication connection/);
  });

  it('refuses the CDC role any other database', async () => {
    await expect(tryConnect(cdc('postgres'), 'SELECT 1')).rejects.toThrow(/pg_hba\.conf rejects connection|no pg_hba\.conf entry/);
  });

  it('answers scram only: a password-less attempt is refused', async () => {
    const u = new URL(cfg.pg.url);
    u.password = 'wrong-password';
    await expect(tryConnect(new pg.Client({ connectionString: u.toString() }), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });
});
