// The transformer's counters: Prometheus text at /metrics (prom-client; counters for consumed, produced,
// dead-lettered and skipped records by reason, consumer lag, a commit-latency histogram, process metrics),
// and the same figures as one JSON snapshot at /metrics.json for `npm run status` and the live view.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CrashWatch } from './crashWatch.ts';
import { RestoreProgress } from './restoreProgress.ts';

/** Latency samples kept for percentiles: a ring of recent values is enough for a live view. */
const LATENCY_WINDOW = 2048;

export interface MetricsSnapshot {
  readonly status: string;
  readonly instance: string;
  readonly group_id: string;
  /** One per owned input partition. */
  readonly transactional_ids: string[];
  readonly started_at: string;
  readonly uptime_s: number;
  readonly consumed: number;
  readonly produced: Record<string, number>;
  readonly produced_total: number;
  readonly dead_lettered: number;
  readonly dead_lettered_by_reason: Record<string, number>;
  readonly skipped_by_reason: Record<string, number>;
  readonly transactions: { readonly committed: number; readonly aborted: number };
  readonly consumer_lag: Record<string, number>;
  readonly consumer_lag_total: number;
  /** Source commit (source.ts_ms) → our transaction commit, streaming events only (snapshots are old by nature). */
  readonly latency_ms: {
    readonly count: number;
    readonly last: number | null;
    readonly p50: number | null;
    readonly p95: number | null;
    readonly max: number | null;
  };
  readonly dimensions: Record<string, number>;
  /** The local state store's partitions this instance owns and the records it holds for them (ledger and dedupe). */
  readonly state: { readonly partitions: readonly number[]; readonly rows: number };
  /** Bytes written in committed transactions (all topics, state records included). */
  readonly produced_bytes: number;
  /**
   * Wall time of committed chunks by phase, in ms: transform (decode, map, rollup, serialise), produce (the
   * transaction's produce requests), commit (offsets into the transaction, then the commit). Where a chunk's time went.
   */
  readonly phase_ms: Readonly<Record<TransactionPhase, number>>;
  /** Before images that disagreed with the rollup ledger. */
  readonly rollup: { readonly ledger_mismatches: number };
  /** Consumer crashes kafkajs restarted from: since the last committed transaction, since start, the last error. */
  readonly consumer_crashes: { readonly recent: number; readonly total: number; readonly last_error: string | null };
  /** The state re-read after the last group join: records read of those held, whether it is still going, how long it took. */
  readonly restore: {
    readonly active: boolean;
    readonly read: number;
    readonly total: number;
    readonly ms: number | null;
  };
}

