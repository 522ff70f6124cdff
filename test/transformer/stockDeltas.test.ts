// Stock rows → signed rows of the inventory datasources: a product's rows sum to PostgreSQL's units through any
// sequence of changes, repeats and snapshots, and the movements (in, out, stock-outs) are counted once.
import { describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../transformer/decode/decodeEnvelope.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import type { StockDeltaRow } from '../../transformer/rollup/stockDeltas.ts';
import { loadConfig } from '../../lib/config.ts';
import { transformerTopics } from '../../lib/names.ts';
import { transformRecord, type InputRecord, type Outcome } from '../../transformer/transform.ts';
import { envelope, loadedDims } from './envelopes.ts';

const topics = transformerTopics(loadConfig({}).topics);
const NOW = 1764284401000;

const stockRow = (units: number, over: Record<string, string> = {}) =>
  JSON.stringify({
    product_id: 3001,
    store_id: 42,
    units,
    reorder_point: 4,
    target_units: 20,
    updated_at: '2025-11-27T23:00:00Z',
    ...over,
  });

let offset = 0;
function rec(value: string | null): InputRecord {
  return {
    topic: topics.cdcStock,
    partition: 0,
    offset: String(offset++),
    key: Buffer.from('{"product_id":3001}'),
    value: value === null ? null : Buffer.from(value),
  };
}

/** Streamed change number n: increasing source positions, one second apart. */
const change = (n: number, op: 'c' | 'u' | 'd', before: number | null, after: number | null) =>
  envelope({
    op,
    table: 'stock_levels',
    before: before === null ? null : stockRow(before),
    after: after === null ? null : stockRow(after),
    commitLsn: 1000 + n * 10,
    lsn: 1000 + n * 10 + 1,
    tsMs: 1764284400000 + n * 1000,
  });

function harness() {
  const dims = loadedDims();
  dims.apply(
    'products',
    decodeEnvelope({
      topic: 'pulso.public.products',
      key: '{"id":3001}',
      value: envelope({ op: 'c', table: 'products', after: '{"id":3001,"store_id":42,"name":"Pão de queijo"}' }),
    }),
  );
  const state = new DedupeState();
  const ledger = new RollupLedger();
  return (records: InputRecord[]): Outcome[] => {
    const batch = state.beginBatch();
    const lb = ledger.beginBatch();
    const out = records.map((r) => transformRecord(r, { dims, dedupe: batch, ledger: lb, topics, nowMs: NOW }));
    state.commit(batch);
    ledger.commit(lb);
    return out;
  };
}

const rows = (outcomes: Outcome[]): StockDeltaRow[] =>
  outcomes.flatMap((o) => (o.kind === 'event' ? o.rollup.map((r) => JSON.parse(r.value) as StockDeltaRow) : []));
const sum = (rs: StockDeltaRow[], k: keyof StockDeltaRow) => rs.reduce((n, r) => n + (r[k] as number), 0);

describe('stock_levels changes → stock deltas', () => {
  it('sums to the current units through reservations, a stock-out, a restock and a repeat', () => {
    const run = harness();
    const all = rows(
      run([
        rec(change(1, 'c', null, 6)),
        rec(change(2, 'u', 6, 3)), // an order reserved 3
        rec(change(3, 'u', 3, 0)), // and another 3: out of stock
        rec(change(3, 'u', 3, 0)), // Debezium repeats a change after a restart: skipped
        rec(change(4, 'u', 0, 20)), // restocked
      ]),
    );
    // Anchored at the row's updated_at when first seen: every later delta of the product lands there too.
    expect(all.every((r) => r.anchored_at === '2025-11-27T23:00:00.000Z')).toBe(true);
    expect(sum(all, 'units')).toBe(20);
    expect(sum(all, 'stock_rows')).toBe(1);
    expect(sum(all, 'out_of_stock_rows')).toBe(0);
    expect(sum(all, 'units_out')).toBe(6);
    expect(sum(all, 'units_in')).toBe(20); // the first sight (6 units) is a count, not a movement
    expect(sum(all, 'stockouts')).toBe(1);
    expect(all[0]).toMatchObject({ product_name: 'Pão de queijo', store_name: 'Padaria Central', country: 'BR' });
  });

  it('counts negative stock as impossible, and a snapshot of the same row adds nothing', () => {
    const run = harness();
    const first = rows(run([rec(change(1, 'c', null, 5)), rec(change(2, 'u', 5, -2))]));
    expect(sum(first, 'units')).toBe(-2);
    expect(sum(first, 'negative_rows')).toBe(1);
    expect(sum(first, 'out_of_stock_rows')).toBe(1);
    // Each row is in its own state's class, so a rollup never merges an ok state's −1 into a negative one's +1.
    expect(first.map((r) => `${r.sign}:${r.stock_state}`)).toEqual(['1:ok', '-1:ok', '1:negative']);
    const snapshot = envelope({ op: 'r', table: 'stock_levels', after: stockRow(-2), snapshot: 'true' });
    expect(rows(run([rec(snapshot)]))).toEqual([]);
  });

  it('retracts a deleted row and a truncated table', () => {
    const run = harness();
    const created = rows(run([rec(change(1, 'c', null, 9))]));
    const deleted = rows(run([rec(change(2, 'd', 9, null))]));
    expect(sum([...created, ...deleted], 'units')).toBe(0);
    expect(sum([...created, ...deleted], 'stock_rows')).toBe(0);
    const again = rows(run([rec(change(3, 'c', null, 4))]));
    const truncate = envelope({ op: 't', table: 'stock_levels', commitLsn: 2000, lsn: 2001 });
    const truncated = rows(run([rec(truncate)]));
    expect(truncated).toHaveLength(1);
    expect(sum([...again, ...truncated], 'units')).toBe(0);
  });
});
