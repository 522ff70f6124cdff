// (a) Replay of the REAL CDC topics: the transformer (isolated output topics, own group and state) turns
// pulso.public.orders / order_items into events; then its consumer group is reset to the earliest offsets
// and everything is replayed. The output must hold every expected event exactly once (read_committed):
// the replay is recognised by the source-position dedupe whose state survived in the state topic.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { inheritedEnv, loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { DimensionTables } from '../../transformer/dimensions.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import { startTransformer, type TransformerOptions } from '../../transformer/consumeLoop.ts';
import { cdcTopic, isolatedTopicEnv, transformerGroupId, transformerTopics } from '../../lib/names.ts';
import { transformRecord } from '../../transformer/transform.ts';
import { deleteTopicsWithPrefix, readAll, testKafka, waitFor } from './support/kafkaHarness.ts';
import { runGenerator } from '../../generator/index.ts';
import { pollUntil, sleep } from '../../lib/poll.ts';
import { transformerStatus } from '../../pipeline/status.ts';

const cfg = loadConfig();
const run = `it-replay-${randomUUID().slice(0, 8)}`;
const kafka = testKafka();
// Every output is the test's own (its isolated names), while the input stays the real CDC topics.
const {
  cdcOrders: _o,
  cdcOrderItems: _i,
  cdcStock: _s,
  dimensions: _d,
  ...ownTopics
} = transformerTopics(loadConfig(inheritedEnv(isolatedTopicEnv(run))).topics);
const groupId = transformerGroupId({ prefix: run });
const opts: TransformerOptions = {
  instanceId: run,
  groupId,
  metricsPort: null,
  log: createLogger('transformer-it', 'error'),
  // Nothing reaches the topics the running pipeline's Druid ingests.
  topics: ownTopics,
};
const progress = (msg: string) => process.stderr.write(`[replay.int ${new Date().toISOString()}] ${msg}\n`);
// Every CDC input of the transformer (orders, items, stock): a replay resets them all.
const cdcTopics = [
  cdcTopic(cfg.topics, 'orders'),
  cdcTopic(cfg.topics, 'order_items'),
  cdcTopic(cfg.topics, 'stock_levels'),
];

afterAll(async () => {
  await deleteTopicsWithPrefix(kafka, run);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
});

async function endOffsets(): Promise<Map<string, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  const out = new Map<string, bigint>();
  for (const t of cdcTopics)
    for (const p of await admin.fetchTopicOffsets(t)) out.set(`${t}/${p.partition}`, BigInt(p.high));
  await admin.disconnect();
  return out;
}

/**
 * Runs the transformer until it has consumed past `ends`: its committed offsets (written only inside its
 * transactions) reach the last record before each end, and its own lag, which kafkajs computes past the
 * transaction markers that Connect's exactly-once writes end every partition with, is zero everywhere.
 */
async function runUntil(ends: Map<string, bigint>) {
  const handle = await startTransformer(cfg, opts);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      'transformer to consume up to the recorded ends',
      async () => {
        const lag = handle.metrics().consumer_lag;
        if (Object.values(lag).some((l) => l > 0)) return undefined;
        // A partition that never held a record has no batch, hence no lag entry and no committed offset:
        // only partitions with records must show the group's committed offset at (or past) their end.
        for (const t of cdcTopics) {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [t] });
          for (const p of committed?.partitions ?? []) {
            const end = ends.get(`${t}/${p.partition}`) ?? 0n;
            if (end > 0n && BigInt(p.offset) < end - 1n) return undefined;
          }
        }
        return true;
      },
      600_000,
    );
    return handle.metrics();
  } finally {
    await admin.disconnect();
    await handle.stop();
  }
}

async function outputIds(): Promise<string[]> {
  const msgs = [...(await readAll(kafka, ownTopics.orders)), ...(await readAll(kafka, ownTopics.orderItems))];
  return msgs.map((m) => (JSON.parse(m.value!) as { event_id: string }).event_id);
}

function duplicates(ids: string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
}

