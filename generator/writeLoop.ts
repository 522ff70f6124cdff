// The I/O loop: turns the pure event stream into PostgreSQL transactions, open-loop at the asked rate.
// Wall time drives a simulated clock (× speedup); every event due by the simulated "now" is written,
// split into lanes (one connection each) and rounds (one statement = one transaction each). While one
// batch is being written, the next one is generated, so Node and PostgreSQL work in parallel.
import type { RiskPattern } from './riskPatterns.ts';
import { FxRatePublisher } from './fxPublisher.ts';
import { addDays } from './fxRates.ts';
import { loadConfig, redactUrl, withLocalSecrets } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import type pg from 'pg';
import { checkSchema, MIGRATE_COMMAND } from '../sql/migrate.ts';
import { connectWithRetry } from '../lib/postgresClient.ts';
import { createGeocoder } from './geo/geocoder.ts';
import { EventStream, type GenEvent, type MaintenanceRates } from './eventStream.ts';
import { ensureWorld } from './setup.ts';
import { DEFAULT_SCALE, type WorldScale } from './world.ts';
import { LaneWriter, laneOf, planRounds, WRITER_SESSION } from './writer.ts';
import { sleep } from '../lib/poll.ts';
import { PulsoError } from '../lib/errors.ts';

/** Retriable: the migrations may still be running. */
export class SchemaNotReadyError extends PulsoError {
  constructor(
    message: string,
    readonly missing: string[],
  ) {
    super(message, { retriable: true });
  }
}

export interface GeneratorOptions {
  /** Where to write; default: loadConfig().pg.appUrl (the least-privilege pulso_app role). */
  readonly databaseUrl?: string;
  /** Mean orders per wall-clock second (the daily curve moves it up and down around this). */
  readonly rate: number;
  /** Stop placing orders after this many; by default the run then waits for their lifecycles (drain). */
  readonly orders?: number;
  /** Stop after this much wall time. */
  readonly durationMs?: number;
  readonly seed?: string;
  /** Simulated seconds per wall second (lifecycle delays and the daily curve); default 1. */
  readonly speedup?: number;
  /** Simulated start instant; default now (live: now − backfillMs). */
  readonly start?: Date;
  /**
   * 'live': the simulated clock never passes the wall clock. It starts `backfillMs` in the past, runs at
   * `speedup` until it has caught up with the wall clock (the backfill), then follows it in real time: new
   * orders carry the current time and lifecycles advance in real time. `rate` is then orders per second of
   * business time, the same during the backfill and after it. 'simulated' (default): start + wall × speedup,
   * rate per wall second, for offline runs.
   */
  readonly clock?: 'simulated' | 'live';
  /** Live clock only: how much history to write before following the wall clock (default 0). */
  readonly backfillMs?: number;
  readonly curve?: 'daily' | 'flat';
  /** Keep writing lifecycle steps after the last order until every order is finished. */
  readonly drain?: boolean;
  /** Parallel connections (default 3). */
  readonly connections?: number;
  /** Most events in one transaction (default 400). 1 = one transaction per order / status change. */
  readonly maxEventsPerTransaction?: number;
  readonly scale?: WorldScale;
  readonly maintenance?: MaintenanceRates;
  /**
   * Chance that an order arrival starts a suspicious episode (generator/riskPatterns.ts). Default 0 (none): the
   * command line and npm start inject DEFAULT_RISK_SHARE; a test asks for what it checks.
   */
  readonly riskShare?: number;
  readonly geocoder?: { provider: 'offline' | 'openstreetmap'; url?: string };
  readonly signal?: AbortSignal;
  /** 'auto': a live line on a TTY, a plain line every 10 s otherwise. */
  readonly progress?: 'auto' | 'tty' | 'plain' | 'off';
  readonly log?: Logger;
  /** Called about once a second with the running totals. */
  readonly onProgress?: (stats: GeneratorStats) => void;
}

export interface GeneratorStats {
  ordersCreated: number;
  statusChanges: number;
  delivered: number;
  cancelled: number;
  refunded: number;
  paymentsFailed: number;
  /** Orders rejected at acceptance because an item was out of stock (cancel_reason out_of_stock). */
  rejectedOutOfStock: number;
  /** Store restocks (each tops up that store's products at or under their reorder point). */
  restocks: number;
  customerUpdates: number;
  storeUpdates: number;
  priceUpdates: number;
  ordersPurged: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  /** Status changes dropped because their order was gone (deleted or truncated by someone else). */
  ordersVanished: number;
  transactions: number;
  /** Orders placed whose lifecycle is not finished. */
  inLifecycle: number;
  /** How late the writer is against the schedule, in wall ms. */
  behindMs: number;
  /** Lane reconnections after the database went away (restart, crash), and the longest outage. */
  reconnects: number;
  longestOutageMs: number;
  wallMs: number;
  simNow: string;
}

