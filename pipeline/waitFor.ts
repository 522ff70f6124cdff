// Waiting for a service with a visible countdown, then naming it and its URL if it never answers.
import pg from 'pg';
import { redactUrl, type PulsoConfig } from '../lib/config.ts';
import { debeziumPluginLoaded } from '../lib/connectClient.ts';
import { druidHealthy } from '../lib/druidClient.ts';
import { createKafka, kafkaAnswers } from '../lib/kafka.ts';
import { pollUntil, PollTimeoutError } from '../lib/poll.ts';
import { PulsoError } from '../lib/errors.ts';
export class ServiceDownError extends PulsoError {
  constructor(
    readonly service: string,
    readonly url: string,
    waitedS: number,
    lastError?: string,
  ) {
    super(
      `${service} at ${url} did not answer within ${waitedS}s${lastError ? ` (last error: ${lastError})` : ''}. Is it running? Locally: npm run up; with compose: docker compose ... up -d.`,
      { retriable: true },
    );
  }
}

export interface WaitOptions {
  readonly timeoutS: number;
  readonly log: (line: string) => void;
  readonly intervalMs?: number;
}

/** Polls `probe` until it returns true; prints "waiting for X at URL… Ns left" every 5 s. */
export async function waitForService(
  service: string,
  url: string,
  probe: () => Promise<boolean>,
  opts: WaitOptions,
): Promise<number> {
  const t0 = Date.now();
  try {
    await pollUntil(probe, {
      what: `${service} at ${url}`,
      timeoutMs: opts.timeoutS * 1000,
      intervalMs: opts.intervalMs ?? 500,
      onProgress: ({ leftMs }) => opts.log(`waiting for ${service} at ${url}… ${Math.ceil(leftMs / 1000)}s left`),
    });
  } catch (e) {
    if (e instanceof PollTimeoutError)
      throw new ServiceDownError(service, url, opts.timeoutS, (e.lastError as Error | undefined)?.message);
    throw e;
  }
  return Date.now() - t0;
}

/** Waits, in parallel, for every service the bootstrap talks to: PostgreSQL, Kafka, Kafka Connect, Druid. */
export async function waitForPipelineServices(cfg: PulsoConfig, adminUrl: string, opts: WaitOptions): Promise<void> {
  const kafka = createKafka(cfg, 'pulso-bootstrap', { retry: { retries: 2 } });
  const postgresAnswers = async () => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  await Promise.all([
    waitForService('PostgreSQL', redactUrl(adminUrl), postgresAnswers, opts),
    waitForService('Kafka', cfg.kafka.brokers.join(','), () => kafkaAnswers(kafka), opts),
    waitForService('Kafka Connect', cfg.connect.url, () => debeziumPluginLoaded(cfg.connect.url), opts),
    waitForService('Druid', cfg.druid.url, () => druidHealthy(cfg.druid.url), opts),
  ]);
}
