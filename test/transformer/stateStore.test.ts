// The transformer's partitioned state: where each record lives (layout, legacy routing), the local LMDB store
// (atomic records + checkpoint, reopened, rebuilt when foreign or corrupt), and the restore plan.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from '../../lib/log.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { endOffsetOf } from '../../transformer/produceChunk.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import { LmdbStateStore, MemoryStateStore, STORE_FORMAT, type StateStore } from '../../transformer/state/localStore.ts';
import { routeLegacyRecord } from '../../transformer/state/migrateLegacyState.ts';
import { batchWrites, planRestore } from '../../transformer/state/restorePartitions.ts';
import {
  inputPartitionOfRow,
  stateLayout,
  statePartitionOf,
  statePartitionsOfTopic,
} from '../../transformer/state/stateLayout.ts';

const layout = stateLayout([
  { topic: 'pulso.public.orders', partitions: 3 },
  { topic: 'pulso.public.order_items', partitions: 3 },
]);
const identity = {
  stateTopic: 'pulso.transformer.state.partitioned',
  groupId: 'pulso-transformer',
  statePartitions: 6,
};

function recordingLog(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'pulso-store-test-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('state layout', () => {
  it('gives each input partition its own state partition: orders first, then order items', () => {
    expect(layout.statePartitions).toBe(6);
    expect([0, 1, 2].map((p) => statePartitionOf(layout, 'pulso.public.orders', p))).toEqual([0, 1, 2]);
    expect([0, 1, 2].map((p) => statePartitionOf(layout, 'pulso.public.order_items', p))).toEqual([3, 4, 5]);
    expect(statePartitionsOfTopic(layout, 'pulso.public.order_items')).toEqual([3, 4, 5]);
    expect(() => statePartitionOf(layout, 'pulso.public.orders', 3)).toThrow(/beyond the 3 partitions/);
    expect(() => statePartitionOf(layout, 'pulso.public.payments', 0)).toThrow(/not an input/);
  });

  it("routes the legacy single-partition records to the partition of the row (murmur2 of Debezium's key) or of the input partition", () => {
    const topics = { cdcOrders: 'pulso.public.orders', cdcOrderItems: 'pulso.public.order_items' };
    const pk = '123456789';
    expect(routeLegacyRecord(layout, topics, `rollup|orders|${pk}`)).toEqual([inputPartitionOfRow(pk, 3)]);
    expect(routeLegacyRecord(layout, topics, `snap|order_items|${pk}`)).toEqual([3 + inputPartitionOfRow(pk, 3)]);
    expect(routeLegacyRecord(layout, topics, 'wm|pulso.public.order_items|2')).toEqual([5]);
    expect(routeLegacyRecord(layout, topics, 'off|pulso.public.orders|1')).toEqual([1]);
    expect(routeLegacyRecord(layout, topics, 'trunc|orders')).toEqual([0, 1, 2]);
    expect(routeLegacyRecord(layout, topics, 'off|pulso.public.orders|7')).toEqual([]); // no such input partition any more
    expect(routeLegacyRecord(layout, topics, 'rollup|payments|1')).toEqual([]);
    // The partitioner spreads keys (a fixed function: the same key, the same partition).
    const spread = new Set(Array.from({ length: 100 }, (_, i) => inputPartitionOfRow(String(i + 1), 3)));
    expect(spread).toEqual(new Set([0, 1, 2]));
    expect(inputPartitionOfRow('42', 3)).toBe(inputPartitionOfRow('42', 3));
  });
});

function contract(name: string, open: () => StateStore) {
  describe(`${name}: the state store contract`, () => {
    it('holds records per partition with a checkpoint written with them; tombstones forget; scans by prefix', () => {
      const store = open();
      store.write(
        0,
        [
          { key: 'rollup|orders|1', value: '{"a":1}' },
          { key: 'off|t|0', value: '{"offset":"9"}' },
        ],
        11n,
      );
      store.write(1, [{ key: 'rollup|orders|1', value: '{"other":true}' }], 4n);
      store.write(
        0,
        [
          { key: 'rollup|orders|2', value: '{"b":2}' },
          { key: 'rollup|orders|1', value: null },
        ],
        14n,
      );
      expect(store.table(0).get('rollup|orders|1')).toBeUndefined();
      expect(store.table(1).get('rollup|orders|1')).toBe('{"other":true}');
      expect([...store.table(0).scan('rollup|')]).toEqual([['rollup|orders|2', '{"b":2}']]);
      expect(store.checkpoint(0)?.offset).toBe(14n);
      expect(store.checkpoint(1)?.offset).toBe(4n);
      expect(store.checkpoint(2)).toBeUndefined();
      expect([store.rows(0), store.rows(1)]).toEqual([2, 1]);
      store.dropPartition(0);
      expect([store.rows(0), store.checkpoint(0), store.table(0).get('rollup|orders|2')]).toEqual([
        0,
        undefined,
        undefined,
      ]);
      expect(store.rows(1)).toBe(1);
    });

    it('is what the dedupe state and the ledger read through', () => {
      const store = open();
      const table = store.table(2);
      const dedupe = new DedupeState(table);
      const batch = dedupe.beginBatch();
      batch.markConsumed('pulso.public.orders', 2, '41');
      store.write(2, batch.stateRecords(), 1n);
      expect(dedupe.isReplayed('pulso.public.orders', 2, '41')).toBe(true);
      expect(new RollupLedger(table).get('orders', '1')).toBeUndefined();
    });
  });
}

contract('memory', () => new MemoryStateStore());
contract('LMDB', () => LmdbStateStore.open(tempDir(), identity, recordingLog()));

