// Per-transaction counters of the transformer as rows for the `transformer_stats` topic, so that the
// pipeline-health dashboard reads a few pre-aggregated rows per minute from Druid instead of grouping every
// event (or every event id) of the range. Pure.
import type { InputRecord, Outcome } from './transform.ts';

/** One row per (table, kind, type) in one transaction. Druid rolls these up per minute. */
export interface StatsRow {
  /** When the transaction's outcomes were computed (ms precision ISO, UTC). */
  produced_at: string;
  instance: string;
  /** orders / order_items for events; the CDC topic's table for skips and dead letters. */
  table: string;
  kind: 'event' | 'skip' | 'dlq' | 'delta';
  /** event_type for events, the skip reason, the DLQ reason, or the delta topic. */
  type: string;
  count: number;
  /** Over streamed events (snapshot rows excluded): produced_at − commit time. */
  latency_count: number;
  latency_ms_sum: number;
  latency_ms_max: number | null;
  max_source_ts_ms: number | null;
  produced_ms: number;
}

function tableOf(topic: string): string {
  return topic.slice(topic.lastIndexOf('.') + 1);
}

export function statsRows(
  inputs: readonly InputRecord[],
  outcomes: readonly Outcome[],
  instance: string,
  nowMs: number,
): StatsRow[] {
  const rows = new Map<string, StatsRow>();
  const row = (table: string, kind: StatsRow['kind'], type: string): StatsRow => {
    const key = `${table}|${kind}|${type}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        produced_at: new Date(nowMs).toISOString(),
        instance,
        table,
        kind,
        type,
        count: 0,
        latency_count: 0,
        latency_ms_sum: 0,
        latency_ms_max: null,
        max_source_ts_ms: null,
        produced_ms: nowMs,
      };
      rows.set(key, r);
    }
    return r;
  };
  outcomes.forEach((o, i) => {
    if (o.kind === 'event') {
      const r = row(o.table, 'event', o.eventType);
      r.count++;
      if (!o.isSnapshot) {
        const latency = Math.max(0, nowMs - o.sourceTsMs);
        r.latency_count++;
        r.latency_ms_sum += latency;
        r.latency_ms_max = Math.max(r.latency_ms_max ?? 0, latency);
        r.max_source_ts_ms = Math.max(r.max_source_ts_ms ?? 0, o.sourceTsMs);
      }
      for (const d of o.rollup) row(o.table, 'delta', d.topic).count++;
    } else {
      row(tableOf(inputs[i]!.topic), o.kind, o.reason).count++;
    }
  });
  return [...rows.values()];
}
