// The transformer's side of Kafka: its client (lib/kafka.ts, logging into the transformer's log), its
// transactional producer, and how a fenced producer is recognised.
import kafkajs, { Partitioners, type Kafka, type Producer } from 'kafkajs';

/** Fast retries: measured 8 ms p50 per transaction with these, 300+ ms with kafkajs's defaults. */
export const TRANSACTION_RETRY = { initialRetryTime: 5, maxRetryTime: 2000, multiplier: 1.6, retries: 25 } as const;

/**
 * The transformer consumer's fetch sizes. Large: each fetched batch becomes one transaction (up to
 * consumeLoop's record cap), and per-transaction round trips, not the transform, dominate at small batch sizes.
 */
export const CONSUMER_FETCH_SIZES = { maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 } as const;

/**
 * The transactional producer. Connecting it fences a crashed predecessor with the same transactional id and
 * aborts the transaction that one left open.
 */
export function createTransactionalProducer(kafka: Kafka, transactionalId: string): Producer {
  return kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner, // murmur2 like the Java clients, so keys land where Kafka tools expect
    // Right after a commit the broker is still writing the transaction markers and answers the next
    // AddPartitionsToTxn with CONCURRENT_TRANSACTIONS. kafkajs's default first retry waits ~300 ms,
    // which was most of our commit-to-output latency; the Java client retries within milliseconds.
    retry: TRANSACTION_RETRY,
  });
}

/**
 * True when the broker refused a transactional request because a newer producer holds the transactional id:
 * another instance was assigned the partition and fenced us. kafkajs 2.2 knows the older code only
 * (INVALID_PRODUCER_EPOCH, 47), which brokers return to its request versions instead of PRODUCER_FENCED (90).
 */
export function isProducerFenced(e: unknown): boolean {
  for (
    let cur = e as { type?: unknown; cause?: unknown } | undefined, depth = 0;
    cur && depth < 8;
    cur = cur.cause as typeof cur, depth++
  ) {
    if (cur.type === 'INVALID_PRODUCER_EPOCH' || cur.type === 'PRODUCER_FENCED') return true;
  }
  return false;
}

/**
 * Our transaction for a partition was refused because a newer owner fenced it; nothing of it became visible.
 * Retriable for kafkajs (the consumer retries, then rejoins); the loop logs it once, as a warning.
 */
export class ProducerFencedError extends kafkajs.KafkaJSError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    cause: unknown,
  ) {
    super(
      `the transactional producer for ${topic}[${partition}] was fenced by a newer owner of the partition; its transaction is void (${(cause as Error).message})`,
      { retriable: true },
    );
    Object.defineProperty(this, 'name', { value: 'ProducerFencedError' });
  }
}
