// CDC replay: REAL envelopes recorded from the running stack (npm run record:fixtures) go through the pure
// decode/flatten functions and must match the golden outputs in test/fixtures/cdc/*.golden.json.
// Goldens are rewritten only with an explicit flag: UPDATE_GOLDEN=1 npx vitest run test/transformer/replay.test.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../../lib/config.ts';
import { decodeEnvelope, UNAVAILABLE_PLACEHOLDER, type ChangeRecord } from '../../transformer/decode/decodeEnvelope.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { DimensionTables, type DimensionTable } from '../../transformer/dimensions.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import { transformerTopics } from '../../lib/names.ts';
import { transformRecord, type Outcome } from '../../transformer/transform.ts';
import type { FixtureRecord } from '../../lib/fixtureRecord.ts';

const DIR = resolve(PROJECT_ROOT, 'test/fixtures/cdc');
const UPDATE = loadConfig().test.updateGolden;

const load = (name: string) =>
  (JSON.parse(readFileSync(resolve(DIR, `${name}.json`), 'utf8')) as { records: FixtureRecord[] }).records;
const input = (r: FixtureRecord) => ({
  topic: r.topic,
  partition: r.partition,
  offset: r.offset,
  key: r.key === null ? null : Buffer.from(r.key),
  value: r.value === null ? null : Buffer.from(r.value),
});

