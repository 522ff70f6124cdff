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

export interface TopicReaderOptions {
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
}

/** How far the reader got, per topic/partition, against the ends it aims for. */
class ReadPositions {
  /** Next offset to read per topic/partition, advanced also past control records (transaction markers). */
  private readonly next = new Map<string, bigint>();
  /**
   * The high watermark of each partition's first fetch. The admin's end offsets are last stable offsets
   * (read_committed): on a topic that several transactional producers write, a transaction committed after
   * another one that is still open lies beyond the LSO, and reading "to the end" would miss it. Reading up to
   * the high watermark waits for the open ones to finish (milliseconds) and misses nothing committed before
   * the reader started: what the transformer's state re-load after a rebalance needs (several instances
   * write the one state partition).
   */
  private readonly firstHighWatermark = new Map<string, bigint>();
  /** First offset read per partition: progress counts from there. */
  private readonly lows = new Map<string, bigint>();

  constructor(private readonly from: ReadonlyMap<string, bigint> | undefined) {}

  /** A batch was processed up to `lastOffset`, fetched when the partition ended at `highWatermark`. */
  batchDone(tp: string, lastOffset: string, highWatermark: string): void {
    this.next.set(tp, BigInt(lastOffset) + 1n);
    if (!this.firstHighWatermark.has(tp)) this.firstHighWatermark.set(tp, BigInt(highWatermark));
  }

  /** The partitions' current ends, for those with something left to read from where reading starts. */
  async endOffsets(admin: Admin, topics: readonly string[]): Promise<EndOffsets> {
    const ends: EndOffsets = new Map();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const tp = `${topic}/${p.partition}`;
        if (this.from && !this.from.has(tp)) continue;
        const low = this.from?.get(tp) ?? BigInt(p.low);
        // An empty (or fully compacted) partition, or one read up to its end already, counts as read.
        if (BigInt(p.high) > low) ends.set(tp, BigInt(p.high));
        if (!this.lows.has(tp)) this.lows.set(tp, low);
      }
    }
    return ends;
  }

  progress(ends: EndOffsets): { read: number; total: number } {
    let read = 0n;
    let total = 0n;
    for (const [tp, end] of ends) {
      const low = this.lows.get(tp) ?? 0n;
      const at = this.next.get(tp) ?? low;
      total += end - low;
      read += (at < end ? at : end) - low;
    }
    return { read: Number(read), total: Number(total) };
  }

  reached(ends: EndOffsets): boolean {
    return [...ends].every(([tp, end]) => (this.next.get(tp) ?? -1n) >= end);
  }

  /** Every partition with readable records yields a first batch (and its high watermark) before `reached`. */
  reachedHighWatermarks(ends: EndOffsets): boolean {
    return [...ends.keys()].every(
      (tp) => this.firstHighWatermark.has(tp) && this.next.get(tp)! >= this.firstHighWatermark.get(tp)!,
    );
  }

  /** Whether a record belongs to what this reader was asked to read (its partition's tail, when `from` is set). */
  wanted(topic: string, partition: number, offset: string): boolean {
    const from = this.from?.get(`${topic}/${partition}`);
    return this.from === undefined || (from !== undefined && BigInt(offset) >= from);
  }
}

/** A consumer of a throwaway group that hands every batch on and records how far it got. */
async function startConsumer(kafka: Kafka, opts: TopicReaderOptions, positions: ReadPositions): Promise<Consumer> {
  const consumer: Consumer = kafka.consumer({
    ...(opts.maxWaitTimeInMs !== undefined && { maxWaitTimeInMs: opts.maxWaitTimeInMs }),
    groupId: `pulso-transformer-reader-${opts.name}-${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
    positions.batchDone(`${payload.topic}/${payload.partition}`, payload.lastOffset, payload.highWatermark),
  );
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
  return consumer;
}

/** Each wanted partition from its offset; the others are not read at all. */
async function seekToTails(consumer: Consumer, admin: Admin, opts: TopicReaderOptions): Promise<void> {
  for (const topic of opts.topics) {
    const others: number[] = [];
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const from = opts.from!.get(`${topic}/${p.partition}`);
      if (from === undefined) others.push(p.partition);
      else consumer.seek({ topic, partition: p.partition, offset: from.toString() });
    }
    if (others.length) consumer.pause([{ topic, partitions: others }]);
  }
}

export async function startTopicReader(kafka: Kafka, opts: TopicReaderOptions): Promise<TopicReader> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  const positions = new ReadPositions(opts.from);
  const consumer = await startConsumer(kafka, opts, positions);
  const initialEnds = await positions.endOffsets(admin, opts.topics);
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const messages = opts.from
        ? batch.messages.filter((m) => positions.wanted(batch.topic, batch.partition, m.offset))
        : batch.messages;
      if (opts.onBatch) opts.onBatch(batch.topic, batch.partition, messages);
      else for (const m of messages) opts.onMessage?.(batch.topic, batch.partition, m);
    },
  });
  if (opts.from) await seekToTails(consumer, admin, opts);

  let stopped = false;
  const waitFor = async (
    ends: EndOffsets,
    timeoutMs: number,
    done: (e: EndOffsets) => boolean,
    onProgress?: () => void,
  ) => {
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
  const report = () => opts.onProgress?.(positions.progress(initialEnds));
  report();
  const caughtUp = waitFor(
    initialEnds,
    Infinity,
    (ends) => positions.reached(ends) && positions.reachedHighWatermarks(ends),
    report,
  ).then((ok) => {
    if (!ok)
      throw new PulsoError(`${opts.name} reader was stopped before it reached the end of ${opts.topics.join(', ')}`);
    report();
    const records = positions.progress(initialEnds).total;
    opts.log.info('reader caught up', {
      reader: opts.name,
      partitions: initialEnds.size,
      records,
      ms: Date.now() - started,
    });
  });

  return {
    caughtUp,
    async waitForCurrentEnd(timeoutMs) {
      return waitFor(await positions.endOffsets(admin, opts.topics), timeoutMs, (ends) => positions.reached(ends));
    },
    async stop() {
      stopped = true;
      await consumer.disconnect();
      await admin.disconnect();
    },
  };
}