describe('the LMDB store across restarts', () => {
  it('reopens with its records and checkpoints', async () => {
    const dir = tempDir();
    const a = LmdbStateStore.open(dir, identity, recordingLog());
    a.write(3, [{ key: 'rollup|order_items|7', value: '{"x":1}' }], 120n);
    await a.close();
    const b = LmdbStateStore.open(dir, identity, recordingLog());
    expect([b.table(3).get('rollup|order_items|7'), b.checkpoint(3)?.offset, b.rows(3)]).toEqual(['{"x":1}', 120n, 1]);
    await b.close();
  });

  it('rebuilds (empty, with a message) a store of another pipeline, layout or format', async () => {
    const dir = tempDir();
    const a = LmdbStateStore.open(dir, identity, recordingLog());
    a.write(0, [{ key: 'off|t|0', value: '{"offset":"1"}' }], 5n);
    await a.close();
    for (const other of [
      { ...identity, groupId: 'replay-job' },
      { ...identity, statePartitions: 4 },
    ]) {
      const log = recordingLog();
      const b = LmdbStateStore.open(dir, other, log);
      expect([b.checkpoint(0), b.rows(0)]).toEqual([undefined, 0]);
      expect(log.lines.map((l) => l.msg)).toEqual([
        'the local state store was written by another version of the transformer or another pipeline; rebuilding it from the state topic',
      ]);
      await b.close();
    }
    expect(STORE_FORMAT).toBeGreaterThanOrEqual(1);
  });

  it('rebuilds a corrupt store with a message instead of failing the start', async () => {
    const dir = tempDir();
    const a = LmdbStateStore.open(dir, identity, recordingLog());
    a.write(0, [{ key: 'off|t|0', value: '{"offset":"1"}' }], 5n);
    await a.close();
    for (const f of readdirSync(dir)) writeFileSync(join(dir, f), Buffer.alloc(8192, 0x5a));
    const log = recordingLog();
    const b = LmdbStateStore.open(dir, identity, log);
    expect([b.checkpoint(0), b.rows(0)]).toEqual([undefined, 0]);
    expect(log.lines.some((l) => l.level === 'warn' && /unreadable; deleting it and rebuilding/.test(l.msg))).toBe(
      true,
    );
    b.write(0, [{ key: 'off|t|0', value: '{"offset":"2"}' }], 6n);
    expect(b.checkpoint(0)?.offset).toBe(6n);
    await b.close();
  });
});

describe('restore plan', () => {
  const now = 1_800_000_000_000;
  const plan = (cp: { offset: bigint; atMs: number } | undefined, low = 0n, high = 1000n) =>
    planRestore({ part: 2, checkpoint: cp, low, high, nowMs: now, maxCheckpointAgeMs: 6 * 86_400_000 });
  it('reads only the tail after a checkpoint it can trust', () => {
    expect(plan({ offset: 990n, atMs: now - 60_000 })).toEqual({ part: 2, from: 990n, rebuild: false });
    expect(plan({ offset: 1000n, atMs: now - 60_000 })).toEqual({ part: 2, from: 1000n, rebuild: false }); // current: reads nothing
  });
  it('rebuilds from the partition start when the checkpoint cannot be trusted, saying why', () => {
    expect(plan(undefined)).toMatchObject({ from: 0n, rebuild: true, reason: 'no local state for this partition' });
    expect(plan({ offset: 5000n, atMs: now })).toMatchObject({
      from: 0n,
      rebuild: true,
      reason: expect.stringMatching(/recreated/),
    });
    expect(plan({ offset: 10n, atMs: now }, 50n)).toMatchObject({
      from: 50n,
      rebuild: true,
      reason: expect.stringMatching(/before the first record/),
    });
    expect(plan({ offset: 990n, atMs: now - 7 * 86_400_000 })).toMatchObject({
      rebuild: true,
      reason: expect.stringMatching(/168 h old.*delete\.retention\.ms/),
    });
  });
  it('keeps readable records of a fetched batch, reports and skips an unreadable one', () => {
    const m = (offset: string, key: string | null, value: string | null) =>
      ({
        offset,
        key: key === null ? null : Buffer.from(key),
        value: value === null ? null : Buffer.from(value),
      }) as KafkaMessage;
    const bad: string[] = [];
    const writes = batchWrites(
      [
        m('7', 'rollup|orders|77', '{"not":"an order"}'),
        m('8', 'wm|t|0', 'not json'),
        m('9', 'off|t|0', '{"offset":"3"}'),
        m('10', 'rollup|orders|1', null),
        m('11', 'other|x', '{}'),
        m('12', null, '{}'),
      ],
      (msg, error) => void bad.push(`${msg.offset}: ${error.slice(0, 40)}`),
    );
    expect(writes).toEqual([
      { key: 'off|t|0', value: '{"offset":"3"}' },
      { key: 'rollup|orders|1', value: null },
    ]);
    expect(bad).toEqual([
      '7: ledger record orders|77 is not an assert',
      '8: Unexpected token \'o\', "not json" is not ',
    ]);
  });
});

describe('checkpoint offsets from the produce answers', () => {
  it('is the offset after the last state record, over every produce request of the transaction', () => {
    const m = (n: number) => Array.from({ length: n }, () => ({ value: 'x' }));
    const requests = [
      [
        { topic: 'events', messages: m(3) },
        { topic: 'state', messages: m(2) },
      ],
      [{ topic: 'state', messages: m(4) }],
      [{ topic: 'events', messages: m(1) }],
    ];
    const meta = (topicName: string, baseOffset: string) => ({ topicName, partition: 0, errorCode: 0, baseOffset });
    const answers = [[meta('events', '100'), meta('state', '40')], [meta('state', '42')], [meta('events', '103')]];
    expect(endOffsetOf('state', requests, answers)).toBe(46n);
    expect(endOffsetOf('nothing', requests, answers)).toBeUndefined();
  });
});
