// Reads everything committed in a topic right now (read_committed) and stops at the end: the one reader behind
// the tests' topic checks and `npm run chaos`'s record counts. Offsets are not counts (transaction markers
// take offsets too), so the end is where the consumer's position reaches each partition's high watermark.
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { pollUntil } from './poll.ts';

export async function readCommitted(
  kafka: Kafka,
  topic: string,
  each: (partition: number, message: KafkaMessage) => void,
  timeoutMs = 120_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]),
  );
  await admin.disconnect();
  const position = new Map<number, bigint>();
  const consumer = kafka.consumer({
    groupId: `pulso-reader-${randomUUID()}`,
    readUncommitted: false,
    maxBytes: 16 * 1048576,
  });
  await consumer.connect();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    position.set(payload.partition, BigInt(payload.lastOffset) + 1n),
  );
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) each(batch.partition, m);
    },
  });
  const done = () => [...ends].every(([p, e]) => e.high <= e.low || (position.get(p) ?? -1n) >= e.high);
  try {
    await pollUntil(done, { what: `${topic} read to its end`, timeoutMs, intervalMs: 50 });
  } finally {
    await consumer.disconnect();
  }
}
