// `npm run bench:restore`: how long the transformer's state takes to be ready after it is assigned its
// partitions, and how much memory it takes, as history grows. Prints figures, asserts nothing. Needs Kafka.
//  1. A throwaway partitioned state topic holding --orders orders with their items, as the transformer writes
//     them (its real ledger entries for the benchmark envelopes, cloned with distinct keys, each in the state
//     partition of the input partition Kafka Connect would put the row in).
//  2. Each phase in a process of its own (bench/restorePhase.ts), its wall time, CPU and peak resident memory:
//     first start (no local store: every partition read), clean restart (the store is current), after a
//     SIGKILL (--tail records committed after the store's checkpoint), a rebalance that brings partitions
//     this instance held before (their tails) and partitions it never held (read whole); and the old design,
//     the whole topic parsed into memory, where it fits (--old, default up to 2 M orders).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../lib/config.ts';
import { flagsOrExit, numberFlag, parseFlags, runCommand } from '../lib/cliArgs.ts';
import { isolatedTopicEnv, transformerGroupId, transformerStateTopic, transformerTopics } from '../lib/names.ts';
import { DedupeState } from '../transformer/dedupe.ts';
import { DimensionTables } from '../transformer/dimensions.ts';
import { RollupLedger } from '../transformer/rollup/ledger.ts';
import { inputPartitionOfRow, stateLayout, statePartitionOf } from '../transformer/state/stateLayout.ts';
import { transformRecord } from '../transformer/transform.ts';
import { benchEnvelopes } from './transformerEnvelopes.ts';
import { freePort } from '../lib/freePort.ts';
import { produceInput, runTransformer, runUntilCrash, type TransformerRun } from './restoreTransformer.ts';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../lib/kafka.ts';
import { PulsoError } from '../lib/errors.ts';

