// The local state store's exactness at every crash point (docs/contracts.md, "Transformer state"): the
// transformer, a child process, SIGKILLs itself before a transaction commits, after it commits but before the
// local store is written, and in the middle of the local store's LMDB write; restarted, it reads the state
// topic's tail from its checkpoint, and the output holds every event once and rollup deltas that sum exactly
// to the pure transform's. Then the local store is deleted, and corrupted, between runs: rebuilt from the state
// topic with a message, still exact. Real Kafka, real transactions, real LMDB.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inheritedEnv, PROJECT_ROOT } from '../../lib/config.ts';
import { pollUntil } from '../../lib/poll.ts';
import { benchEnvelopes } from '../../bench/transformerEnvelopes.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { DimensionTables } from '../../transformer/dimensions.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import type { InputRecord } from '../../transformer/transform.ts';
import { transformRecord } from '../../transformer/transform.ts';
import {
  createTopics,
  deletePipelineOfPrefix,
  freePort,
  readAll,
  testKafka,
  testPrefix,
  waitForGroupToCommitInput,
  type TestPrefix,
} from './support/kafkaHarness.ts';

const kafka = testKafka();
const children: ChildProcess[] = [];
const prefixes: TestPrefix[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const t of prefixes) {
    await deletePipelineOfPrefix(kafka, t);
    rmSync(t.env.TRANSFORMER_STATE_DIR!, { recursive: true, force: true });
  }
});