export type TransactionPhase = 'transform' | 'produce' | 'commit';

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** The counters and the latency histogram, registered in this instance's registry. */
function promCounters(registers: Registry[]) {
  return {
    consumed: new Counter({
      name: 'pulso_transformer_consumed_records_total',
      help: 'CDC records consumed and committed',
      registers,
    }),
    produced: new Counter({
      name: 'pulso_transformer_produced_messages_total',
      help: 'Messages produced in committed transactions, by topic',
      labelNames: ['topic'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'pulso_transformer_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers,
    }),
    skipped: new Counter({
      name: 'pulso_transformer_skipped_total',
      help: 'Records deliberately skipped (duplicates, replays, tombstones…), by reason',
      labelNames: ['reason'],
      registers,
    }),
    transactions: new Counter({
      name: 'pulso_transformer_transactions_total',
      help: 'Kafka transactions, by result',
      labelNames: ['result'],
      registers,
    }),
    producedBytes: new Counter({
      name: 'pulso_transformer_produced_bytes_total',
      help: 'Bytes of the messages produced in committed transactions (keys, values, headers)',
      registers,
    }),
    phaseSeconds: new Counter({
      name: 'pulso_transformer_phase_seconds_total',
      help: 'Wall time of committed chunks by phase: transform, produce (requests), commit (offsets and commit)',
      labelNames: ['phase'],
      registers,
    }),
    crashes: new Counter({
      name: 'pulso_transformer_consumer_crashes_total',
      help: 'Consumer crashes that kafkajs restarted from inside the process',
      registers,
    }),
    ledgerMismatches: new Counter({
      name: 'pulso_transformer_ledger_mismatches_total',
      help: 'Before images that disagreed with the rollup ledger',
      registers,
    }),
    latency: new Histogram({
      name: 'pulso_transformer_commit_latency_seconds',
      help: 'Source commit (Debezium source.ts_ms) to our transaction commit, streaming events only',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
  };
}

/** Gauges read when scraped: lag per input partition, up, state rows, the state re-read's progress. */
function registerGauges(m: TransformerMetrics, registers: Registry[]): void {
  new Gauge({
    name: 'pulso_transformer_consumer_lag',
    help: 'Records behind the end of each input partition',
    labelNames: ['topic', 'partition'],
    registers,
    collect() {
      this.reset();
      for (const [key, lag] of m.lag) {
        const cut = key.lastIndexOf('/');
        this.set({ topic: key.slice(0, cut), partition: key.slice(cut + 1) }, lag);
      }
    },
  });
  new Gauge({
    name: 'pulso_transformer_up',
    help: '1 while the transformer is running (consuming), else 0',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      this.set({ status: m.status }, m.status === 'running' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'pulso_transformer_state_rows',
    help: 'Rows held: dimension tables (in memory), the local state store for the owned partitions (ledger and dedupe, on disk)',
    labelNames: ['kind'],
    registers,
    collect() {
      const x = m.extra();
      this.reset();
      for (const [table, n] of Object.entries(x.dimensions)) this.set({ kind: `dimension_${table}` }, n);
      this.set({ kind: 'state_store' }, x.state.rows);
    },
  });
  new Gauge({
    name: 'pulso_transformer_restore_records',
    help: 'The state re-read after the last group join: records read and records to read (while active = 1)',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      const r = m.restore;
      this.set({ kind: 'read' }, r.read);
      this.set({ kind: 'total' }, r.total);
      this.set({ kind: 'active' }, r.active ? 1 : 0);
    },
  });
}

export class TransformerMetrics {
  status: 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' = 'starting';
  private readonly startedAt = Date.now();
  private consumed = 0;
  private readonly produced = new Map<string, number>();
  private readonly deadLettered = new Map<string, number>();
  private readonly skipped = new Map<string, number>();
  private committed = 0;
  private aborted = 0;
  /** Records behind the end, per input partition (`topic/partition`); read by the lag gauge. */
  readonly lag = new Map<string, number>();
  private readonly latencies: number[] = [];
  private latencyCount = 0;
  private lastLatency: number | null = null;
  private ledgerMismatches = 0;
  private producedBytes = 0;
  private readonly phaseMs: Record<TransactionPhase, number> = { transform: 0, produce: 0, commit: 0 };
  readonly crashes = new CrashWatch();
  readonly restore = new RestoreProgress();
  /** Per instance, not prom-client's global registry: tests and benchmarks run several transformers in one process. */
  readonly registry = new Registry();
  private readonly prom: ReturnType<typeof promCounters>;

  constructor(
    private readonly ids: { instance: string; groupId: string; transactionalIds: () => string[] },
    readonly extra: () => { dimensions: Record<string, number>; state: { partitions: number[]; rows: number } },
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ instance: ids.instance });
    collectDefaultMetrics({ register: this.registry, prefix: 'pulso_transformer_' });
    this.prom = promCounters(registers);
    registerGauges(this, registers);
  }

  /** Applies the tallies of one committed transaction. */
  recordBatch(b: {
    consumed: number;
    produced: Map<string, number>;
    bytes: number;
    phasesMs: Readonly<Record<TransactionPhase, number>>;
    deadLettered: Map<string, number>;
    skipped: Map<string, number>;
    latenciesMs: number[];
    ledgerMismatches?: number;
  }): void {
    this.consumed += b.consumed;
    this.ledgerMismatches += b.ledgerMismatches ?? 0;
    for (const [k, v] of b.produced) bump(this.produced, k, v);
    for (const [k, v] of b.deadLettered) bump(this.deadLettered, k, v);
    for (const [k, v] of b.skipped) bump(this.skipped, k, v);
    for (const l of b.latenciesMs) {
      this.latencies[this.latencyCount % LATENCY_WINDOW] = l;
      this.latencyCount++;
      this.lastLatency = l;
      this.prom.latency.observe(l / 1000);
    }
    this.committed++;
    this.producedBytes += b.bytes;
    this.prom.producedBytes.inc(b.bytes);
    for (const [phase, ms] of Object.entries(b.phasesMs) as [TransactionPhase, number][]) {
      this.phaseMs[phase] += ms;
      this.prom.phaseSeconds.inc({ phase }, ms / 1000);
    }
    this.prom.consumed.inc(b.consumed);
    for (const [topic, n] of b.produced) this.prom.produced.inc({ topic }, n);
    for (const [reason, n] of b.deadLettered) this.prom.deadLettered.inc({ reason }, n);
    for (const [reason, n] of b.skipped) this.prom.skipped.inc({ reason }, n);
    this.prom.transactions.inc({ result: 'committed' });
    this.crashes.recordProgress();
    if (b.ledgerMismatches) this.prom.ledgerMismatches.inc(b.ledgerMismatches);
  }

  /** A consumer crash kafkajs restarts from (the process lives on). */
  recordCrash(error: string): void {
    this.crashes.recordCrash(error, Date.now());
    this.prom.crashes.inc();
  }

  /**
   * What /health answers: running, not re-reading its state and not crash-looping is healthy; the status names
   * the state otherwise ("restoring" is busy, not stuck: its progress says which).
   */
  health(): { healthy: boolean; status: string } {
    if (this.status === 'running' && this.crashes.looping(Date.now()))
      return { healthy: false, status: 'crash-looping' };
    if (this.status === 'running' && this.restore.active) return { healthy: false, status: 'restoring' };
    return { healthy: this.status === 'running', status: this.status };
  }

  recordAbort(): void {
    this.aborted++;
    this.prom.transactions.inc({ result: 'aborted' });
  }

  setLag(topic: string, partition: number, lag: number): void {
    this.lag.set(`${topic}/${partition}`, lag);
  }

  snapshot(): MetricsSnapshot {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : null;
    const extra = this.extra();
    const crashes = this.crashes.counts(Date.now());
    return {
      status: this.health().status,
      instance: this.ids.instance,
      group_id: this.ids.groupId,
      transactional_ids: this.ids.transactionalIds(),
      started_at: new Date(this.startedAt).toISOString(),
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      consumed: this.consumed,
      produced: Object.fromEntries(this.produced),
      produced_total: [...this.produced.values()].reduce((a, b) => a + b, 0),
      dead_lettered: [...this.deadLettered.values()].reduce((a, b) => a + b, 0),
      dead_lettered_by_reason: Object.fromEntries(this.deadLettered),
      skipped_by_reason: Object.fromEntries(this.skipped),
      transactions: { committed: this.committed, aborted: this.aborted },
      consumer_lag: Object.fromEntries(this.lag),
      consumer_lag_total: [...this.lag.values()].reduce((a, b) => a + b, 0),
      latency_ms: {
        count: this.latencyCount,
        last: this.lastLatency,
        p50: pct(0.5),
        p95: pct(0.95),
        max: sorted.length ? sorted[sorted.length - 1]! : null,
      },
      dimensions: extra.dimensions,
      state: extra.state,
      produced_bytes: this.producedBytes,
      phase_ms: {
        transform: Math.round(this.phaseMs.transform),
        produce: Math.round(this.phaseMs.produce),
        commit: Math.round(this.phaseMs.commit),
      },
      rollup: { ledger_mismatches: this.ledgerMismatches },
      consumer_crashes: { ...crashes, last_error: this.crashes.lastError },
      restore: this.restore.snapshot(),
    };
  }
}
