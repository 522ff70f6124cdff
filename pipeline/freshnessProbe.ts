// Commit → queryable freshness, measured: the newest PostgreSQL commit time (source_ts_ms) Druid serves, seen as
// soon as it appears, against the clock. Used by the pipeline exporter (a Prometheus histogram) and by the live
// view of `npm start`.
import type { PulsoConfig } from '../lib/config.ts';
import { queryDruidSql } from '../lib/druidClient.ts';

export class FreshnessProbe {
  private lastMax = Date.now();
  private recent: number[] = [];
  latestMs: number | null = null;

  constructor(private readonly cfg: PulsoConfig) {}

  /** Asks Druid for the newest commit; returns the new freshness in ms when a newer commit became queryable. */
  async poll(): Promise<number | undefined> {
    const [row] = await queryDruidSql<{ m: number | null }>(
      this.cfg,
      `SELECT MAX(source_ts_ms) AS m FROM orders WHERE __time >= MILLIS_TO_TIMESTAMP(${this.lastMax - 5000})`,
      {},
      3000,
    );
    const m = row?.m ?? null;
    if (!m || m <= this.lastMax) return undefined;
    this.lastMax = m;
    this.latestMs = Date.now() - m;
    this.recent.push(this.latestMs);
    if (this.recent.length > 50) this.recent.shift();
    return this.latestMs;
  }

  p50(): number | null {
    if (this.recent.length === 0) return null;
    const s = [...this.recent].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  }

  idleForMs(): number {
    return Date.now() - this.lastMax;
  }
}
