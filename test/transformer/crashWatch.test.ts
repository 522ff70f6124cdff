// A consumer that kafkajs restarts inside the process, again and again, must show on /health (and so to the
// supervisor); one crash followed by committed work must not.
import { describe, expect, it } from 'vitest';
import { CRASH_LOOP, CrashWatch } from '../../transformer/crashWatch.ts';
import { TransformerMetrics } from '../../transformer/metrics.ts';
import { serveMetrics } from '../../transformer/metricsServer.ts';
import type { AddressInfo } from 'node:net';
import axios from 'axios';

describe('CrashWatch', () => {
  it('three crashes within five minutes with no committed transaction between them are a crash loop', () => {
    const w = new CrashWatch();
    w.recordCrash('a', 0);
    w.recordCrash('b', 60_000);
    expect(w.looping(60_000)).toBe(false);
    w.recordCrash('c', 120_000);
    expect(w.looping(120_000)).toBe(true);
    expect(w.lastError).toBe('c');
    // The window slides: the first crash ages out.
    expect(w.looping(CRASH_LOOP.windowMs + 1)).toBe(false);
  });

  it('committed work in between clears it', () => {
    const w = new CrashWatch();
    w.recordCrash('a', 0);
    w.recordCrash('b', 1);
    w.recordProgress();
    w.recordCrash('c', 2);
    expect(w.looping(2)).toBe(false);
    expect(w.counts(2)).toEqual({ recent: 1, total: 3 });
  });
});

/** A running instance's metrics, served on a free port; the URL of its /health. */
async function runningMetricsServer() {
  const m = new TransformerMetrics({ instance: 't', groupId: 'g', transactionalIds: () => [] }, () => ({
    dimensions: {},
    state: { partitions: [], rows: 0 },
  }));
  m.status = 'running';
  const server = await serveMetrics(m, 0);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  return { m, server, url };
}

describe('/health of a crash-looping transformer', () => {
  it('answers 503 with the crash count and the last error, and 200 again after a committed transaction', async () => {
    const { m, server, url } = await runningMetricsServer();
    try {
      const get = (u: string) => axios.get(u, { validateStatus: () => true });
      expect((await get(url)).status).toBe(200);
      for (let i = 0; i < 3; i++) m.recordCrash(`The group coordinator is not available (${i})`);
      const r = await get(url);
      expect(r.status).toBe(503);
      expect(r.data).toEqual({
        status: 'crash-looping',
        consumer_crashes: 3,
        last_error: 'The group coordinator is not available (2)',
      });
      expect(m.snapshot().status).toBe('crash-looping');
      expect((await get(url.replace('/health', '/metrics'))).data).toMatch(
        /pulso_transformer_consumer_crashes_total\{instance="t"\} 3/,
      );
      m.recordBatch({
        consumed: 1,
        produced: new Map(),
        bytes: 1,
        phasesMs: { transform: 0, produce: 0, commit: 0 },
        deadLettered: new Map(),
        skipped: new Map(),
        latenciesMs: [],
      });
      expect((await get(url)).status).toBe(200);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('/health of a transformer re-reading its state', () => {
  it('answers 503 "restoring" with its progress while the re-read runs, 200 once it ended', async () => {
    const { m, server, url } = await runningMetricsServer();
    const get = (u: string) => axios.get(u, { validateStatus: () => true });
    try {
      m.restore.started();
      m.restore.progressed({ read: 250_000, total: 1_000_000 });
      const r = await get(url);
      expect(r.status).toBe(503);
      expect(r.data).toMatchObject({ status: 'restoring', restored: 250_000, to_restore: 1_000_000 });
      expect((await get(url.replace('/health', '/metrics'))).data).toMatch(
        /pulso_transformer_restore_records\{kind="read",instance="t"\} 250000/,
      );
      m.restore.progressed({ read: 1_000_000, total: 1_000_000 });
      m.restore.ended();
      expect((await get(url)).status).toBe(200);
      expect(m.snapshot().restore).toMatchObject({ active: false, read: 1_000_000, total: 1_000_000 });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
