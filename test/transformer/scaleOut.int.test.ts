// Scale-out: transformer instances in one consumer group share the CDC partitions, and the output holds every
// event and every rollup delta exactly once through the group's changes: two instances (both must own
// partitions), one SIGKILLed mid-stream, a third added, and one paused past its session (SIGSTOP, a zombie
// that has not noticed the rebalance) and resumed while the others work its partitions. Real Kafka, real
// transactions, child processes; the input also carries Debezium-style repeats.
import { spawn, type ChildProcess } from 'node:child_process';
import { transformerMetrics } from '../../lib/transformerClient.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { inheritedEnv, PROJECT_ROOT } from '../../lib/config.ts';
import { transformerTopics } from '../../lib/names.ts';
import { sleep } from '../../lib/poll.ts';
import { benchEnvelopes } from '../../bench/transformerEnvelopes.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { DimensionTables } from '../../transformer/dimensions.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
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

const t = testPrefix('scale');
const kafka = testKafka();
const children: ChildProcess[] = [];
const SESSION_MS = 8000;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await deletePipelineOfPrefix(kafka, t);
});

interface Instance {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
}

async function startInstance(name: string): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'transformer/main.ts'], {
    cwd: PROJECT_ROOT,
    env: inheritedEnv({
      ...t.env,
      TRANSFORMER_INSTANCE_ID: name,
      TRANSFORMER_METRICS_PORT: String(port),
      TRANSFORMER_SESSION_TIMEOUT_MS: String(SESSION_MS),
      LOG_LEVEL: 'warn',
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[transformer ${name}] ${d.toString()}`));
  children.push(child);
  return { name, port, child };
}

interface Snapshot {
  consumed: number;
  status: string;
  transactional_ids: string[];
  transactions: { committed: number; aborted: number };
}

async function metrics(i: Instance): Promise<Snapshot | undefined> {
  return transformerMetrics<Snapshot>(i.port).catch(() => undefined);
}

/** Resolves once the instance has committed work for at least one partition of its own. */
function owningAndWorking(i: Instance, minConsumed: number) {
  return waitFor(
    `${i.name} to own partitions and commit`,
    async () => {
      const m = await metrics(i);
      return m && m.transactional_ids.length > 0 && m.consumed >= minConsumed ? m : undefined;
    },
    120_000,
  );
}

describe('transformer scale-out (real Kafka, several instances in one group)', () => {
  it('two instances share the partitions; kill one, add one, pause one past its session: every event and delta exactly once', async () => {
    const TOTAL = 24_000;
    await createTopics(kafka, [t.topics.cdcOrders, t.topics.cdcOrderItems], 3);
    await createTopics(kafka, [t.topics.cdcStock], 1);
    const records = benchEnvelopes(TOTAL, t.prefix);
    // Debezium after a crash re-sends a slice: the repeats must be dropped by source position, wherever they land.
    const stream = [...records, ...records.slice(9000, 10_000)];

    // What a correct run must produce: the pure transform over the unique records.
    const dims = new DimensionTables();
    const batch = new DedupeState().beginBatch();
    const ledger = new RollupLedger().beginBatch();
    const topics = transformerTopics(t.cfg.topics);
    const expectedEvents = new Set<string>();
    const expectedDeltas = new Set<string>();
    for (const r of records) {
      const o = transformRecord(r, { dims, dedupe: batch, ledger, topics, nowMs: 0 });
      if (o.kind !== 'event') continue;
      for (const out of o.outputs) expectedEvents.add((JSON.parse(out.value) as { event_id: string }).event_id);
      for (const out of o.rollup)
        if (out.topic === topics.orderDeltas || out.topic === topics.itemDeltas)
          expectedDeltas.add((JSON.parse(out.value) as { delta_id: string }).delta_id);
    }
    expect(expectedEvents.size).toBe(TOTAL);

    const producer = kafka.producer();
    await producer.connect();
    let sent = 0;
    const produceSome = async (n: number) => {
      const slice = stream.slice(sent, sent + n);
      for (const topic of [t.topics.cdcOrders, t.topics.cdcOrderItems]) {
        const messages = slice.filter((r) => r.topic === topic).map((r) => ({ key: r.key, value: r.value }));
        if (messages.length) await producer.send({ topic, messages });
      }
      sent += slice.length;
    };
    // A steady stream for the whole test (~100 s), so every change of the group meets work in flight.
    const feeding = (async () => {
      while (sent < stream.length) {
        await produceSome(125);
        await sleep(500);
      }
    })();

    const a = await startInstance('a');
    const b = await startInstance('b');
    await Promise.all([owningAndWorking(a, 200), owningAndWorking(b, 200)]);
    // The group split the seven partitions (3 orders, 3 items, 1 stock) between them: each owned by exactly one
    // instance, none missing.
    const split = await waitFor(
      'a and b to split the seven partitions',
      async () => {
        const [ma, mb] = await Promise.all([metrics(a), metrics(b)]);
        if (!ma || !mb || !ma.transactional_ids.length || !mb.transactional_ids.length) return undefined;
        const owned = [...ma.transactional_ids, ...mb.transactional_ids];
        return owned.length === 7 ? { a: ma.transactional_ids, b: mb.transactional_ids, owned } : undefined;
      },
      60_000,
    );
    process.stderr.write(`[scale-out] a owns ${split.a.join(', ')}; b owns ${split.b.join(', ')}\n`);
    expect(new Set(split.owned).size).toBe(7);

    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    expect(sent).toBeLessThan(stream.length); // really mid-stream
    const c = await startInstance('c');
    await owningAndWorking(c, 200);

    // A zombie: b stops past its session while in the middle of its work; the group gives its partitions to c,
    // whose producers fence b's transactional ids. Resumed, b must not commit anything for them.
    b.child.kill('SIGSTOP');
    await sleep(SESSION_MS + 6000);
    b.child.kill('SIGCONT');

    await feeding;
    await producer.disconnect();
    await waitForGroupToCommitInput(kafka, t, 'the group to commit the whole input', 180_000);
    const [finalB, finalC] = await Promise.all([metrics(b), metrics(c)]);
    process.stderr.write(
      `[scale-out] after the pause: b ${JSON.stringify(finalB?.transactions)} owns ${finalB?.transactional_ids.join(', ')}; c ${JSON.stringify(finalC?.transactions)} owns ${finalC?.transactional_ids.join(', ')}\n`,
    );
    for (const i of [b, c]) i.child.kill('SIGTERM');
    const exits = await Promise.all(
      [b, c].map(
        (i) =>
          new Promise<number | null>((r) =>
            i.child.exitCode !== null ? r(i.child.exitCode) : i.child.once('exit', (code) => r(code)),
          ),
      ),
    );
    expect(exits).toEqual([0, 0]); // both stop gracefully

    const exactlyOnce = (ids: string[], expected: Set<string>) => {
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
      expect(ids.length).toBe(expected.size);
      expect(new Set(ids)).toEqual(expected);
    };
    const events = [...(await readAll(kafka, t.topics.orders)), ...(await readAll(kafka, t.topics.orderItems))];
    exactlyOnce(
      events.map((m) => (JSON.parse(m.value!) as { event_id: string }).event_id),
      expectedEvents,
    );
    const deltas = [...(await readAll(kafka, t.topics.orderDeltas)), ...(await readAll(kafka, t.topics.itemDeltas))];
    exactlyOnce(
      deltas.map((m) => (JSON.parse(m.value!) as { delta_id: string }).delta_id),
      expectedDeltas,
    );
  }, 420_000);
});
