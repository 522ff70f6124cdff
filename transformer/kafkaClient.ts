// The transformer's Kafka client: one place that builds it, routes kafkajs' log lines into our structured
// logger, and configures the transactional producer.
import kafkajs, { Kafka, Partitioners, logLevel as KafkaLogLevel, type Producer } from 'kafkajs';
import type { PulsoConfig } from '../lib/config.ts';
import type { Logger } from '../lib/log.ts';

/** Fast retries: measured 8 ms p50 per transaction with these, 300+ ms with kafkajs's defaults. */
export const TRANSACTION_RETRY = { initialRetryTime: 5, maxRetryTime: 2000, multiplier: 1.6, retries: 25 } as const;

/**
 * The transformer consumer's fetch sizes. Large: each fetched batch becomes one transaction (up to
 * consumeLoop's record cap), and per-transaction round trips, not the transform, dominate at small batch sizes.
 */
export const CONSUMER_FETCH_SIZES = { maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 } as const;

const EXPECTED_NOISE = [
  'concurrent operation on the same transaction',
  'The group is rebalancing, so a rejoin is needed',
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
];

/** kafkajs' log entries as our structured lines: warnings and errors only, the expected retry at debug. */
export function kafkaLogCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...fields } = entry;
      const text = String(fields.error ?? message);
      // Expected, and handled: CONCURRENT_TRANSACTIONS right after a commit (retried within milliseconds); a
      // heartbeat answered "rebalancing" when an instance joins or leaves (kafkajs rejoins, GROUP_JOIN follows);
      // the bounded-retries warning of each transactional producer (a send that exhausts them aborts the whole
      // transaction, so no duplicate can become visible).
      if (EXPECTED_NOISE.some((n) => text.includes(n))) log.debug(`kafkajs: ${message}`, fields);
      else if (level === KafkaLogLevel.ERROR) log.error(`kafkajs: ${message}`, fields);
      else if (level === KafkaLogLevel.WARN) log.warn(`kafkajs: ${message}`, fields);
    };
}

export function createKafka(cfg: PulsoConfig, clientId: string, log: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers: cfg.kafka.brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(log),
  });
}

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
