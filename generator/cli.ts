// npm run generate -- --rate <orders/s> [--orders N | --duration 10m] [--seed S] [--speedup X] …
import { DEFAULT_RISK_SHARE } from './eventStream.ts';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { numberFlag, parseFlags, UsageError } from '../lib/cliArgs.ts';
import { runGenerator, type GeneratorOptions, type GeneratorSummary } from './writeLoop.ts';

export { UsageError };

export const USAGE = `Usage: npm run generate -- --rate <orders/s> [--orders <N> | --duration <time>] [options]

  --rate <n>          mean orders per second, > 0 (required); the daily curve moves it around this
  --orders <n>        place n orders (integer ≥ 1), then finish their lifecycles and stop (injected episodes'
                      orders come on top)
  --duration <time>   run this long: 90s, 10m, 2h, 1h30m (default: until Ctrl-C)
  --seed <s>          seed for a reproducible run (default: pulso)
  --speedup <x>       simulated seconds per real second, > 0 (default 1); 60 = an hour a minute
  --start <iso>       simulated start instant, e.g. 2025-03-14T11:00:00-03:00 (default: now)
  --curve <c>         daily | flat (default daily: lunch and dinner peaks, weekends)
  --connections <n>   parallel PostgreSQL connections, 1–32 (default 3)
  --batch <n>         most events per transaction, 1–5000 (default 400; 1 = one transaction per change)
  --no-drain          with --orders: stop as soon as the last order is placed
  --stores <n>        stores to create on an empty database (default 1200)
  --customers <n>     customers to create on an empty database (default 20000)
  --risk-share <p>    chance that an order arrival starts a suspicious episode (card testing, refund abuse, a new
                      account's high tickets), 0–0.2 (default 0.0005); a few stores misbehave too; 0 = none
  --help              this text

Environment: DATABASE_URL (or the embedded PostgreSQL), GEOCODER_PROVIDER=offline|openstreetmap, GEOCODER_URL.`;

export interface CliOptions extends Omit<GeneratorOptions, 'signal' | 'log' | 'databaseUrl'> {
  readonly help?: boolean;
}

/** "90s" / "10m" / "2h" / "1h30m" / "1500ms" → ms. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    total += Number(m[1]) * unit;
    matched = re.lastIndex;
  }
  if (!text || matched !== text.length || total <= 0) {
    throw new UsageError(`--duration ${JSON.stringify(text)} is not a duration: use e.g. 90s, 10m, 2h or 1h30m.`);
  }
  return Math.round(total);
}

const FLAGS = {
  rate: { type: 'string' },
  orders: { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  speedup: { type: 'string' },
  start: { type: 'string' },
  curve: { type: 'string' },
  connections: { type: 'string' },
  batch: { type: 'string' },
  'no-drain': { type: 'boolean' },
  stores: { type: 'string' },
  customers: { type: 'string' },
  'risk-share': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type FlagValues = ReturnType<typeof parseFlags<typeof FLAGS>>['values'];

/** How much and how fast: --rate, --orders, --duration, --speedup, --start, --seed, --curve. */
function loadFlags(v: FlagValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (v.rate === undefined)
    throw new UsageError('--rate is required: the mean number of orders per second, e.g. --rate 50.');
  out.rate = numberFlag('--rate', v.rate, {
    min: 0,
    exclusiveMin: true,
    max: 1_000_000,
    what: 'a number of orders per second > 0',
  });
  if (v.orders !== undefined)
    out.orders = numberFlag('--orders', v.orders, { integer: true, min: 1, what: 'an integer ≥ 1' });
  if (v.duration !== undefined) out.durationMs = parseDuration(v.duration);
  if (v.seed !== undefined) {
    if (!v.seed) throw new UsageError('--seed needs a value (any text or number).');
    out.seed = v.seed;
  }
  if (v.speedup !== undefined)
    out.speedup = numberFlag('--speedup', v.speedup, {
      min: 0,
      exclusiveMin: true,
      max: 1_000_000,
      what: 'a number > 0 (1 = real time, 60 = an hour a minute)',
    });
  if (v.start !== undefined) {
    const d = Date.parse(v.start);
    if (Number.isNaN(d))
      throw new UsageError(
        `--start ${JSON.stringify(v.start)} is not a date: use ISO-8601, e.g. 2025-03-14T11:00:00-03:00.`,
      );
    out.start = new Date(d);
  }
  if (v.curve !== undefined) {
    if (v.curve !== 'daily' && v.curve !== 'flat')
      throw new UsageError(`--curve ${JSON.stringify(v.curve)} is not valid: expected daily or flat.`);
    out.curve = v.curve;
  }
  return out;
}

