// Copies of the transformer's two CDC inputs with no transform, one per Kafka client, for the benches that
// compare against them (bench:transformer, bench:clients). Two shapes:
//  - plain: consume, produce the same bytes, no transactions (the floor any consumer-producer pays);
//  - transactional: read_committed, one transaction per chunk of one partition carrying that chunk's output
//    and its input offsets — the transformer's pattern (consumeLoop.ts) without decoding or state.
// Each returns the window from its first record received to its last record handled, and the CPU spent in it.
import { performance } from 'node:perf_hooks';
import type { Kafka, Message } from 'kafkajs';
import {
  Consumer,
  FetchIsolationLevels,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  type Message as PlatformaticMessage,
} from '@platformatic/kafka';
import { requestsUnderLimit } from '../transformer/produceChunk.ts';
import { MAX_RECORDS_PER_TRANSACTION } from '../transformer/consumeLoop.ts';
import { CONSUMER_FETCH_SIZES, createTransactionalProducer, TRANSACTION_RETRY } from '../transformer/kafkaClient.ts';
import { pollUntil } from '../lib/poll.ts';
import { PulsoError } from '../lib/errors.ts';

export type PassThroughShape = 'plain' | 'transactional';

export interface PassThroughSpec {
  readonly shape: PassThroughShape;
  readonly groupId: string;
  /** Input topic → output topic (single-partition topics). */
  readonly routes: ReadonlyMap<string, string>;
  /** Most records per produce (and per transaction): the transformer's 5,000 by default; live, its chunks are far smaller. */
  readonly chunkRecords?: number;
  /** Records to copy: the run ends when all have been handled. */
  readonly count: number;
  /** CPU seconds to attribute to the window (this process, the broker…), sampled at its start and end. */
  readonly cpuSample: () => Record<string, number>;
}

export interface PassThroughResult {
  readonly recordsPerSecond: number;
  readonly transactions: number;
  /** CPU seconds spent in the window, per name of `cpuSample`. */
  readonly cpuSeconds: Record<string, number>;
}

// Same fetch sizes as the transformer's consumer, so a comparison isolates what differs.
const FETCH = CONSUMER_FETCH_SIZES;
// The @platformatic/kafka copy holds its fetches while 4× this many records wait (its consumer is a stream with
// no batches), and lets them go again below it.
const BACKLOG_RECORDS = 20_000;

/** Times a copy: `start` at the first record received, `finish` when the last is handled. */
function windowTimer(spec: PassThroughSpec) {
  let first = 0;
  let last = 0;
  let done = 0;
  let transactions = 0;
  let cpuAtStart: Record<string, number> = {};
  let cpuAtEnd: Record<string, number> = {};
  return {
    start() {
      if (first) return;
      first = performance.now();
      cpuAtStart = spec.cpuSample();
    },
    handled(records: number, transaction: boolean) {
      done += records;
      if (transaction) transactions++;
      if (done >= spec.count && !last) {
        last = performance.now();
        cpuAtEnd = spec.cpuSample();
      }
    },
    get finished() {
      return last > 0;
    },
    result(): PassThroughResult {
      const cpuSeconds = Object.fromEntries(Object.keys(cpuAtEnd).map((k) => [k, cpuAtEnd[k]! - (cpuAtStart[k] ?? 0)]));
      return { recordsPerSecond: spec.count / ((last - first) / 1000), transactions, cpuSeconds };
    },
  };
}

const routeOf = (spec: PassThroughSpec, topic: string): string => {
  const out = spec.routes.get(topic);
  if (out === undefined) throw new PulsoError(`pass-through: no output topic for input ${topic}`);
  return out;
};

export async function kafkajsPassThrough(kafka: Kafka, spec: PassThroughSpec): Promise<PassThroughResult> {
  const timer = windowTimer(spec);
  const transactional = spec.shape === 'transactional';
  const chunkRecords = spec.chunkRecords ?? MAX_RECORDS_PER_TRANSACTION;
  const consumer = kafka.consumer({ groupId: spec.groupId, readUncommitted: !transactional, ...FETCH });
  const producer = transactional
    ? createTransactionalProducer(kafka, `${spec.groupId}-tx`) // the transformer's own settings
    : kafka.producer();
  await Promise.all([consumer.connect(), producer.connect()]);
  try {
    await consumer.subscribe({ topics: [...spec.routes.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: !transactional,
      eachBatchAutoResolve: !transactional,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        timer.start();
        const topic = routeOf(spec, batch.topic);
        for (let i = 0; i < batch.messages.length; i += chunkRecords) {
          const chunk = batch.messages.slice(i, i + chunkRecords);
          // Requests under the broker's 1 MiB limit, as the transformer sends them.
          const requests = requestsUnderLimit(
            new Map([[topic, chunk.map((m): Message => ({ key: m.key, value: m.value }))]]),
          );
          if (!transactional) {
            for (const request of requests) await producer.sendBatch({ topicMessages: request });
          } else {
            const tx = await producer.transaction();
            for (const request of requests) await tx.sendBatch({ topicMessages: request });
            const next = (BigInt(chunk[chunk.length - 1]!.offset) + 1n).toString();
            await tx.sendOffsets({
              consumerGroupId: spec.groupId,
              topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
            });
            await tx.commit();
            resolveOffset(chunk[chunk.length - 1]!.offset);
          }
          timer.handled(chunk.length, transactional);
          await heartbeat();
        }
      },
    });
    await pollUntil(() => timer.finished, {
      what: `the kafkajs ${spec.shape} pass-through`,
      timeoutMs: 600_000,
      intervalMs: 20,
    });
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
  }
  return timer.result();
}