const USAGE = 'usage: npm run bench:restore [-- --orders 1000000 --tail 5000 --old true|false]';
const { ORDERS, TAIL, OLD } = flagsOrExit('bench:restore', USAGE, () => {
  const { values } = parseFlags(process.argv.slice(2), {
    orders: { type: 'string', default: '200000' },
    tail: { type: 'string', default: '5000' },
    old: { type: 'string', default: 'auto' },
  });
  const orders = numberFlag('--orders', values.orders, { integer: true, min: 1000, what: 'an integer ≥ 1000' });
  if (!['auto', 'true', 'false'].includes(values.old!)) throw new PulsoError('--old must be true, false or auto');
  return {
    ORDERS: orders,
    TAIL: numberFlag('--tail', values.tail, { integer: true, min: 1, what: 'an integer ≥ 1' }),
    OLD: values.old === 'auto' ? orders <= 2_000_000 : values.old === 'true',
  };
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const PARTITIONS = { orders: 3, items: 3 };

/** One order's and one item's ledger entries as the transformer writes them for the benchmark envelopes. */
function templates(): { order: string; items: string[] } {
  const topics = transformerTopics(loadConfig({}).topics);
  const d = new DedupeState().beginBatch();
  const l = new RollupLedger().beginBatch();
  for (const r of benchEnvelopes(8, 'pulso'))
    transformRecord(r, { dims: new DimensionTables(), dedupe: d, ledger: l, topics, nowMs: 0 });
  const records = l.stateRecords();
  const order = records.find((r) => r.key.startsWith('rollup|orders|'))!.value!;
  const items = records.filter((r) => r.key.startsWith('rollup|order_items|')).map((r) => r.value!);
  return { order, items };
}

async function writeState(
  kafka: Kafka,
  topic: string,
  orders: number,
  firstOrder = 1,
): Promise<{ records: number; bytes: number }> {
  const t = templates();
  const layout = stateLayout([
    { topic: 'o', partitions: PARTITIONS.orders },
    { topic: 'i', partitions: PARTITIONS.items },
  ]);
  const producer = kafka.producer();
  await producer.connect();
  let records = 0;
  let bytes = 0;
  let batch: { key: string; value: string; partition: number }[] = [];
  let inFlight: Promise<unknown>[] = [];
  // Four requests in flight: one at a time, the writer (not the restore) was most of a 10 M run.
  const flush = async () => {
    if (batch.length) inFlight.push(producer.send({ topic, messages: batch, acks: 1 }));
    batch = [];
    if (inFlight.length >= 4) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  };
  for (let o = firstOrder; o < firstOrder + orders; o++) {
    batch.push({
      key: `rollup|orders|${o}`,
      value: t.order,
      partition: statePartitionOf(layout, 'o', inputPartitionOfRow(String(o), PARTITIONS.orders)),
    });
    t.items.forEach((value, k) => {
      const pk = String(o * 4 + k);
      batch.push({
        key: `rollup|order_items|${pk}`,
        value,
        partition: statePartitionOf(layout, 'i', inputPartitionOfRow(pk, PARTITIONS.items)),
      });
    });
    if (batch.length >= 5000) {
      records += batch.length;
      bytes += batch.reduce((n, m) => n + m.key.length + m.value.length, 0);
      await flush();
      if (records % 500_000 < 5000) process.stderr.write(`\rwriting the state topic: ${fmt(records)} records`);
    }
  }
  records += batch.length;
  bytes += batch.reduce((n, m) => n + m.key.length + m.value.length, 0);
  await flush();
  await Promise.all(inFlight);
  process.stderr.write('\n');
  await producer.disconnect();
  return { records, bytes };
}

function phase(label: string, args: Record<string, unknown>): void {
  // The store phases run with the transformer's heap limit; the old design needs room for every row.
  const heap = args.design === 'memory' ? 16_384 : loadConfig().transformer.heapMb;
  const r = spawnSync(
    process.execPath,
    [`--max-old-space-size=${heap}`, '--import', 'tsx', 'bench/restorePhase.ts', JSON.stringify(args)],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) {
    console.log(`${label.padEnd(44)} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  const x = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    ms: number;
    cpuMs: number;
    maxRssMiB: number;
    rssAnonMiB: number;
    rssFileMiB: number;
    read: number;
    rows: number;
  };
  console.log(
    `${label.padEnd(44)} ${(x.ms / 1000).toFixed(2).padStart(7)} s  cpu ${(x.cpuMs / 1000).toFixed(2).padStart(6)} s  peak RSS ${fmt(x.maxRssMiB).padStart(6)} MiB (at the end: heap and other ${fmt(x.rssAnonMiB).padStart(5)}, mapped store pages ${fmt(x.rssFileMiB).padStart(5)})  read ${fmt(x.read).padStart(11)}  rows held ${fmt(x.rows)}`,
  );
}

function printRun(label: string, r: TransformerRun): void {
  console.log(
    `${label.padEnd(44)} assigned → first commit ${(r.firstCommitMs / 1000).toFixed(2).padStart(6)} s (restore ${((r.restoreMs ?? 0) / 1000).toFixed(2)} s)  start → assigned ${(r.joinMs / 1000).toFixed(1)} s  peak RSS ${fmt(r.peakRssMiB)} MiB`,
  );
}

/** The real transformer on this history: first start (the store empty), clean restart, restart after a SIGKILL. */
async function transformerPhases(kafka: Kafka, prefix: string, stateDir: string): Promise<void> {
  const env = {
    ...isolatedTopicEnv(prefix),
    TRANSFORMER_STATE_DIR: stateDir,
    TRANSFORMER_INSTANCE_ID: 'bench',
    TRANSFORMER_METRICS_PORT: String(await freePort()),
  };
  const input = benchEnvelopes(4000, prefix);
  await produceInput(kafka, input.slice(0, 1000));
  printRun('transformer: first start (whole topic read)', await runTransformer(env));
  await produceInput(kafka, input.slice(1000, 2000));
  printRun('transformer: clean restart', await runTransformer(env));
  await produceInput(kafka, input.slice(2000, 3000));
  await runUntilCrash(env); // killed after a commit, before its local write: that transaction is the tail
  await produceInput(kafka, input.slice(3000));
  printRun('transformer: restart after a SIGKILL', await runTransformer(env));
}

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const cfg = loadConfig();
  const kafka = createKafka(cfg, 'pulso-bench-restore', { retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  // A pipeline of its own (topics under a prefix), so that the real transformer can run on this history too.
  const prefix = `bench-restore-${randomUUID().slice(0, 8)}`;
  const topic = transformerStateTopic({ prefix });
  const statePartitions = PARTITIONS.orders + PARTITIONS.items;
  const cdc = transformerTopics(loadConfig(isolatedTopicEnv(prefix)).topics);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: statePartitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: cdc.cdcOrders, numPartitions: PARTITIONS.orders },
      { topic: cdc.cdcOrderItems, numPartitions: PARTITIONS.items },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'pulso-bench-store-'));
  const all = Array.from({ length: statePartitions }, (_, p) => p);
  try {
    const t0 = performance.now();
    const w = await writeState(kafka, topic, ORDERS);
    console.log(
      `state topic: ${fmt(ORDERS)} orders with their items = ${fmt(w.records)} records, ${fmt(w.bytes / 2 ** 20)} MiB, ${statePartitions} partitions, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const store = (d: string, parts: number[]) => ({ design: 'store', dir: d, topic, parts, statePartitions });
    phase('first start (no local store, all 6 read)', store(join(dir, 'a'), all));
    phase('clean restart (store current)', store(join(dir, 'a'), all));
    const tail = await writeState(kafka, topic, Math.max(1, Math.round(TAIL / 4)), 1); // updates of existing orders, after the checkpoint
    phase(`after a SIGKILL (${fmt(tail.records)} records after the checkpoint)`, store(join(dir, 'a'), all));
    phase('rebalance: 3 partitions held before (tails)', store(join(dir, 'a'), [0, 3, 4]));
    phase('rebalance: 3 partitions never held (whole)', store(join(dir, 'b'), [0, 3, 4]));
    if (OLD)
      phase('old design: whole topic parsed into memory', {
        design: 'memory',
        dir,
        topic,
        parts: all,
        statePartitions,
      });
    else console.log('old design: not run at this size (--old true to try; it holds every row in the heap)');
    await transformerPhases(kafka, prefix, join(dir, 't'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const owned = (await admin.listTopics()).filter(
      (t) => t.startsWith(`${prefix}.`) || t.startsWith(`__debezium-heartbeat.${prefix}`),
    );
    await admin.deleteTopics({ topics: owned }).catch(() => undefined);
    await admin.deleteGroups([transformerGroupId(loadConfig(isolatedTopicEnv(prefix)).topics)]).catch(() => undefined);
    await admin.disconnect();
  }
}

runCommand('bench:restore', USAGE, main);