export interface GeneratorSummary extends GeneratorStats {
  readonly stoppedBy: 'orders' | 'duration' | 'signal';
  readonly ordersPerSecond: number;
  readonly rowChangesPerSecond: number;
  readonly worldCreated: boolean;
  readonly seed: string;
  /** What the run injected (generator/riskPatterns.ts), with database ids: what the risk panels should flag. */
  readonly injected: readonly InjectedRiskRow[];
}

export interface InjectedRiskRow {
  readonly pattern: RiskPattern;
  readonly customerId: string | null;
  readonly storeId: string | null;
  readonly startedAt: string | null;
}

/** A pause that an abort ends early (without throwing: the loop then sees the signal and stops). */
const pause = (ms: number, signal?: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

function count(stats: GeneratorStats, ev: GenEvent): void {
  switch (ev.kind) {
    case 'create':
      stats.ordersCreated++;
      break;
    case 'step':
      if (ev.from.status !== ev.to.status) stats.statusChanges++;
      if (ev.to.status === 'delivered' && ev.from.status !== 'delivered') stats.delivered++;
      if (ev.to.status === 'cancelled' && ev.from.status !== 'cancelled') stats.cancelled++;
      if (ev.to.paymentStatus === 'refunded' && ev.from.paymentStatus !== 'refunded') stats.refunded++;
      if (ev.to.paymentStatus === 'failed' && ev.from.paymentStatus !== 'failed') stats.paymentsFailed++;
      if (ev.cancelReason === 'out_of_stock') stats.rejectedOutOfStock++;
      break;
    case 'restock':
      stats.restocks++;
      break;
    case 'customer_update':
      stats.customerUpdates++;
      break;
    case 'store_update':
      stats.storeUpdates++;
      break;
    case 'price_update':
      stats.priceUpdates++;
      break;
    case 'purge':
      stats.ordersPurged++;
      break;
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatProgress(s: GeneratorStats, ratePerSec: number, rowsPerSec: number): string {
  return (
    `sim ${s.simNow.slice(0, 16).replace('T', ' ')}Z · ${fmt(ratePerSec)} orders/s · ${fmt(rowsPerSec)} rows/s · ` +
    `orders ${fmt(s.ordersCreated)} (delivered ${fmt(s.delivered)}, cancelled ${fmt(s.cancelled)}, refunded ${fmt(s.refunded)}) · ` +
    `in lifecycle ${fmt(s.inLifecycle)} · tx ${fmt(s.transactions)}` +
    (s.behindMs > 1000 ? ` · behind ${(s.behindMs / 1000).toFixed(1)}s` : '')
  );
}

function emptyStats(startMs: number): GeneratorStats {
  return {
    ordersCreated: 0,
    statusChanges: 0,
    delivered: 0,
    cancelled: 0,
    refunded: 0,
    paymentsFailed: 0,
    rejectedOutOfStock: 0,
    restocks: 0,
    customerUpdates: 0,
    storeUpdates: 0,
    priceUpdates: 0,
    ordersPurged: 0,
    rowsInserted: 0,
    rowsUpdated: 0,
    rowsDeleted: 0,
    ordersVanished: 0,
    transactions: 0,
    inLifecycle: 0,
    behindMs: 0,
    wallMs: 0,
    reconnects: 0,
    longestOutageMs: 0,
    simNow: new Date(startMs).toISOString(),
  };
}

/** One lane per connection; a PostgreSQL restart or crash is waited out (about 3 minutes), then work goes on. */
function openLanes(clients: pg.Client[], databaseUrl: string, log: Logger, stats: GeneratorStats): LaneWriter[] {
  return clients.map(
    (c, i) =>
      new LaneWriter(c, {
        reconnect: () =>
          connectWithRetry(databaseUrl, {
            log,
            applicationName: `pulso-generator-${i}`,
            attempts: 40,
            sessionSettings: WRITER_SESSION,
          }),
        log,
        onReconnect: (outageMs) => {
          stats.reconnects++;
          stats.longestOutageMs = Math.max(stats.longestOutageMs, outageMs);
        },
      }),
  );
}

/** Writes a batch of events: split by lane (an order's events stay on one), each lane in rounds of transactions. */
function batchWriter(lanes: LaneWriter[], maxPerTx: number, stats: GeneratorStats, log: Logger, fx: FxRatePublisher) {
  return async (events: GenEvent[]): Promise<void> => {
    // The rates of the batch's business dates (and the day after) exist before any of its orders.
    await fx.ensure(new Set(events.flatMap((ev) => (ev.kind === 'create' ? [ev.order.businessDate] : []))));
    const perLane: GenEvent[][] = lanes.map(() => []);
    for (const ev of events) perLane[laneOf(ev, lanes.length)]!.push(ev);
    await Promise.all(
      lanes.map(async (lane, i) => {
        for (const round of planRounds(perLane[i]!, maxPerTx)) {
          const c = await lane.apply(round);
          stats.rowsInserted += c.inserted;
          stats.rowsUpdated += c.updated;
          stats.rowsDeleted += c.deleted;
          if (c.vanished > 0 && stats.ordersVanished === 0)
            log.warn(
              'orders this run placed are gone from the database (deleted or truncated by someone else): their lifecycles end here',
              { orders: c.vanished },
            );
          stats.ordersVanished += c.vanished;
          stats.transactions++;
        }
      }),
    );
    for (const ev of events) count(stats, ev);
  };
}

/** Progress: a live line on a TTY, a plain periodic line otherwise, and the caller's callback once a second. */
function progressReporter(opts: GeneratorOptions, stats: GeneratorStats) {
  const mode = opts.progress ?? 'auto';
  const tty = mode !== 'off' && (mode === 'tty' || (mode === 'auto' && process.stderr.isTTY === true));
  const printEveryMs = tty ? 1000 : 10_000;
  let lastPrint = { at: Date.now(), orders: 0, rows: 0 };
  let lastCallback = Date.now();
  const report = (force = false) => {
    const now = Date.now();
    if (opts.onProgress && now - lastCallback >= 1000) {
      lastCallback = now;
      opts.onProgress({ ...stats });
    }
    if (mode === 'off' || (!force && now - lastPrint.at < printEveryMs)) return;
    const secs = Math.max(0.001, (now - lastPrint.at) / 1000);
    const rows = stats.rowsInserted + stats.rowsUpdated + stats.rowsDeleted;
    const line = formatProgress(stats, (stats.ordersCreated - lastPrint.orders) / secs, (rows - lastPrint.rows) / secs);
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    lastPrint = { at: now, orders: stats.ordersCreated, rows };
  };
  return { report, tty };
}

interface LoopParts {
  readonly opts: GeneratorOptions;
  readonly stream: EventStream;
  readonly simClock: (wallNow: number, wallStart: number) => number;
  readonly writeBatch: (events: GenEvent[]) => Promise<void>;
  readonly report: () => void;
  readonly stats: GeneratorStats;
  readonly live: boolean;
  readonly speedup: number;
  readonly drain: boolean;
  readonly maxEventsPerBatch: number;
}

/**
 * Open loop: every event due by the simulated "now" is written; while one batch is written the next one is
 * generated. Ends on the signal, the duration (then drains if asked) or an exhausted stream.
 */
async function writeUntilDone(l: LoopParts, wallStart: number): Promise<GeneratorSummary['stoppedBy']> {
  const { opts, stream, stats } = l;
  let stoppedBy: GeneratorSummary['stoppedBy'] = 'orders';
  let inflight: Promise<void> | undefined;
  for (;;) {
    if (opts.signal?.aborted) {
      stoppedBy = 'signal';
      break;
    }
    const wallNow = Date.now();
    if (opts.durationMs !== undefined && wallNow - wallStart >= opts.durationMs) {
      stoppedBy = 'duration';
      if (!l.drain) break;
      stream.stopArrivals();
    }
    const simTarget = l.simClock(wallNow, wallStart);
    const events = stream.take(simTarget, l.maxEventsPerBatch);
    if (inflight) await inflight;
    stats.inLifecycle = stream.inLifecycle;
    stats.wallMs = Date.now() - wallStart;
    stats.simNow = new Date(events.length ? events[events.length - 1]!.atMs : simTarget).toISOString();
    const nextAt = stream.peekTime();
    stats.behindMs = nextAt < simTarget ? (simTarget - nextAt) / l.speedup : 0;
    l.report();
    if (events.length) {
      inflight = l.writeBatch(events);
      continue;
    }
    inflight = undefined;
    if (stream.exhausted) break;
    // Nothing due: sleep until the next event is due (at most 50 ms, to stay responsive).
    const dueInWallMs = (nextAt - simTarget) / (l.live && simTarget >= wallNow ? 1 : l.speedup);
    await pause(Math.max(1, Math.min(50, dueInWallMs)), opts.signal);
  }
  if (inflight) await inflight; // finish the transactions in progress; nothing is left half-written
  return stoppedBy;
}

/** All lanes first, so a wrong URL or a missing schema fails before any work. */
async function connectLanes(databaseUrl: string, connections: number, log: Logger, clients: pg.Client[]) {
  for (let i = 0; i < connections; i++)
    clients.push(
      await connectWithRetry(databaseUrl, {
        log,
        applicationName: `pulso-generator-${i}`,
        sessionSettings: WRITER_SESSION,
      }),
    );
  const schema = await checkSchema(databaseUrl);
  if (!schema.ok)
    throw new SchemaNotReadyError(`${schema.hint} (missing: ${schema.missing.join(', ')})`, schema.missing);
  // Commits stay synchronous (the server default): an acknowledged round is durable, so after a server
  // crash the only round whose fate is unknown is the one in flight, and the lane looks it up (writer.ts).
}

export async function runGenerator(opts: GeneratorOptions): Promise<GeneratorSummary> {
  const log = opts.log ?? createLogger('generator');
  const cfg = opts.databaseUrl && opts.geocoder ? undefined : loadConfig();
  const databaseUrl = opts.databaseUrl ?? withLocalSecrets(cfg!).pg.appUrl;
  const seed = opts.seed ?? 'pulso';
  const speedup = opts.speedup ?? 1;
  const connections = opts.connections ?? 3;
  const maxPerTx = opts.maxEventsPerTransaction ?? 400;
  if (!(opts.rate > 0)) throw new RangeError('rate must be > 0 orders/s');
  if (!(speedup > 0)) throw new RangeError('speedup must be > 0');
  const clients: pg.Client[] = [];
  const lanes: LaneWriter[] = [];
  try {
    await connectLanes(databaseUrl, connections, log, clients);
    const geo = opts.geocoder ?? cfg!.geocoder;
    const geocoder = createGeocoder({ provider: geo.provider, url: geo.url, cache: clients[0], log });
    const live = opts.clock === 'live';
    const startMs = live ? Date.now() - (opts.backfillMs ?? 0) : (opts.start ?? new Date()).getTime();
    const scale = opts.scale ?? DEFAULT_SCALE;
    const { world, created: worldCreated } = await ensureWorld(clients[0]!, { seed, scale, geocoder, startMs, log });
    // Rates from the day before the start: every market's local date at the start is the UTC date or the one before.
    const fx = await FxRatePublisher.open(clients[0]!, log);
    const startDate = new Date(startMs).toISOString().slice(0, 10);
    await fx.ensure([addDays(startDate, -1), startDate]);
    const stream = new EventStream(world, {
      seed,
      startMs,
      ordersPerSimSecond: live ? opts.rate : opts.rate / speedup,
      curve: opts.curve ?? 'daily',
      maxOrders: opts.orders,
      maintenance: opts.maintenance,
      riskShare: opts.riskShare ?? 0,
    });
    const stats = emptyStats(startMs);
    lanes.push(...openLanes(clients, databaseUrl, log, stats));
    const { report, tty } = progressReporter(opts, stats);
    const wallStart = Date.now();
    const stoppedBy = await writeUntilDone(
      {
        opts,
        stream,
        simClock: liveClock(live, startMs, speedup),
        writeBatch: batchWriter(lanes, maxPerTx, stats, log, fx),
        report,
        stats,
        live,
        speedup,
        drain: opts.drain ?? opts.orders !== undefined,
        maxEventsPerBatch: Math.max(2000, maxPerTx * connections * 6),
      },
      wallStart,
    );
    stats.inLifecycle = stream.inLifecycle;
    stats.wallMs = Date.now() - wallStart;
    report(true);
    if (tty) process.stderr.write('\n');
    const secs = Math.max(0.001, stats.wallMs / 1000);
    const rowChanges = stats.rowsInserted + stats.rowsUpdated + stats.rowsDeleted;
    const rates = { ordersPerSecond: stats.ordersCreated / secs, rowChangesPerSecond: rowChanges / secs };
    const injected = stream.risk.injected.map((r) => ({
      pattern: r.pattern,
      customerId: r.customer?.dbId || null,
      storeId: r.pattern === 'store_cancellations' ? r.store!.dbId : null,
      startedAt: r.atMs ? new Date(r.atMs).toISOString() : null,
    }));
    return { ...stats, stoppedBy, ...rates, worldCreated, seed, injected };
  } catch (err) {
    if (err instanceof SchemaNotReadyError) throw err;
    if ((err as Error).name === 'DatabaseUnreachableError') throw err;
    const message = `generator failed against ${redactUrl(databaseUrl)}: ${(err as Error).message}`;
    throw new PulsoError(message, { cause: err });
  } finally {
    await Promise.all([...clients, ...lanes.map((l) => l.client)].map((c) => c.end().catch(() => undefined)));
  }
}

/**
 * The simulated "now" for a wall instant. Simulated: start + elapsed × speedup. Live: the same until it
 * reaches the wall clock, then the wall clock itself: min(start + elapsed × speedup, wall). Monotonic and
 * continuous, so no event is ever written twice or skipped at the hand-over.
 */
export function liveClock(
  live: boolean,
  startMs: number,
  speedup: number,
): (wallNow: number, wallStart: number) => number {
  return (wallNow, wallStart) => {
    const sim = startMs + (wallNow - wallStart) * speedup;
    return live ? Math.min(sim, wallNow) : sim;
  };
}

export { MIGRATE_COMMAND };