/**
 * The consumer and producer of the @platformatic/kafka pass-through. The transformer's retry schedule for kafkajs,
 * here too: right after a commit the broker answers the next transaction's first request with
 * CONCURRENT_TRANSACTIONS, and this client's default 1 s retry delay then stalled one transaction in three
 * (measured: sends of 1.0–1.2 s among sends of 40–200 ms).
 */
function platformaticClients(
  brokers: readonly string[],
  spec: PassThroughSpec,
  transactional: boolean,
  isolationLevel: (typeof FetchIsolationLevels)[keyof typeof FetchIsolationLevels],
) {
  const retryDelay = (_client: unknown, _op: string, attempt: number) =>
    Math.min(
      TRANSACTION_RETRY.maxRetryTime,
      TRANSACTION_RETRY.initialRetryTime * TRANSACTION_RETRY.multiplier ** attempt,
    );
  const base = {
    clientId: `${spec.groupId}-client`,
    bootstrapBrokers: [...brokers],
    retries: TRANSACTION_RETRY.retries,
    retryDelay,
  };
  const consumer = new Consumer({ ...base, groupId: spec.groupId, isolationLevel, ...FETCH });
  const producer = new Producer({
    ...base,
    acks: ProduceAcks.ALL,
    ...(transactional ? { idempotent: true, transactionalId: `${spec.groupId}-tx` } : {}),
  });
  return { consumer, producer };
}

/** One chunk copied to its route: plain sends, or one transaction with the consumer's offset in it. */
async function copyPlatformaticChunk(
  c: { producer: Producer; consumer: Consumer; spec: PassThroughSpec; transactional: boolean },
  chunk: PlatformaticMessage[],
): Promise<void> {
  const { producer, consumer, spec, transactional } = c;
  const topic = routeOf(spec, chunk[0]!.topic);
  const requests = requestsUnderLimit(new Map([[topic, chunk.map((m): Message => ({ key: m.key, value: m.value }))]]));
  const toSend = (request: (typeof requests)[number]) => ({
    messages: request.flatMap((r) =>
      r.messages.map((m) => ({ topic: r.topic, partition: 0, key: m.key as Buffer, value: m.value as Buffer })),
    ),
  });
  if (!transactional) {
    for (const request of requests) await producer.send(toSend(request));
    return;
  }
  const tx = await producer.beginTransaction();
  for (const request of requests) await tx.send(toSend(request));
  await tx.addConsumer(consumer);
  await tx.addOffset(chunk[chunk.length - 1]!);
  await tx.commit();
}

/**
 * The same copy with @platformatic/kafka 1.x. Its consumer is a stream of single messages, so records are
 * gathered here into the same chunks (one partition, ≤ chunkRecords) before each produce.
 */
export async function platformaticPassThrough(
  brokers: readonly string[],
  spec: PassThroughSpec,
): Promise<PassThroughResult> {
  const timer = windowTimer(spec);
  const transactional = spec.shape === 'transactional';
  const chunkRecords = spec.chunkRecords ?? MAX_RECORDS_PER_TRANSACTION;
  const isolationLevel = transactional ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED;
  const { consumer, producer } = platformaticClients(brokers, spec, transactional, isolationLevel);
  const pending = new Map<string, PlatformaticMessage[]>(); // input topic-partition → messages not yet copied
  let backlog = 0;
  let failure: Error | undefined;
  try {
    const stream = await consumer.consume({
      topics: [...spec.routes.keys()],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: !transactional,
      isolationLevel,
      ...FETCH,
    });
    const copyChunk = (chunk: PlatformaticMessage[]) =>
      copyPlatformaticChunk({ producer, consumer, spec, transactional }, chunk);
    let draining = false;
    const drain = async () => {
      if (draining) return;
      draining = true;
      try {
        for (;;) {
          const entry = [...pending.entries()].find(([, ms]) => ms.length > 0);
          if (!entry) break;
          const chunk = entry[1].splice(0, chunkRecords);
          backlog -= chunk.length;
          await copyChunk(chunk);
          timer.handled(chunk.length, transactional);
          if (stream.isPaused() && backlog < BACKLOG_RECORDS) stream.resume();
        }
      } catch (e) {
        failure = e as Error;
      } finally {
        draining = false;
      }
    };
    stream.on('data', (m: PlatformaticMessage) => {
      timer.start();
      const key = `${m.topic}:${m.partition}`;
      let list = pending.get(key);
      if (!list) pending.set(key, (list = []));
      list.push(m);
      // Back-pressure: hold the fetches while several chunks wait.
      if (++backlog >= 4 * BACKLOG_RECORDS) stream.pause();
      // Let the rest of this fetch's messages arrive first, so chunks are as large as kafkajs' batches.
      setImmediate(() => void drain());
    });
    stream.on('error', (e: Error) => void (failure = e));
    await pollUntil(() => timer.finished || failure !== undefined, {
      what: `the @platformatic/kafka ${spec.shape} pass-through`,
      timeoutMs: 600_000,
      intervalMs: 20,
    });
    if (failure) throw failure;
    await stream.close();
  } finally {
    await Promise.allSettled([consumer.close(true), producer.close(true)]);
  }
  return timer.result();
}
