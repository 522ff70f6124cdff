// One error base class with `retriable` and `cause`, and the wait/retry helpers that read it.
import { describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { errorMessage, isRetriable, PulsoError } from '../../lib/errors.ts';
import { pollUntil, PollTimeoutError, retry } from '../../lib/poll.ts';
import { ConfigError } from '../../lib/config.ts';
import { DruidError } from '../../lib/druidClient.ts';
import { ConnectError } from '../../lib/connectClient.ts';
import { DatabaseUnreachableError } from '../../lib/postgresClient.ts';
import { DecodeError } from '../../transformer/decode/errors.ts';
import { ProducerFencedError } from '../../transformer/kafkaClient.ts';

describe('PulsoError', () => {
  it('names itself after its class, keeps its cause, and is not retriable unless it says so', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new ConfigError('KAFKA_PORT must be a port');
    expect(e).toBeInstanceOf(PulsoError);
    expect(e.name).toBe('ConfigError');
    expect(e.retriable).toBe(false);
    const r = new PulsoError('Druid is starting', { retriable: true, cause });
    expect(r.retriable).toBe(true);
    expect(r.cause).toBe(cause);
  });

  it('classifies the clients’ errors: no answer or a server failure is retriable, a refusal is not', () => {
    expect(new DruidError('Druid at x did not answer', 0).retriable).toBe(true);
    expect(new DruidError('Druid SQL failed (HTTP 500: boom)', 500).retriable).toBe(true);
    expect(new DruidError("Druid SQL failed (HTTP 400: Object 'orders' not found)", 400).retriable).toBe(true);
    expect(new DruidError('Druid SQL failed (HTTP 400: Encountered "FROMM")', 400).retriable).toBe(false);
    expect(new ConnectError('Kafka Connect rejected x: HTTP 400', 400).retriable).toBe(false);
    expect(new ConnectError('Kafka Connect at x did not answer', 0).retriable).toBe(true);
    expect(new DatabaseUnreachableError('no database at …').retriable).toBe(true);
    expect(new DecodeError('invalid_json', 'not JSON').retriable).toBe(false);
    expect(new PollTimeoutError('x', 10, new Error('last')).retriable).toBe(true);
  });

  it('isRetriable reads ours and kafkajs’ flag the same way, and nothing else is retriable', () => {
    expect(isRetriable(new PulsoError('a', { retriable: true }))).toBe(true);
    expect(isRetriable(new PulsoError('a'))).toBe(false);
    expect(isRetriable(new kafkajs.KafkaJSError('broker', { retriable: true }))).toBe(true);
    expect(isRetriable(new kafkajs.KafkaJSNonRetriableError('fatal'))).toBe(false);
    expect(isRetriable(new ProducerFencedError('t', 0, new Error('fenced')))).toBe(true);
    expect(isRetriable(new TypeError('x is undefined'))).toBe(false);
    expect(isRetriable('a string')).toBe(false);
    expect(errorMessage(new Error('m'))).toBe('m');
    expect(errorMessage(42)).toBe('42');
  });
});

describe('retry and poll read `retriable`', () => {
  it('retry tries a retriable failure again and gives up at once on one that is not', async () => {
    let calls = 0;
    const value = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw new PulsoError('not yet', { retriable: true });
        return 'done';
      },
      { attempts: 5, initialDelayMs: 1 },
    );
    expect([value, calls]).toEqual(['done', 3]);
    calls = 0;
    const fatal = new ConfigError('bad setting');
    await expect(
      retry(
        async () => {
          calls += 1;
          throw fatal;
        },
        { attempts: 5, initialDelayMs: 1 },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('pollUntil treats a retriable error as "not yet" and ends the wait on one of ours that is not', async () => {
    let probes = 0;
    const v = await pollUntil(
      () => {
        probes += 1;
        if (probes < 3) throw new DruidError("Object 'orders' not found", 400);
        return probes;
      },
      { what: 'rows', timeoutMs: 5000, intervalMs: 1 },
    );
    expect(v).toBe(3);
    probes = 0;
    const refused = new DruidError('Encountered "FROMM"', 400);
    await expect(
      pollUntil(
        () => {
          probes += 1;
          throw refused;
        },
        { what: 'rows', timeoutMs: 5000, intervalMs: 1 },
      ),
    ).rejects.toBe(refused);
    expect(probes).toBe(1);
  });

  it('pollUntil keeps waiting through errors that are not ours, and names the last one at its deadline', async () => {
    const err = await pollUntil(
      () => {
        throw new Error('connection refused');
      },
      { what: 'the broker', timeoutMs: 30, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PollTimeoutError);
    expect((err as PollTimeoutError).message).toMatch(/waiting for the broker \(last error: connection refused\)/);
    expect((err as PollTimeoutError).cause).toBeInstanceOf(Error);
  });
});