/** How it writes and what world: --connections, --batch, --no-drain, --stores, --customers. */
function writerFlags(v: FlagValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (v.connections !== undefined)
    out.connections = numberFlag('--connections', v.connections, {
      integer: true,
      min: 1,
      max: 32,
      what: 'an integer from 1 to 32',
    });
  if (v.batch !== undefined)
    out.maxEventsPerTransaction = numberFlag('--batch', v.batch, {
      integer: true,
      min: 1,
      max: 5000,
      what: 'an integer from 1 to 5000',
    });
  if (v['no-drain']) out.drain = false;
  out.riskShare =
    v['risk-share'] === undefined
      ? DEFAULT_RISK_SHARE
      : numberFlag('--risk-share', v['risk-share'], { min: 0, max: 0.2, what: 'a share from 0 to 0.2' });
  const stores =
    v.stores === undefined
      ? undefined
      : numberFlag('--stores', v.stores, {
          integer: true,
          min: 10,
          max: 1_000_000,
          what: 'an integer from 10 to 1000000',
        });
  const customers =
    v.customers === undefined
      ? undefined
      : numberFlag('--customers', v.customers, {
          integer: true,
          min: 100,
          max: 10_000_000,
          what: 'an integer from 100 to 10000000',
        });
  if (stores !== undefined || customers !== undefined)
    out.scale = { stores: stores ?? 1200, customers: customers ?? 20_000 };
  return out;
}

export function parseGeneratorArgs(argv: readonly string[]): CliOptions {
  const { values: v } = parseFlags(argv, FLAGS);
  if (v.help) return { rate: 1, help: true };
  const load = loadFlags(v);
  const writer = writerFlags(v);
  if (load.orders !== undefined && load.durationMs !== undefined)
    throw new UsageError('Use either --orders or --duration, not both.');
  const speedup = load.speedup as number | undefined;
  if (speedup !== undefined && speedup > 1 && load.start === undefined) {
    throw new UsageError(
      `--speedup ${speedup} without --start would write timestamps in the future: the simulated clock would start now and run ` +
        `${speedup}× faster than the wall clock. For an offline run give a --start in the past (e.g. --start 2025-03-14T11:00:00Z); ` +
        'for a live view use npm start, which backfills history at speed and then follows the wall clock.',
    );
  }
  return { ...load, ...writer } as unknown as CliOptions;
}

/** Counts per injected pattern, and the ids to look up (customers, stores). */
function injectedSummary(s: GeneratorSummary): string {
  if (!s.injected.length) return 'none';
  const by = new Map<string, string[]>();
  for (const r of s.injected) by.set(r.pattern, [...(by.get(r.pattern) ?? []), r.customerId ?? `store ${r.storeId}`]);
  return [...by]
    .map(([p, ids]) => `${p} ${ids.length} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})`)
    .join('; ');
}

export function formatSummary(s: GeneratorSummary): string {
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  return [
    `Stopped by ${s.stoppedBy} after ${(s.wallMs / 1000).toFixed(1)} s (seed ${s.seed}${s.worldCreated ? ', marketplace created' : ''}).`,
    `  orders placed     ${f(s.ordersCreated)}  (${s.ordersPerSecond.toFixed(1)}/s)`,
    `  status changes    ${f(s.statusChanges)}  delivered ${f(s.delivered)}, cancelled ${f(s.cancelled)}, refunded ${f(s.refunded)}, payments failed ${f(s.paymentsFailed)}`,
    `  still in lifecycle ${f(s.inLifecycle)}`,
    `  inventory         ${f(s.rejectedOutOfStock)} orders rejected out of stock, ${f(s.restocks)} store restocks`,
    `  injected risk     ${injectedSummary(s)}`,
    `  other changes     customers ${f(s.customerUpdates)}, stores ${f(s.storeUpdates)}, prices ${f(s.priceUpdates)}, orders purged ${f(s.ordersPurged)}`,
    `  rows              +${f(s.rowsInserted)} ~${f(s.rowsUpdated)} -${f(s.rowsDeleted)}  (${f(s.rowChangesPerSecond)}/s) in ${f(s.transactions)} transactions`,
  ].join('\n');
}

async function main(): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseGeneratorArgs(process.argv.slice(2));
    loadConfig(); // validate the environment before starting
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (cli.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\n${sig}: finishing the transactions in progress…\n`);
      controller.abort();
    } else {
      process.stderr.write(`${sig} again: exiting now (open transactions roll back).\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { help: _help, ...opts } = cli;
  const summary = await runGenerator({ ...opts, signal: controller.signal, log: createLogger('generator') });
  process.stdout.write(`${formatSummary(summary)}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
