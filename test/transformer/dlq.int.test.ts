// (c) Malformed records fed into a CDC topic: each lands in the dead-letter topic with its reason and its
// source coordinates, and the good records around it still arrive. Real Kafka, real transactions.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startTransformer } from '../../transformer/consumeLoop.ts';
import { topicSpecs } from '../../lib/topicSpecs.ts';
import { createLogger } from '../../lib/log.ts';
import type { OrderEvent } from '../../transformer/events.ts';
import { envelope, orderRow } from './envelopes.ts';
import {
  createTopics,
  deleteTopicsWithPrefix,
  readAll,
  testKafka,
  testPrefix,
  waitFor,
} from './support/kafkaHarness.ts';

const t = testPrefix('dlq');
const kafka = testKafka();

afterAll(async () => {
  await deleteTopicsWithPrefix(kafka, t.prefix);
});

describe('transformer dead-letter path (real Kafka)', () => {
  it('dead-letters each malformed record with its reason; good records around them arrive', async () => {
    await createTopics(kafka, [t.topics.cdcOrders, t.topics.cdcOrderItems, t.topics.cdcStock]);
    const good = (id: number, lsn: number) => ({
      key: `{"id":${id}}`,
      value: envelope({ op: 'c', table: 'orders', after: orderRow({ id: String(id) }), lsn, commitLsn: lsn - 10 }),
    });
    const input: { key: string | null; value: string | null; expect: string }[] = [
      { ...good(1, 100), expect: 'event' },
      { key: '{"id":2}', value: '{"before":null,"after":{"id":2', expect: 'invalid_json' },
      { ...good(3, 300), expect: 'event' },
      {
        key: '{"id":4}',
        value: envelope({ op: 'c', table: 'orders', after: orderRow({ id: '4', total: '"12.345"' }), lsn: 400 }),
        expect: 'bad_decimal',
      },
      {
        key: '{"id":5}',
        value: envelope({ op: 'z' as 'c', table: 'orders', after: orderRow({ id: '5' }), lsn: 500 }),
        expect: 'unknown_op',
      },
      {
        key: '{"id":6}',
        value: envelope({ op: 'c', table: 'orders', after: orderRow({ id: '6', currency: 'null' }), lsn: 600 }),
        expect: 'missing_field',
      },
      { key: '{"id":1}', value: null, expect: 'tombstone' },
      { ...good(7, 700), expect: 'event' },
    ];
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: t.topics.cdcOrders,
      messages: input.map((r) => ({ key: r.key, value: r.value, headers: { origin: 'dlq-test' } })),
    });
    await producer.disconnect();

    const handle = await startTransformer(t.cfg, {
      instanceId: 'it',
      metricsPort: null,
      log: createLogger('transformer-it', 'error'),
    });
    try {
      await waitFor('all input consumed', () => (handle.metrics().consumed >= input.length ? true : undefined));
      const m = handle.metrics();
      expect(m.dead_lettered_by_reason).toEqual({ invalid_json: 1, bad_decimal: 1, unknown_op: 1, missing_field: 1 });
      expect(m.skipped_by_reason).toEqual({ tombstone: 1 });
      // Three good orders: three events, three +1 rollup rows, and the transaction's counter rows.
      expect(m.produced[t.topics.orders]).toBe(3);
      expect(m.produced[t.cfg.topics.orderDeltas]).toBe(3);
      expect(m.produced[t.cfg.topics.stats]).toBeGreaterThan(0);
      expect(Object.keys(m.produced).sort()).toEqual(
        [t.topics.orders, t.cfg.topics.orderDeltas, t.cfg.topics.stats].sort(),
      );
    } finally {
      await handle.stop();
    }

    // The DLQ has several partitions (keyed by the original key): order by source offset to compare.
    const dlq = (await readAll(kafka, t.topics.dlq)).sort(
      (a, b) => Number(a.headers['dlq.source.offset']) - Number(b.headers['dlq.source.offset']),
    );
    const expectedDlq = input
      .map((r, offset) => ({ ...r, offset }))
      .filter((r) => r.expect !== 'event' && r.expect !== 'tombstone');
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

  it('poison records (an absurd decimal scale, a record too large to dead-letter whole) and an unreadable state record: dead letters and a skip, no crash loop', async () => {
    const p = testPrefix('dlq-poison');
    const admin = kafka.admin();
    await admin.connect();
    try {
      // The CDC topic takes records of up to 3 MiB (a topic configured so, or a connector with bigger limits);
      // the dead-letter topic keeps the broker's default 1 MiB, so the biggest cannot be dead-lettered whole.
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: p.topics.cdcOrders,
            numPartitions: 1,
            configEntries: [{ name: 'max.message.bytes', value: String(4 * 1024 * 1024) }],
          },
          { topic: p.topics.cdcOrderItems, numPartitions: 1 },
          { topic: p.topics.cdcStock, numPartitions: 1 },
          // The layout before stock_levels was an input: the transformer grows it by the stock partition.
          { topic: p.topics.state, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const huge = `{"before":null,"after":{"id":12,"notes":"${'n'.repeat(3 * 1024 * 1024)}`; // cut short: invalid JSON
    const input = [
      {
        key: '{"id":11}',
        value: envelope({
          op: 'c',
          table: 'orders',
          after: orderRow({ id: '11', total: '{"scale":100000000,"value":"AQ=="}' }),
          lsn: 1100,
        }),
      },
      { key: '{"id":12}', value: huge },
      { key: '{"id":13}', value: envelope({ op: 'c', table: 'orders', after: orderRow({ id: '13' }), lsn: 1300 }) },
    ];
    const producer = kafka.producer();
    await producer.connect();
    // A ledger record and a watermark written by hand into the state partition of orders[0] (the state topic
    // has one partition per input partition: orders 0, order_items 1) that do not parse: reported with
    // partition and offset, skipped.
    await producer.send({
      topic: p.topics.state,
      messages: [
        { key: 'rollup|orders|77', value: '{"not":"an order"}', partition: 0 },
        { key: `wm|${p.topics.cdcOrders}|0`, value: 'not json', partition: 0 },
      ],
    });
    await producer.send({ topic: p.topics.cdcOrders, messages: input });
    await producer.disconnect();

    const lines: string[] = [];
    const log = {
      debug: () => undefined,
      info: () => undefined,
      warn: (m: string, f?: Record<string, unknown>) => lines.push(JSON.stringify({ m, ...f })),
      error: (m: string, f?: Record<string, unknown>) => lines.push(JSON.stringify({ m, ...f })),
    };
    const handle = await startTransformer(p.cfg, { instanceId: 'it', metricsPort: null, log });
    try {
      await waitFor(
        'the poison records consumed',
        () => (handle.metrics().consumed >= input.length ? true : undefined),
        60_000,
      );
      const m = handle.metrics();
      expect(m.dead_lettered_by_reason).toEqual({ bad_decimal: 1, invalid_json: 1 });
      expect(m.produced[p.topics.orders]).toBe(1);
      expect(m.consumer_crashes.total).toBe(0);
      expect(m.status).toBe('running');
    } finally {
      await handle.stop();
    }
    const dlq = await readAll(kafka, p.topics.dlq);
    // Created here on a bare broker, as pipeline/topics.ts declares it (it used to get 3 partitions here, 1 there).
    const meta = kafka.admin();
    await meta.connect();
    try {
      const spec = topicSpecs(p.cfg).find((t) => t.topic === p.topics.dlq)!;
      const [topic] = (await meta.fetchTopicMetadata({ topics: [p.topics.dlq] })).topics;
      expect(topic!.partitions.length).toBe(spec.partitions);
    } finally {
      await meta.disconnect();
    }
    await deleteTopicsWithPrefix(kafka, p.prefix);
    const big = dlq.find((d) => d.headers['dlq.source.offset'] === '1')!;
    expect(big.headers['dlq.truncated']).toBe('true');
    expect(big.headers['dlq.original.value.bytes']).toBe(String(Buffer.byteLength(huge)));
    expect(big.headers['dlq.original.value.sha256']).toBe(createHash('sha256').update(huge).digest('hex'));
    expect(huge.startsWith(big.value!)).toBe(true);
    const poison = dlq.find((d) => d.headers['dlq.source.offset'] === '0')!;
    expect(poison.headers['dlq.error']).toMatch(/scale 100000000 is beyond PostgreSQL's NUMERIC/);
    const unreadable = lines
      .filter((l) => l.includes('skipping an unreadable state record'))
      .map((l) => JSON.parse(l) as { partition: number; offset: string });
    expect(unreadable.map((u) => [u.partition, u.offset])).toEqual([
      [0, '0'],
      [0, '1'],
    ]);
    const longest = Math.max(...lines.map((l) => l.length));
    expect(longest).toBeLessThan(20_000);
  });
});
