// (c) Malformed records fed into a CDC topic: each lands in the dead-letter topic with its reason and its
// source coordinates, and the good records around it still arrive. Real Kafka, real transactions.
import { afterAll, describe, expect, it } from 'vitest';
import { startTransformer } from '../../transformer/consumeLoop.ts';
import { createLogger } from '../../lib/log.ts';
import type { OrderEvent } from '../../transformer/events.ts';
import { envelope, orderRow } from './envelopes.ts';
import { createTopics, deleteTopicsWithPrefix, readAll, testKafka, testPrefix, waitFor } from './support/kafkaHarness.ts';

const t = testPrefix('dlq');
const kafka = testKafka();

afterAll(async () => {
  await deleteTopicsWithPrefix(kafka, t.prefix);
});

describe('transformer dead-letter path (real Kafka)', () => {
  it('dead-letters each malformed record with its reason; good records around them arrive', async () => {
    await createTopics(kafka, [t.topics.cdcOrders, t.topics.cdcOrderItems]);
    const good = (id: number, lsn: number) => ({ key: `{"id":${id}}`, value: envelope({ op: 'c', table: 'orders', after: orderRow({ id: String(id) }), lsn, commitLsn: lsn - 10 }) });
    const input: { key: string | null; value: string | null; expect: string }[] = [
      { ...good(1, 100), expect: 'event' },
      { key: '{"id":2}', value: '{"before":null,"after":{"id":2', expect: 'invalid_json' },
      { ...good(3, 300), expect: 'event' },
      { key: '{"id":4}', value: envelope({ op: 'c', table: 'orders', after: orderRow({ id: '4', total: '"12.345"' }), lsn: 400 }), expect: 'bad_decimal' },
      { key: '{"id":5}', value: envelope({ op: 'z' as 'c', table: 'orders', after: orderRow({ id: '5' }), lsn: 500 }), expect: 'unknown_op' },
      { key: '{"id":6}', value: envelope({ op: 'c', table: 'orders', after: orderRow({ id: '6', currency: 'null' }), lsn: 600 }), expect: 'missing_field' },
      { key: '{"id":1}', value: null, expect: 'tombstone' },
      { ...good(7, 700), expect: 'event' },
    ];
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: t.topics.cdcOrders, messages: input.map((r) => ({ key: r.key, value: r.value, headers: { origin: 'dlq-test' } })) });
    await producer.disconnect();

    const handle = await startTransformer(t.cfg, { instanceId: 'it', metricsPort: null, log: createLogger('transformer-it', 'error') });
    try {
      await waitFor('all input consumed', () => (handle.metrics().consumed >= input.length ? true : undefined));
      const m = handle.metrics();
      expect(m.dead_lettered_by_reason).toEqual({ invalid_json: 1, bad_decimal: 1, unknown_op: 1, missing_field: 1 });
      expect(m.skipped_by_reason).toEqual({ tombstone: 1 });
      // Three good orders: three events, three +1 rollup rows, and the transaction's counter rows.
      expect(m.produced[t.topics.orders]).toBe(3);
      expect(m.produced[t.cfg.topics.orderDeltas]).toBe(3);
      expect(m.produced[t.cfg.topics.stats]).toBeGreaterThan(0);
      expect(Object.keys(m.produced).sort()).toEqual([t.topics.orders, t.cfg.topics.orderDeltas, t.cfg.topics.stats].sort());
    } finally {
      await handle.stop();
    }

    // The DLQ has several partitions (keyed by the original key): order by source offset to compare.
    const dlq = (await readAll(kafka, t.topics.dlq)).sort((a, b) => Number(a.headers['dlq.source.offset']) - Number(b.headers['dlq.source.offset']));
    const expectedDlq = input.map((r, offset) => ({ ...r, offset })).filter((r) => r.expect !== 'event' && r.expect !== 'tombstone');
    expect(dlq.map((d) => [d.headers['dlq.reason'], d.headers['dlq.source.offset'], d.value, d.key])).toEqual(
      expectedDlq.map((r) => [r.expect, String(r.offset), r.value, r.key]),
    );
    for (const d of dlq) {
      expect(d.headers['dlq.source.topic']).toBe(t.topics.cdcOrders);
      expect(d.headers['dlq.source.partition']).toBe('0');
      expect(d.headers['dlq.error']!.length).toBeGreaterThan(0);
      expect(Date.parse(d.headers['dlq.failed_at']!)).not.toBeNaN();
      expect(d.headers.origin).toBe('dlq-test'); // original headers are kept
    }
    const orders = (await readAll(kafka, t.topics.orders)).map((o) => JSON.parse(o.value!) as OrderEvent);
    expect(orders.map((o) => o.order_id).sort()).toEqual(['1', '3', '7']);
  });
});
