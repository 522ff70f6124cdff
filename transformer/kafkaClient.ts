// The transformer's Kafka client: one place that builds it, routes kafkajs' log lines into our structured
// logger, and configures the transactional producer.
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type Producer } from 'kafkajs';
import type { PulsoConfig } from '../lib/config.ts';
import type { Logger } from '../lib/log.ts';

/** Fast retries: measured 8 ms p50 per transaction with these, 300+ ms with kafkajs's defaults. */
export const TRANSACTION_RETRY = { initialRetryTime: 5, maxRetryTime: 2000, multiplier: 1.6, retries: 25 } as const;

/** kafkajs' log entries as our structured lines: warnings and errors only, the expected retry at debug. */
export function kafkaLogCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...fields } = entry;
      // CONCURRENT_TRANSACTIONS right after a commit is expected and retried within milliseconds.
      if (String(fields.error ?? message).includes('concurrent operation on the same transaction')) log.debug(`kafkajs: ${message}`, fields);
      else if (level === KafkaLogLevel.ERROR) log.error(`kafkajs: ${message}`, fields);
      else if (level === KafkaLogLevel.WARN) log.warn(`kafkajs: ${message}`, fields);
    };
}

export function createKafka(cfg: PulsoConfig, clientId: string, log: Logger): Kafka {
  return new Kafka({ clientId, brokers: cfg.kafka.brokers, logLevel: KafkaLogLevel.WARN, logCreator: kafkaLogCreator(log) });
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
