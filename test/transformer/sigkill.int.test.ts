// (b) The transformer is killed with SIGKILL in the middle of a stream (a child process, no chance to clean
// up), restarted, and every event is in the output exactly once, although the input also carries
// Debezium-style repeats (a slice re-sent, as after a connector crash). Real Kafka, real transactions.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { inheritedEnv, PROJECT_ROOT } from '../../lib/config.ts';
import { benchEnvelopes } from '../../bench/transformerEnvelopes.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { DimensionTables } from '../../transformer/dimensions.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import { transformerTopics } from '../../lib/names.ts';
import { transformRecord } from '../../transformer/transform.ts';
import {
  createTopics,
  deletePipelineOfPrefix,
  freePort,
  readAll,
  testKafka,
  testPrefix,
  waitFor,
  waitForGroupToCommitInput,
} from './support/kafkaHarness.ts';
import { sleep } from '../../lib/poll.ts';
import { transformerMetrics } from '../../lib/transformerClient.ts';

const t = testPrefix('kill');
const kafka = testKafka();
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await deletePipelineOfPrefix(kafka, t);
});

function startChild(port: number): ChildProcess {
  // node --import tsx (not the tsx CLI): one process, so SIGKILL hits the transformer itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'transformer/main.ts'], {
    cwd: PROJECT_ROOT,
    // Six partitions in flight at once: the kill then leaves several open transactions for the restart to fence.
    env: inheritedEnv({
      ...t.env,
      TRANSFORMER_METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
      TRANSFORMER_CONCURRENCY: '6',
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[transformer child] ${d.toString()}`));
  children.push(child);
  return child;
}

async function metrics(port: number): Promise<{ consumed: number; status: string } | undefined> {
  return transformerMetrics<{ consumed: number; status: string }>(port).catch(() => undefined);
}

describe('transformer crash recovery (real Kafka, child process)', () => {
  it('SIGKILL mid-stream, restart: every event exactly once', async () => {
    const TOTAL = 8000;
    await createTopics(kafka, [t.topics.cdcOrders], 2);
    await createTopics(kafka, [t.topics.cdcOrderItems, t.topics.cdcStock], 1);
    const records = benchEnvelopes(TOTAL, t.prefix);
    // The input as Kafka will hold it: all records, then a repeated slice (Debezium after a crash).
    const stream = [...records, ...records.slice(3000, 4000)];

    // The events a correct run must produce: the pure transform over the unique records.
    const dims = new DimensionTables();
    const batch = new DedupeState().beginBatch();
    const ledger = new RollupLedger().beginBatch();
    const expectedIds = new Set<string>();
    for (const r of records) {
      const o = transformRecord(r, { dims, dedupe: batch, ledger, topics: transformerTopics(t.cfg.topics), nowMs: 0 });
      if (o.kind === 'event')
        for (const out of o.outputs) expectedIds.add((JSON.parse(out.value) as { event_id: string }).event_id);
    }
    expect(expectedIds.size).toBe(TOTAL);

    const producer = kafka.producer();
    await producer.connect();
    let sent = 0;
    const produceSome = async (n: number) => {
      for (const slice of [stream.slice(sent, sent + n)]) {
        for (const topic of [t.topics.cdcOrders, t.topics.cdcOrderItems]) {
          const messages = slice.filter((r) => r.topic === topic).map((r) => ({ key: r.key, value: r.value }));
          if (messages.length) await producer.send({ topic, messages });
        }
      }
      sent += n;
    };
    await produceSome(2000);

    const port1 = await freePort();
    const first = startChild(port1);
    // Beyond 4,000 records the feed waits for the kill: however slowly the child starts on a busy machine, it
    // cannot have read the whole stream before it is killed (it once read all 9,000 before the first look).
    let killed!: () => void;
    const killedNow = new Promise<void>((r) => (killed = r));
    const feeding = (async () => {
      while (sent < stream.length) {
        if (sent >= 4000) await killedNow;
        await produceSome(500);
        await sleep(100);
      }
    })();
    const consumedAtKill = await waitFor('first transformer mid-stream', async () => {
      const m = await metrics(port1);
      return m && m.consumed >= 1500 ? m.consumed : undefined;
    });
    first.kill('SIGKILL');
    killed();
    await new Promise((r) => first.once('exit', r));
    expect(first.signalCode).toBe('SIGKILL');
    expect(consumedAtKill).toBeLessThan(stream.length); // really mid-stream
    await feeding;
    await producer.disconnect();

    const port2 = await freePort();
    const second = startChild(port2);
    await waitForGroupToCommitInput(kafka, t, 'restarted transformer to commit the whole input', 150_000);
    const m2 = await metrics(port2);
    second.kill('SIGTERM');
    const exitCode = await new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
    expect(exitCode).toBe(0); // graceful stop

    const out = [...(await readAll(kafka, t.topics.orders)), ...(await readAll(kafka, t.topics.orderItems))];
    const ids = out.map((o) => (JSON.parse(o.value!) as { event_id: string }).event_id);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(ids.length).toBe(TOTAL);
    expect(new Set(ids)).toEqual(expectedIds);
    // The restarted instance saw the repeated slice and dropped it by source position.
    expect(
      (m2 as unknown as { skipped_by_reason: Record<string, number> }).skipped_by_reason.duplicate ?? 0,
    ).toBeGreaterThan(0);
  });
});
