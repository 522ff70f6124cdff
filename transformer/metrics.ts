// Counters the transformer serves at /metrics (JSON) for `npm run status` and the live view.
import { createServer, type Server } from 'node:http';

/** Latency samples kept for percentiles: a ring of recent values is enough for a live view. */
const LATENCY_WINDOW = 2048;

export interface MetricsSnapshot {
  readonly status: string;
  readonly instance: string;
  readonly group_id: string;
  readonly transactional_id: string;
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
  readonly latency_ms: { readonly count: number; readonly last: number | null; readonly p50: number | null; readonly p95: number | null; readonly max: number | null };
  readonly dimensions: Record<string, number>;
  readonly dedupe: { readonly watermarks: number; readonly snapshotRows: number };
  /** Rows asserted in the rollup (ledger entries), and before images that disagreed with the ledger. */
  readonly rollup: { readonly ledger_rows: number; readonly ledger_mismatches: number };
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
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
  private readonly lag = new Map<string, number>();
  private readonly latencies: number[] = [];
  private latencyCount = 0;
  private lastLatency: number | null = null;
  private ledgerMismatches = 0;

  constructor(
    private readonly ids: { instance: string; groupId: string; transactionalId: string },
    private readonly extra: () => { dimensions: Record<string, number>; dedupe: { watermarks: number; snapshotRows: number }; ledgerRows: number },
  ) {}

  /** Applies the tallies of one committed transaction. */
  recordBatch(b: {
    consumed: number;
    produced: Map<string, number>;
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
    }
    this.committed++;
  }

  recordAbort(): void {
    this.aborted++;
  }

  setLag(topic: string, partition: number, lag: number): void {
    this.lag.set(`${topic}/${partition}`, lag);
  }

  snapshot(): MetricsSnapshot {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : null);
    const extra = this.extra();
    return {
      status: this.status,
      instance: this.ids.instance,
      group_id: this.ids.groupId,
      transactional_id: this.ids.transactionalId,
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
      latency_ms: { count: this.latencyCount, last: this.lastLatency, p50: pct(0.5), p95: pct(0.95), max: sorted.length ? sorted[sorted.length - 1]! : null },
      dimensions: extra.dimensions,
      dedupe: extra.dedupe,
      rollup: { ledger_rows: extra.ledgerRows, ledger_mismatches: this.ledgerMismatches },
    };
  }
}

/** GET /metrics → snapshot JSON; GET /health → {status}, HTTP 200 only while running. Loopback only. */
export function serveMetrics(metrics: TransformerMetrics, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/metrics') send(200, metrics.snapshot());
    else if (req.url === '/health') send(metrics.status === 'running' ? 200 : 503, { status: metrics.status });
    else send(404, { error: 'not found', paths: ['/metrics', '/health'] });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