function golden(name: string, actual: unknown): void {
  const file = resolve(DIR, `${name}.golden.json`);
  if (UPDATE || !existsSync(file)) {
    if (!UPDATE) throw new Error(`${file} is missing: create it with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
  }
  expect(actual).toEqual(JSON.parse(readFileSync(file, 'utf8')));
}

function applyDimension(dims: DimensionTables, r: FixtureRecord): void {
  const table = r.topic.split('.').pop() as DimensionTable;
  dims.apply(table, decodeEnvelope({ topic: r.topic, key: r.key, value: r.value }));
}

/** Dimension tables as the transformer has them when the order arrives: snapshot + the store's c/u. */
function dimensionsBeforeOrders(): DimensionTables {
  const dims = new DimensionTables();
  for (const r of load('dimensions-snapshot')) applyDimension(dims, r);
  for (const r of load('stores-toast').slice(0, 2)) applyDimension(dims, r);
  return dims;
}

function replay(
  records: FixtureRecord[],
  dims: DimensionTables,
  state = new DedupeState(),
  ledger = new RollupLedger(),
): unknown[] {
  const batch = state.beginBatch();
  const ledgerBatch = ledger.beginBatch();
  const topics = transformerTopics(loadConfig({}).topics);
  const outcomes: Outcome[] = records.map((r) =>
    transformRecord(input(r), { dims, dedupe: batch, ledger: ledgerBatch, topics, nowMs: 0 }),
  );
  state.commit(batch);
  ledger.commit(ledgerBatch);
  return outcomes.map((o, i) => ({
    source: `${records[i]!.topic}/${records[i]!.partition}@${records[i]!.offset}`,
    ...(o.kind === 'event'
      ? {
          kind: 'event',
          outputs: o.outputs.map((out) => ({
            topic: out.topic,
            key: out.key,
            value: JSON.parse(out.value) as unknown,
          })),
        }
      : o),
  }));
}

describe('replay of recorded Debezium envelopes', () => {
  it('orders lifecycle (id past 2^53, cents, timestamptz(6), ADD COLUMN, incremental snapshot, delete + tombstone) matches golden', () => {
    const records = load('orders-lifecycle');
    const out = replay(records, dimensionsBeforeOrders());
    golden('orders-lifecycle', out);
    // Invariants worth stating outright, independent of the golden file:
    const events = out.flatMap((o) =>
      ((o as { outputs?: { value: Record<string, unknown> }[] }).outputs ?? []).map((x) => x.value),
    );
    expect(events.map((e) => e.event_type)).toEqual([
      'created',
      'status_changed',
      'paid',
      'status_changed',
      'status_changed',
      'status_changed',
      'updated',
      'refunded',
      'snapshot',
      'deleted',
    ]);
    expect(new Set(events.map((e) => e.order_id))).toEqual(new Set(['9007199254740993']));
    expect(events.every((e) => e.total_cents === 7925 && e.subtotal_cents === 5997 && e.discount_cents === 1)).toBe(
      true,
    );
    expect(events.every((e) => e.store_name === 'Fixture Padaria')).toBe(true);
    expect(events.filter((e) => 'fixture_promised_at' in e).length).toBeGreaterThan(0); // column added while running
    expect(JSON.stringify(events)).not.toContain(UNAVAILABLE_PLACEHOLDER);
    expect(out.at(-1)).toMatchObject({ kind: 'skip', reason: 'tombstone' });
  });

  it('signed rollup rows of the recorded lifecycle match golden: one order at a time, gone after its delete', () => {
    const ledger = new RollupLedger();
    const state = new DedupeState();
    const batch = state.beginBatch();
    const ledgerBatch = ledger.beginBatch();
    const topics = transformerTopics(loadConfig({}).topics);
    const dims = dimensionsBeforeOrders();
    const records = [...load('orders-lifecycle'), ...load('order-items')];
    const rollup = records.flatMap((r) => {
      const o = transformRecord(input(r), { dims, dedupe: batch, ledger: ledgerBatch, topics, nowMs: 0 });
      return o.kind === 'event'
        ? o.rollup.map((x) => ({
            source: `${r.topic}/${r.partition}@${r.offset}`,
            topic: x.topic,
            key: x.key,
            value: JSON.parse(x.value) as Record<string, number | string>,
          }))
        : [];
    });
    golden('orders-lifecycle.rollup', rollup);
    const orderRows = rollup.filter((r) => r.topic === topics.orderDeltas).map((r) => r.value);
    // Running sum of `orders` never leaves 0..1, and ends at 0 after the delete; cents likewise.
    let open = 0;
    for (const r of orderRows) {
      open += r.orders as number;
      expect(open === 0 || open === 1).toBe(true);
    }
    expect(open).toBe(0);
    expect(orderRows.reduce((a, r) => a + (r.total_cents as number), 0)).toBe(0);
    // The incremental snapshot of the live order re-read the state already asserted: no rows for it.
    const sources = new Set(rollup.map((r) => r.source));
    const snapshotSources = records
      .filter((r) => r.value?.includes('"snapshot":"incremental"') && r.topic.endsWith('.orders'))
      .map((r) => `${r.topic}/${r.partition}@${r.offset}`);
    expect(snapshotSources.length).toBeGreaterThan(0);
    for (const s of snapshotSources) expect(sources.has(s)).toBe(false);
    expect(rollup.filter((r) => r.topic === topics.itemDeltas).reduce((a, r) => a + (r.value.units as number), 0)).toBe(
      0,
    );
  });

  it('order items (cents, incremental snapshot, deletes + tombstones) match golden', () => {
    golden('order-items', replay(load('order-items'), dimensionsBeforeOrders()));
  });

  it('stores: TOASTed description kept across the placeholder update, then deleted', () => {
    const dims = new DimensionTables();
    const records = load('stores-toast');
    const id = /"id":(\d+)/.exec(records[0]!.key!)![1]!;
    applyDimension(dims, records[0]!);
    const description = dims.row('stores', id)!.description as string;
    expect(description.length).toBeGreaterThan(8192);
    const update = decodeEnvelope({
      topic: records[1]!.topic,
      key: records[1]!.key,
      value: records[1]!.value,
    }) as ChangeRecord;
    expect(update.after!.unavailable).toEqual(['description']); // the real connector did send the placeholder
    applyDimension(dims, records[1]!);
    expect(dims.row('stores', id)).toMatchObject({ description, rating: '4.7' });
    applyDimension(dims, records[2]!);
    applyDimension(dims, records[3]!);
    expect(dims.row('stores', id)).toBeUndefined();
  });

  it('replaying the same envelopes again (Debezium repeats) produces nothing new', () => {
    const state = new DedupeState();
    const dims = dimensionsBeforeOrders();
    const records = [...load('orders-lifecycle'), ...load('order-items')];
    const first = replay(records, dims, state);
    const second = replay(records, dims, state) as { kind: string; reason?: string }[];
    expect(first.filter((o) => (o as { kind: string }).kind === 'event').length).toBe(16); // 10 order events + 2 created, 2 snapshot, 2 deleted items
    expect(second.filter((o) => o.kind === 'event')).toEqual([]);
    expect(new Set(second.map((o) => o.reason))).toEqual(new Set(['duplicate', 'snapshot_duplicate', 'tombstone']));
  });

  it('real source positions: commit LSN (sequence[0]) is constant within a transaction and grows across them', () => {
    const changes = [...load('orders-lifecycle'), ...load('order-items')]
      .filter((r) => r.value !== null)
      .map((r) => decodeEnvelope({ topic: r.topic, key: r.key, value: r.value }) as ChangeRecord)
      .filter((c) => !c.isSnapshot);
    const byTx = new Map<string, Set<string | null>>();
    for (const c of changes) byTx.set(c.source.txId!, (byTx.get(c.source.txId!) ?? new Set()).add(c.source.commitLsn));
    for (const [, commits] of byTx) expect(commits.size).toBe(1);
    const orderCommits = changes.filter((c) => c.source.table === 'orders').map((c) => BigInt(c.source.commitLsn!));
    expect(orderCommits).toEqual([...orderCommits].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('heartbeats are skipped, never events', () => {
    const [hb] = load('heartbeat');
    expect(replay([hb!], new DimensionTables())).toEqual([
      { source: `${hb!.topic}/0@${hb!.offset}`, kind: 'skip', reason: 'heartbeat' },
    ]);
  });
});
