// npm run bench:generator — sustained orders/s and row changes/s into a local PostgreSQL.
// Uses DATABASE_URL when set (it must be a throwaway database: the bench adds orders to it);
// otherwise starts a disposable embedded PostgreSQL with wal_level=logical (as the stack runs it).
// Two phases, both with a flat demand curve and a speedup that compresses lifecycles to seconds, so
// inserts and lifecycle updates run together in steady state:
//   1. saturation: asks for far more than the machine can do and reports what it sustains;
//   2. target: asks for --target (default 3000) orders/s and reports whether it keeps up.
// Flags: --connections <n> (default 3), --target <orders/s> (default 3000).
// Figures are printed; nothing is asserted.
import { cpus, totalmem } from 'node:os';
import { migrate } from '../sql/migrate.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../stack/throwawayPostgres.ts';
import { createLogger } from '../lib/log.ts';
import { loadConfig } from '../lib/config.ts';
import { numberFlag, parseFlags, runCommand } from '../lib/cliArgs.ts';
import { runGenerator, type GeneratorStats, type GeneratorSummary } from '../generator/writeLoop.ts';
import { PulsoError } from '../lib/errors.ts';

const log = createLogger('bench', 'warn');
const WARMUP_MS = 15_000;
const MEASURE_MS = 30_000;

interface Phase {
  readonly label: string;
  readonly rate: number;
}

async function phase(
  url: string,
  p: Phase,
  connections: number,
): Promise<{
  ordersPerSec: number;
  rowsPerSec: number;
  txPerSec: number;
  behindMs: number;
  summary: GeneratorSummary;
}> {
  let atWarmup: (GeneratorStats & { t: number }) | undefined;
  let last: (GeneratorStats & { t: number }) | undefined;
  const started = Date.now();
  const summary = await runGenerator({
    databaseUrl: url,
    rate: p.rate,
    durationMs: WARMUP_MS + MEASURE_MS,
    drain: false,
    seed: 'bench',
    speedup: 600,
    curve: 'flat',
    connections,
    geocoder: { provider: 'offline' },
    progress: 'off',
    log,
    onProgress: (s) => {
      const t = Date.now() - started;
      if (!atWarmup && s.wallMs >= WARMUP_MS) atWarmup = { ...s, t };
      last = { ...s, t };
    },
  });
  if (!atWarmup || !last) throw new PulsoError('the run ended before the warm-up did');
  const secs = (last.t - atWarmup.t) / 1000;
  const rows = (s: GeneratorStats) => s.rowsInserted + s.rowsUpdated + s.rowsDeleted;
  return {
    ordersPerSec: (last.ordersCreated - atWarmup.ordersCreated) / secs,
    rowsPerSec: (rows(last) - rows(atWarmup)) / secs,
    txPerSec: (last.transactions - atWarmup.transactions) / secs,
    behindMs: last.behindMs,
    summary,
  };
}

async function main(): Promise<void> {
  let pg: ThrowawayPostgres | undefined;
  const { connections, target } = benchArgs();
  const cfg = loadConfig();
  let url = cfg.pg.external ? cfg.pg.url : undefined;
  try {
    if (!url) {
      process.stderr.write('Starting a throwaway PostgreSQL (embedded, wal_level=logical)…\n');
      pg = await startThrowawayPostgres();
      url = await pg.createDatabase('pulso_bench');
    }
    await migrate(url, { log });
    process.stdout.write(
      `Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}\n`,
    );
    process.stdout.write(
      `Generator: ${connections} connections, flat curve, speedup 600 (a lifecycle takes ~4 s), warm-up ${WARMUP_MS / 1000} s, measured ${MEASURE_MS / 1000} s\n\n`,
    );
    for (const p of [
      { label: 'saturation', rate: 20_000 },
      { label: `target ${target}/s`, rate: target },
    ]) {
      const r = await phase(url, p, connections);
      process.stdout.write(
        `${p.label.padEnd(16)} asked ${p.rate.toLocaleString('en-US')}/s → sustained ${Math.round(r.ordersPerSec).toLocaleString('en-US')} orders/s, ` +
          `${Math.round(r.rowsPerSec).toLocaleString('en-US')} row changes/s, ${Math.round(r.txPerSec).toLocaleString('en-US')} tx/s, ` +
          `behind schedule at the end: ${(r.behindMs / 1000).toFixed(1)} s\n`,
      );
    }
  } finally {
    await pg?.stop();
  }
}

const USAGE = 'usage: npm run bench:generator [-- --connections 3 --target 3000]';

function benchArgs(): { connections: number; target: number } {
  const { values } = parseFlags(process.argv.slice(2), {
    connections: { type: 'string', default: '3' },
    target: { type: 'string', default: '3000' },
  });
  return {
    connections: numberFlag('--connections', values.connections, {
      integer: true,
      min: 1,
      max: 32,
      what: 'an integer from 1 to 32',
    }),
    target: numberFlag('--target', values.target, { min: 0, exclusiveMin: true, what: 'orders per second > 0' }),
  };
}

runCommand('bench:generator', USAGE, main);
