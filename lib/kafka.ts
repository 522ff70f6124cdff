// The one place a kafkajs client is built: brokers from the configuration, kafkajs' log lines routed into our
// structured logger (or silenced for probes and scripts), and the broker probe every health check uses.
import kafkajs, { type Kafka, type RetryOptions } from 'kafkajs';
import type { PulsoConfig } from './config.ts';
import type { Logger } from './log.ts';

// kafkajs is CommonJS; Node's named-export detection misses some of its names.
const { Kafka: KafkaClient, logLevel: KafkaLogLevel } = kafkajs;

export interface KafkaClientOptions {
  /** Where kafkajs' warnings and errors go; without one the client is silent (probes, scripts that report themselves). */
  readonly log?: Logger;
  /** Default: cfg.kafka.brokers. */
  readonly brokers?: readonly string[];
  readonly retry?: RetryOptions;
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
}

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

export function createKafka(cfg: Pick<PulsoConfig, 'kafka'>, clientId: string, opts: KafkaClientOptions = {}): Kafka {
  return new KafkaClient({
    clientId,
    brokers: [...(opts.brokers ?? cfg.kafka.brokers)],
    logLevel: opts.log ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    ...(opts.log ? { logCreator: kafkaLogCreator(opts.log) } : {}),
    ...(opts.retry ? { retry: opts.retry } : {}),
    ...(opts.connectionTimeout ? { connectionTimeout: opts.connectionTimeout } : {}),
    ...(opts.requestTimeout ? { requestTimeout: opts.requestTimeout } : {}),
  });
}

/** True when a broker answers a metadata request; never throws. */
export async function kafkaAnswers(kafka: Kafka): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