describe('replay of the real CDC topics (real stack)', () => {
  it('reset the consumer group, replay: the same events, nothing twice', async () => {
    // Real CDC traffic of our own, so the test holds on a fresh stack too: orders, items, status changes.
    await runGenerator({ rate: 200, orders: 40, seed: run, speedup: 600, drain: true, progress: 'off' });
    let last = '';
    // On a fresh stack the generator first creates its world (stores, customers, products): Debezium streams
    // those before the orders, so wait for order records to exist, then for the end offsets to settle.
    await waitFor(
      'Debezium to deliver the generated changes (end offsets non-zero and stable for 2 s)',
      async () => {
        const ends = await endOffsets();
        if ([...ends.values()].reduce((a, b) => a + b, 0n) === 0n) return undefined;
        const now = [...ends].map(([k, v]) => `${k}=${v}`).join(',');
        if (now !== last) {
          last = now;
          await sleep(2000);
          return undefined;
        }
        return true;
      },
      240_000,
    );
    const ends = await endOffsets();
    // What a correct transformer emits for the CDC records up to `ends`: the pure transform, in partition order.
    const expected = new Set<string>();
    const batch = new DedupeState().beginBatch();
    const ledger = new RollupLedger().beginBatch();
    const topics = { ...transformerTopics(cfg.topics), ...opts.topics };
    for (const t of cdcTopics) {
      for (const m of await readAll(kafka, t)) {
        if (BigInt(m.offset) >= (ends.get(`${t}/${m.partition}`) ?? 0n)) continue;
        const rec = {
          topic: t,
          partition: m.partition,
          offset: m.offset,
          key: m.key === null ? null : Buffer.from(m.key),
          value: m.value === null ? null : Buffer.from(m.value),
        };
        const o = transformRecord(rec, { dims: new DimensionTables(), dedupe: batch, ledger, topics, nowMs: 0 });
        if (o.kind === 'event')
          for (const out of o.outputs) expected.add((JSON.parse(out.value) as { event_id: string }).event_id);
      }
    }
    // Which orders a TRUNCATE in the history marks, and by which truncated event, depends on how the input
    // partitions interleave (docs/contracts.md); every change's own event does not.
    for (const id of expected) if (id.endsWith(':truncated')) expected.delete(id);
    expect(expected.size).toBeGreaterThan(0);
    progress(`expected ${expected.size} events up to ${[...ends.values()].reduce((a, b) => a + b, 0n)} CDC offsets`);

    const first = await runUntil(ends);
    progress(`first run: ${JSON.stringify({ consumed: first.consumed, produced: first.produced_total })}`);
    const afterFirst = await outputIds();
    expect(duplicates(afterFirst)).toEqual([]);
    const firstIds = new Set(afterFirst);
    expect([...expected].filter((id) => !firstIds.has(id))).toEqual([]);

    // Reset the group to the earliest offsets: everything is consumed again.
    const admin = kafka.admin();
    await admin.connect();
    for (const topic of cdcTopics) await admin.resetOffsets({ groupId, topic, earliest: true });
    await admin.disconnect();
    const second = await runUntil(await endOffsets());

    progress(
      `replay: ${JSON.stringify({ consumed: second.consumed, skipped: second.skipped_by_reason, produced: second.produced_total })}`,
    );
    const afterReplay = await outputIds();
    expect(duplicates(afterReplay)).toEqual([]);
    expect(new Set(afterReplay.slice(0, afterFirst.length).sort())).toEqual(new Set([...afterFirst].sort()));
    const replayed = new Set(afterReplay);
    expect(afterFirst.filter((id) => !replayed.has(id))).toEqual([]);
    // The second run did consume the history again and recognised it: by input offset (the state topic kept the
    // offsets the group lost), which also covers snapshot rows re-read at an older version since.
    expect(second.consumed).toBeGreaterThanOrEqual(first.consumed);
    // Every record the first run consumed is recognised (a TRUNCATE is one record and many events).
    expect(second.skipped_by_reason.replayed ?? 0).toBeGreaterThanOrEqual(first.consumed);

    // The replay group read the live pipeline's CDC topics the whole time: the live transformer (the stack's,
    // its own group) must not have been fenced by it. A fence shows only at the victim's next transaction, so
    // new traffic goes through the live one, which must take it without aborting anything.
    const liveBefore = (await transformerStatus(cfg))!;
    await runGenerator({ rate: 50, orders: 5, seed: `${run}-after`, speedup: 600, drain: true, progress: 'off' });
    const liveAfter = await pollUntil(
      async () => {
        const t = (await transformerStatus(cfg))!;
        return t.consumed > liveBefore.consumed && t.consumerLag === 0 ? t : undefined;
      },
      { what: 'the live transformer to take the new traffic', timeoutMs: 60_000, intervalMs: 250 },
    );
    progress(
      `live transformer: consumed ${liveAfter.consumed - liveBefore.consumed} new records, aborted ${liveBefore.abortedTransactions} → ${liveAfter.abortedTransactions}`,
    );
    expect(liveAfter.abortedTransactions).toBe(liveBefore.abortedTransactions);
  }, 900_000);
});
