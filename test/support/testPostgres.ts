// Where integration tests get PostgreSQL: DATABASE_URL when set (a superuser URL of a server with
// wal_level=logical, e.g. the stack's), otherwise a throwaway embedded PostgreSQL started here.
// Either way each test file works in fresh databases of its own, dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../stack/throwawayPostgres.ts';
import { loadConfig } from '../../lib/config.ts';

export interface TestServer {
  /** True when this process started the server (so cluster-wide changes, like role passwords, are safe). */
  readonly ownsCluster: boolean;
  /** A new empty database; returns its URL. */
  freshDatabase(prefix?: string): Promise<string>;
  /** Drops the databases created and stops the server if we started it. */
  stop(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const cfg = loadConfig();
  const external = cfg.pg.external ? cfg.pg.url : undefined;
  let embedded: ThrowawayPostgres | undefined;
  let adminUrl: string;
  if (external) {
    const u = new URL(external);
    u.pathname = '/postgres';
    adminUrl = u.toString();
  } else {
    embedded = await startThrowawayPostgres();
    adminUrl = embedded.adminUrl;
  }
  const created: string[] = [];
  const withAdmin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    ownsCluster: !external,
    async freshDatabase(prefix = 'pulso_test') {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
      created.push(name);
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      if (embedded) {
        await embedded.stop();
        return;
      }
      await withAdmin(async (c) => {
        for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

/** Runs `sql` as `role` (SET LOCAL ROLE) inside a transaction that is rolled back: a privilege probe that changes nothing. */
export async function runAsRole(client: pg.Client, role: string, sql: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL ROLE ${client.escapeIdentifier(role)}`);
    await client.query(sql);
  } finally {
    await client.query('ROLLBACK');
  }
}