function startChild(t: TestPrefix, extraEnv: Record<string, string>, stderr: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'transformer/main.ts'], {
    cwd: PROJECT_ROOT,
    env: inheritedEnv({
      ...t.env,
      LOG_LEVEL: 'info',
      TRANSFORMER_INSTANCE_ID: 'crash',
      TRANSFORMER_SESSION_TIMEOUT_MS: '6000',
      ...extraEnv,
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => stderr.push(...d.toString().split('\n').filter(Boolean)));
  children.push(child);
  return child;
}

const exited = (c: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    c.exitCode !== null || c.signalCode !== null
      ? r({ code: c.exitCode, signal: c.signalCode })
      : c.once('exit', (code, signal) => r({ code, signal })),
  );

/** What a correct pipeline writes for these records: event ids, and the rollup's sums by status. */
function expected(t: TestPrefix, records: InputRecord[]) {
  const dims = new DimensionTables();
  const dedupe = new DedupeState().beginBatch();
  const ledger = new RollupLedger().beginBatch();
  const events = new Set<string>();
  const deltas: string[] = [];
  for (const r of records) {
    const o = transformRecord(r, { dims, dedupe, ledger, topics: t.topics, nowMs: 0 });
    if (o.kind !== 'event') continue;
    for (const out of o.outputs) events.add((JSON.parse(out.value) as { event_id: string }).event_id);
    for (const d of o.rollup) if (d.topic === t.topics.orderDeltas) deltas.push(d.value);
  }
  return { events, sums: rollupSums(deltas) };
}

function rollupSums(values: string[]): Record<string, { orders: number; total_cents: number }> {
  const out: Record<string, { orders: number; total_cents: number }> = {};
  for (const v of values) {
    const d = JSON.parse(v) as { status: string; orders: number; total_cents: number };
    const g = (out[d.status] ??= { orders: 0, total_cents: 0 });
    g.orders += d.orders;
    g.total_cents += d.total_cents; // signed: −1 rows carry −total
  }
  for (const [k, g] of Object.entries(out)) if (g.orders === 0 && g.total_cents === 0) delete out[k];
  return out;
}

async function produce(t: TestPrefix, records: InputRecord[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (const topic of [t.topics.cdcOrders, t.topics.cdcOrderItems]) {
    const messages = records.filter((r) => r.topic === topic).map((r) => ({ key: r.key, value: r.value }));
    for (let i = 0; i < messages.length; i += 400) await producer.send({ topic, messages: messages.slice(i, i + 400) });
  }
  await producer.disconnect();
}

async function checkOutput(t: TestPrefix, want: ReturnType<typeof expected>): Promise<void> {
  const out = [...(await readAll(kafka, t.topics.orders)), ...(await readAll(kafka, t.topics.orderItems))];
  const ids = out.map((o) => (JSON.parse(o.value!) as { event_id: string }).event_id);
  expect(ids.length - new Set(ids).size, 'events written twice').toBe(0);
  expect(new Set(ids)).toEqual(want.events);
  const deltas = (await readAll(kafka, t.topics.orderDeltas)).map((d) => d.value!);
  expect(rollupSums(deltas)).toEqual(want.sums);
}

async function setUp(name: string, orders: number) {
  const t = testPrefix(name);
  prefixes.push(t);
  await createTopics(kafka, [t.topics.cdcOrders], 2);
  await createTopics(kafka, [t.topics.cdcOrderItems, t.topics.cdcStock], 1);
  const records = benchEnvelopes(orders * 8, t.prefix); // 5 order changes and 3 items per order
  return { t, records };
}

/** A clean run to the end of the input, then a graceful stop. */
async function runToEnd(t: TestPrefix, stderr: string[]): Promise<void> {
  const child = startChild(t, { TRANSFORMER_METRICS_PORT: String(await freePort()) }, stderr);
  await waitForGroupToCommitInput(kafka, t, 'the restarted transformer to commit the whole input', 150_000);
  child.kill('SIGTERM');
  expect((await exited(child)).code).toBe(0);
}

describe('the local state store at every crash point (real Kafka, child process, LMDB)', () => {
  for (const point of ['before-commit', 'after-commit', 'store-write'] as const) {
    it(`SIGKILL ${point}: the restart reads the state topic's tail and the output is exact`, async () => {
      const { t, records } = await setUp(`crash-${point}`, 1500);
      const half = records.length / 2;
      await produce(t, records.slice(0, half));
      // The first half in a clean run: committed, and in the local store.
      await runToEnd(t, []);
      await produce(t, records.slice(half));
      // Killed at its first pass through the point, in the middle of the second half. (Counting passes from the
      // start instead was flaky: the first half takes 3 or more transactions, depending on how the fetches fall.)
      const stderr: string[] = [];
      const first = startChild(
        t,
        { TRANSFORMER_METRICS_PORT: String(await freePort()), TRANSFORMER_CRASH_AT: `${point}:1` },
        stderr,
      );
      await pollUntil(() => first.exitCode !== null || first.signalCode !== null, {
        what: `the transformer to reach crash point ${point}`,
        timeoutMs: 90_000,
      });
      expect(await exited(first)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(stderr.some((l) => l.includes(`"point":"${point}"`))).toBe(true);
      const restored: string[] = [];
      await runToEnd(t, restored);
      const tail = restored
        .filter((l) => l.includes('state partitions restored'))
        .map((l) => JSON.parse(l) as { read: Record<string, number>; rebuilt: number[] });
      expect(tail.length).toBeGreaterThan(0);
      // The partitions the first run had checkpointed are read from their checkpoints, not rebuilt.
      expect(tail[0]!.rebuilt.length).toBeLessThan(3);
      console.log(`[crash ${point}] restore after the kill: ${JSON.stringify(tail[0])}`);
      await checkOutput(t, expected(t, records));
    });
  }

  it('a deleted, then a corrupted, local store is rebuilt from the state topic with a message; the output stays exact', async () => {
    const { t, records } = await setUp('crash-store', 1200);
    const third = records.length / 3;
    const storeDir = join(t.env.TRANSFORMER_STATE_DIR!, 'crash');
    await produce(t, records.slice(0, third));
    await runToEnd(t, []);
    rmSync(storeDir, { recursive: true, force: true });
    await produce(t, records.slice(third, 2 * third));
    const afterDelete: string[] = [];
    await runToEnd(t, afterDelete);
    // Every state partition: 2 of orders, 1 of order items, 1 of stock.
    expect(afterDelete.filter((l) => l.includes('rebuilding a state partition from the state topic')).length).toBe(4);
    for (const f of readdirSync(storeDir))
      if (f === 'data.mdb') writeFileSync(join(storeDir, f), Buffer.alloc(64 * 1024, 0x5a));
    await produce(t, records.slice(2 * third));
    const afterCorruption: string[] = [];
    await runToEnd(t, afterCorruption);
    expect(
      afterCorruption.some((l) =>
        l.includes('the local state store is unreadable; deleting it and rebuilding it from the state topic'),
      ),
    ).toBe(true);
    await checkOutput(t, expected(t, records));
  });
});
