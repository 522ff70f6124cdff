// The produce step's pure half: one chunk's outcomes → the messages of its transaction.
import { describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { loadConfig } from '../../lib/config.ts';
import { transformerTopics } from '../../lib/names.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { createHash } from 'node:crypto';
import {
  chunkMessages,
  dlqMessage,
  MAX_DEAD_LETTER_BYTES,
  requestsUnderLimit,
} from '../../transformer/produceChunk.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import { transformRecord, type InputRecord } from '../../transformer/transform.ts';
import { envelope, loadedDims, orderRow } from './envelopes.ts';

const topics = transformerTopics(loadConfig({}).topics);
const NOW = Date.parse('2026-12-02T01:00:00.000Z');

describe('chunkMessages', () => {
  const inputs: InputRecord[] = [
    {
      topic: topics.cdcOrders,
      partition: 2,
      offset: '10',
      key: Buffer.from('{"id":1001}'),
      value: Buffer.from(envelope({ op: 'c', table: 'orders', after: orderRow() })),
    },
    { topic: topics.cdcOrders, partition: 2, offset: '11', key: Buffer.from('{"id":1001}'), value: null },
    {
      topic: topics.cdcOrders,
      partition: 2,
      offset: '12',
      key: Buffer.from('{"id":1}'),
      value: Buffer.from('{not json'),
    },
  ];
  const dedupe = new DedupeState();
  const ledger = new RollupLedger();
  const dedupeBatch = dedupe.beginBatch();
  const ledgerBatch = ledger.beginBatch();
  const outcomes = inputs.map((r) =>
    transformRecord(r, { dims: loadedDims(), dedupe: dedupeBatch, ledger: ledgerBatch, topics, nowMs: NOW }),
  );
  const stateRecords = [...dedupeBatch.stateRecords(), ...ledgerBatch.stateRecords()];
  const out = chunkMessages({
    inputs,
    messages: inputs.map((r) => ({ key: r.key, value: r.value, offset: r.offset, headers: { trace: 'abc' } })),
    outcomes,
    topics,
    instanceId: 'main',
    nowMs: NOW,
    stateRecords,
  });

  it('writes the event, its +1 rollup deltas, the stats row and the state records, each to its topic', () => {
    expect(outcomes.map((o) => o.kind)).toEqual(['event', 'skip', 'dlq']);
    expect(out.byTopic.get(topics.orders)).toHaveLength(1);
    expect(JSON.parse(String(out.byTopic.get(topics.orders)![0]!.value))).toMatchObject({
      order_id: '1001',
      event_type: 'created',
    });
    const deltas = out.byTopic.get(topics.orderDeltas)!.map((m) => JSON.parse(String(m.value)));
    expect(deltas).toHaveLength(1);
    expect(deltas[0]).toMatchObject({ sign: 1, orders: 1 });
    expect(out.byTopic.get(topics.stats)!.length).toBeGreaterThan(0);
    expect(out.byTopic.get(topics.state)!.map((m) => m.key)).toEqual(stateRecords.map((r) => r.key));
    expect(out.produced.get(topics.orders)).toBe(1);
    expect(out.produced.has(topics.dlq)).toBe(false); // dead letters are counted apart
    expect(out.ledgerMismatches).toBe(0);
  });

  it('dead-letters the unreadable record with its reason, source position and original headers', () => {
    const [dl] = out.byTopic.get(topics.dlq)!;
    expect(String(dl!.value)).toBe('{not json');
    expect(dl!.headers).toMatchObject({
      trace: 'abc',
      'dlq.reason': 'invalid_json',
      'dlq.source.topic': topics.cdcOrders,
      'dlq.source.partition': '2',
      'dlq.source.offset': '12',
      'dlq.failed_at': '2026-12-02T01:00:00.000Z',
    });
    expect(out.deadLettered).toEqual(new Map([['invalid_json', 1]]));
    expect(out.skipped).toEqual(new Map([['tombstone', 1]]));
    expect(out.warnings.map((w) => w.message)).toEqual(['dead-lettered a record']);
    expect(out.warnings[0]!.fields).toMatchObject({ offset: '12', reason: 'invalid_json' });
  });

  it('counts the bytes of everything it writes: keys, values, headers and 64 bytes of framing per message', () => {
    const size = (v: unknown) =>
      v === null || v === undefined ? 0 : Buffer.byteLength(typeof v === 'string' ? v : (v as Buffer));
    let expected = 0;
    for (const list of out.byTopic.values()) {
      for (const m of list)
        expected +=
          size(m.key) +
          size(m.value) +
          64 +
          Object.entries(m.headers ?? {}).reduce((n, [k, v]) => n + k.length + size(v), 0);
    }
    expect(out.bytes).toBe(expected);
    // The state records and the dead letter (with its headers) are part of it.
    expect(out.bytes).toBeGreaterThan(
      size(out.byTopic.get(topics.orders)![0]!.value) +
        stateRecords.reduce((n, r) => n + r.key.length + (r.value?.length ?? 0), 0) +
        'dlq.reason'.length,
    );
  });

  it('collects the source commit time of streaming events for the latency histogram', () => {
    expect(out.sourceTimes).toHaveLength(1);
    expect(Number.isFinite(out.sourceTimes[0])).toBe(true);
  });

  it('a record too large for the broker becomes a dead letter that fits, with its original size and hash', () => {
    const value = Buffer.alloc(3 * 1024 * 1024, 'v');
    const m = dlqMessage(
      { key: Buffer.alloc(5000, 'k'), value, headers: { 'x-origin': 'connect' }, offset: '42' },
      'pulso.public.orders',
      1,
      'invalid_json',
      'bad',
    );
    const bytes =
      (m.key as Buffer).length +
      (m.value as Buffer).length +
      Object.entries(m.headers!).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
    expect(bytes).toBeLessThanOrEqual(MAX_DEAD_LETTER_BYTES);
    expect((m.value as Buffer).length).toBeGreaterThan(MAX_DEAD_LETTER_BYTES - 4096);
    expect(m.headers!['dlq.truncated']).toBe('true');
    expect(m.headers!['dlq.original.value.bytes']).toBe(String(value.length));
    expect(m.headers!['dlq.original.value.sha256']).toBe(createHash('sha256').update(value).digest('hex'));
    expect(m.headers!['dlq.original.key.bytes']).toBe('5000');
    expect(m.headers!['dlq.original.headers.dropped']).toBe('1');
    expect(m.headers!['dlq.source.offset']).toBe('42');
    // One that fits is kept whole, its own headers too.
    const small = dlqMessage(
      { key: null, value: Buffer.from('x'), headers: { 'x-origin': 'connect' }, offset: '1' },
      't',
      0,
      'invalid_json',
      'e',
    );
    expect(small.value).toEqual(Buffer.from('x'));
    expect(small.headers!['x-origin']).toBe('connect');
    expect(small.headers!['dlq.truncated']).toBeUndefined();
  });

  it('truncates a long error text in the dead letter header to 1000 characters', () => {
    const m = dlqMessage({ key: null, value: Buffer.from('x'), offset: '1' }, 't', 0, 'invalid_json', 'e'.repeat(5000));
    expect(String(m.headers!['dlq.error'])).toHaveLength(1000);
  });
});

describe('requestsUnderLimit', () => {
  it('splits a transaction’s messages into requests under 1 MiB, keeping every message once and in order', () => {
    const value = 'x'.repeat(1000);
    const byTopic = new Map<string, Message[]>([
      ['orders', Array.from({ length: 2000 }, (_, i) => ({ key: String(i), value }))],
      ['pulso.dlq', [{ key: 'k', value: 'bad', headers: { 'dlq.reason': 'invalid_json' } }]],
    ]);
    const requests = requestsUnderLimit(byTopic);
    expect(requests.length).toBeGreaterThan(1);
    for (const r of requests) {
      const bytes = r
        .flatMap((tm) => tm.messages)
        .reduce((n, m) => n + String(m.value).length + String(m.key).length, 0);
      expect(bytes).toBeLessThan(1024 * 1024);
    }
    const flattened = requests.flat().flatMap((tm) => tm.messages.map((m) => `${tm.topic}:${String(m.key)}`));
    expect(flattened).toEqual([...Array.from({ length: 2000 }, (_, i) => `orders:${i}`), 'pulso.dlq:k']);
  });
});
