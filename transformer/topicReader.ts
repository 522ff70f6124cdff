// Reads whole topics from the beginning (read_committed) and tells when it has caught up with their end.
// Used for the dimension tables (kept running in the background) and the dedupe state (read once at start).
// Catching up has no time limit; it reports its progress instead.
// A throwaway consumer group per reader: it never commits offsets, so every start reads from offset 0.
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import { pollUntil } from '../lib/poll.ts';
import { PulsoError } from '../lib/errors.ts';

export interface TopicReader {
  /** Resolves once every partition was read up to the end (high watermark) it had when the reader started. */
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
    readonly onMessage?: (topic: string, partition: number, message: KafkaMessage) => void;
    /** Instead of onMessage: each fetched batch at once (the state restore writes one LMDB transaction per batch). */
    readonly onBatch?: (topic: string, partition: number, messages: KafkaMessage[]) => void;
    /**
     * Read only these partitions (`topic/partition`), each from its offset: the tail of what a local store holds.
     * Default: every partition of the topics, from the beginning.
     */
    readonly from?: ReadonlyMap<string, bigint>;
    /** How long the broker may hold a fetch that has nothing to return (kafkajs' default: 5 s). */
    readonly maxWaitTimeInMs?: number;
    readonly log: Logger;
    /**
     * Called about every 5 s while catching up, and once at the end: records read of those the topics held at
     * start. There is no time limit on catching up (a big state takes as long as it takes; a fixed limit made
     * the transformer re-read from zero forever): progress is what tells busy from stuck.
     */
    readonly onProgress?: (p: { read: number; total: number }) => void;
  },
): Promise<TopicReader> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  // Next offset to read per topic/partition, advanced also past control records (transaction markers).
  const position = new Map<string, bigint>();
  // The high watermark of each partition's first fetch. The admin's end offsets are last stable offsets
  // (read_committed): on a topic that several transactional producers write, a transaction committed after
  // another one that is still open lies beyond the LSO, and reading "to the end" would miss it. Reading up to
  // the high watermark waits for the open ones to finish (milliseconds) and misses nothing committed before
  // the reader started: what the transformer's state re-load after a rebalance needs (several instances
  // write the one state partition).
  const firstHighWatermark = new Map<string, bigint>();

  // First offset held per partition: progress counts from there.
  const lows = new Map<string, bigint>();
  const endOffsets = async (): Promise<EndOffsets> => {
    const ends: EndOffsets = new Map();
    for (const topic of opts.topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const tp = `${topic}/${p.partition}`;
        if (opts.from && !opts.from.has(tp)) continue;
        const low = opts.from?.get(tp) ?? BigInt(p.low);
        // An empty (or fully compacted) partition, or one read up to its end already, counts as read.
        if (BigInt(p.high) > low) ends.set(tp, BigInt(p.high));
        if (!lows.has(tp)) lows.set(tp, low);
      }
    }
    return ends;
  };
  const progress = (ends: EndOffsets) => {
    let read = 0n;
    let total = 0n;
    for (const [tp, end] of ends) {
      const low = lows.get(tp) ?? 0n;
      const at = position.get(tp) ?? low;
      total += end - low;
      read += (at < end ? at : end) - low;
    }
    return { read: Number(read), total: Number(total) };
  };
  const reached = (ends: EndOffsets) => [...ends].every(([tp, end]) => (position.get(tp) ?? -1n) >= end);
  // Every partition with readable records yields a first batch (and its high watermark) before `reached`.
  const reachedHighWatermarks = (ends: EndOffsets) =>
    [...ends.keys()].every((tp) => firstHighWatermark.has(tp) && position.get(tp)! >= firstHighWatermark.get(tp)!);

  const consumer: Consumer = kafka.consumer({
    ...(opts.maxWaitTimeInMs !== undefined && { maxWaitTimeInMs: opts.maxWaitTimeInMs }),
    groupId: `pulso-transformer-reader-${opts.name}-${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const tp = `${payload.topic}/${payload.partition}`;
    position.set(tp, BigInt(payload.lastOffset) + 1n);
    if (!firstHighWatermark.has(tp)) firstHighWatermark.set(tp, BigInt(payload.highWatermark));
  });
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
  const initialEnds = await endOffsets();
  const wanted = (topic: string, partition: number, offset: string) => {
    const from = opts.from?.get(`${topic}/${partition}`);
    return opts.from === undefined || (from !== undefined && BigInt(offset) >= from);
  };
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const messages = opts.from
        ? batch.messages.filter((m) => wanted(batch.topic, batch.partition, m.offset))
        : batch.messages;
      if (opts.onBatch) opts.onBatch(batch.topic, batch.partition, messages);
      else for (const m of messages) opts.onMessage?.(batch.topic, batch.partition, m);
    },
  });
  if (opts.from) {
    // Each wanted partition from its offset; the others are not read at all.
    for (const topic of opts.topics) {
      const others: number[] = [];
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const from = opts.from.get(`${topic}/${p.partition}`);
        if (from === undefined) others.push(p.partition);
        else consumer.seek({ topic, partition: p.partition, offset: from.toString() });
      }
      if (others.length) consumer.pause([{ topic, partitions: others }]);
    }
  }

  let stopped = false;
  const waitFor = async (
    ends: EndOffsets,
    timeoutMs: number,
    done = reached,
    onProgress?: () => void,
  ): Promise<boolean> => {
    await pollUntil(() => stopped || done(ends), {
      what: `${opts.name} reader to reach its end offsets`,
      timeoutMs,
      intervalMs: 25,
      onProgress,
      progressEveryMs: 5000,
    }).catch(() => undefined);
    return done(ends);
  };
  const started = Date.now();
  opts.onProgress?.(progress(initialEnds));
  const caughtUp = waitFor(
    initialEnds,
    Infinity,
    (ends) => reached(ends) && reachedHighWatermarks(ends),
    () => opts.onProgress?.(progress(initialEnds)),
  ).then((ok) => {
    if (!ok)
      throw new PulsoError(`${opts.name} reader was stopped before it reached the end of ${opts.topics.join(', ')}`);
    const p = progress(initialEnds);
    opts.onProgress?.(p);
    opts.log.info('reader caught up', {
      reader: opts.name,
      partitions: initialEnds.size,
      records: p.total,
      ms: Date.now() - started,
    });
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
