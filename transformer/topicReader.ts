// Reads whole topics from the beginning (read_committed) and tells when it has caught up with their end.
// Used for the dimension tables (kept running in the background) and the dedupe state (read once at start).
// A throwaway consumer group per reader: it never commits offsets, so every start reads from offset 0.
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import { pollUntil } from '../lib/poll.ts';

export interface TopicReader {
  /** Resolves once every partition was read up to the end it had when the reader started. */
  readonly caughtUp: Promise<void>;
  /** Waits until the reader has read up to the topics' current end (bounded by timeoutMs); false on timeout. */
  waitForCurrentEnd(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

type EndOffsets = Map<string, bigint>;

export async function startTopicReader(
  kafka: Kafka,
  opts: {
    readonly name: string;
    readonly topics: readonly string[];
    readonly onMessage: (topic: string, partition: number, message: KafkaMessage) => void;
    readonly log: Logger;
    readonly catchUpTimeoutMs?: number;
  },
): Promise<TopicReader> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  // Next offset to read per topic/partition, advanced also past control records (transaction markers).
  const position = new Map<string, bigint>();

  const endOffsets = async (): Promise<EndOffsets> => {
    const ends: EndOffsets = new Map();
    for (const topic of opts.topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        // An empty (or fully compacted) partition counts as read.
        if (BigInt(p.high) > BigInt(p.low)) ends.set(`${topic}/${p.partition}`, BigInt(p.high));
      }
    }
    return ends;
  };
  const reached = (ends: EndOffsets) => [...ends].every(([tp, end]) => (position.get(tp) ?? -1n) >= end);

  const consumer: Consumer = kafka.consumer({
    groupId: `pulso-transformer-reader-${opts.name}-${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    position.set(`${payload.topic}/${payload.partition}`, BigInt(payload.lastOffset) + 1n);
  });
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
  const initialEnds = await endOffsets();
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) opts.onMessage(batch.topic, batch.partition, m);
    },
  });

  let stopped = false;
  const waitFor = async (ends: EndOffsets, timeoutMs: number): Promise<boolean> => {
    await pollUntil(() => stopped || reached(ends), { what: `${opts.name} reader to reach its end offsets`, timeoutMs, intervalMs: 25 }).catch(() => undefined);
    return reached(ends);
  };
  const timeout = opts.catchUpTimeoutMs ?? 120_000;
  const caughtUp = waitFor(initialEnds, timeout).then((ok) => {
    if (!ok) throw new Error(`${opts.name} reader did not reach the end of ${opts.topics.join(', ')} within ${timeout} ms`);
    opts.log.info('reader caught up', { reader: opts.name, partitions: initialEnds.size });
  });

  return {
    caughtUp,
    async waitForCurrentEnd(timeoutMs) {
      return waitFor(await endOffsets(), timeoutMs);
    },
    async stop() {
      stopped = true;
      await consumer.disconnect();
      await admin.disconnect();
    },
  };
}
