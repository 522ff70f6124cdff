// The pure parts of scale-out: which transactional ids an assignment owns, and which broker errors mean
// that a newer owner fenced us.
import { describe, expect, it } from 'vitest';
import { transformerGroupId, transformerTransactionalId } from '../../lib/names.ts';
import { isProducerFenced } from '../../transformer/kafkaClient.ts';
import { assignedPartitions } from '../../transformer/partitionProducers.ts';

const group = transformerGroupId({ prefix: 'pulso' });
const idOf = (topic: string, partition: number) => transformerTransactionalId(group, topic, partition);

describe('assignedPartitions', () => {
  it('names one transactional id per input topic-partition, the same whichever instance owns it', () => {
    const owned = assignedPartitions({ 'pulso.public.orders': [2, 0], 'pulso.public.order_items': [1] }, idOf);
    expect(owned).toEqual([
      {
        topic: 'pulso.public.order_items',
        partition: 1,
        transactionalId: 'pulso-transformer-pulso.public.order_items-1',
      },
      { topic: 'pulso.public.orders', partition: 0, transactionalId: 'pulso-transformer-pulso.public.orders-0' },
      { topic: 'pulso.public.orders', partition: 2, transactionalId: 'pulso-transformer-pulso.public.orders-2' },
    ]);
  });

  it('gives two instances with disjoint assignments disjoint ids, and an empty assignment none', () => {
    const a = assignedPartitions({ 'pulso.public.orders': [0, 1] }, idOf).map((p) => p.transactionalId);
    const b = assignedPartitions({ 'pulso.public.orders': [2] }, idOf).map((p) => p.transactionalId);
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    expect(assignedPartitions({}, idOf)).toEqual([]);
  });

  it('keeps ids apart across pipelines (TOPIC_PREFIX)', () => {
    expect(transformerTransactionalId(transformerGroupId({ prefix: 'it-x' }), 'it-x.public.orders', 0)).not.toBe(
      idOf('it-x.public.orders', 0),
    );
  });

  it('keeps ids apart across consumer groups on the same input: a replay group never fences the live one', () => {
    const replay = transformerTransactionalId(transformerGroupId({ prefix: 'it-replay-1' }), 'pulso.public.orders', 0);
    expect(replay).toBe('it-replay-1-transformer-pulso.public.orders-0');
    expect(replay).not.toBe(idOf('pulso.public.orders', 0));
  });
});

describe('isProducerFenced', () => {
  it('recognises the epoch errors, also wrapped as a cause by kafkajs retries', () => {
    expect(isProducerFenced({ type: 'INVALID_PRODUCER_EPOCH' })).toBe(true);
    expect(isProducerFenced({ type: 'PRODUCER_FENCED' })).toBe(true);
    expect(
      isProducerFenced(Object.assign(new Error('retries exceeded'), { cause: { type: 'INVALID_PRODUCER_EPOCH' } })),
    ).toBe(true);
  });

  it('does not take other failures for fencing', () => {
    expect(isProducerFenced({ type: 'CONCURRENT_TRANSACTIONS' })).toBe(false);
    expect(isProducerFenced(new Error('Connection closed'))).toBe(false);
    expect(isProducerFenced(undefined)).toBe(false);
  });
});
