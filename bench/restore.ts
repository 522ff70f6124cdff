// `npm run bench:restore`: how fast the transformer rebuilds its state after a restart or a rebalance, the
// time during which it consumes nothing. Prints figures, asserts nothing. Needs the stack (Kafka).
//  1. Builds a state topic of --rows records shaped like the real ones: the ledger entries and dedupe records
//     that transforming the benchmark envelopes produces, cloned with distinct keys (orders and items in the
//     same proportion), written once into a throwaway compacted topic.
//  2. Times the real restoreState (read_committed reader, to the end) on it, --runs times, and the same
//     records loaded into fresh state in memory (no Kafka), which is the part that is ours.
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { flagsOrExit, numberFlag, parseFlags, runCommand } from '../lib/cliArgs.ts';
import { DedupeState } from '../transformer/dedupe.ts';
import { DimensionTables } from '../transformer/dimensions.ts';
import { applyStateRecord, restoreState } from '../transformer/restoreState.ts';
import { RollupLedger } from '../transformer/rollup/ledger.ts';
import { transformerTopics } from '../lib/names.ts';
import { transformRecord } from '../transformer/transform.ts';
import { benchEnvelopes } from './transformerEnvelopes.ts';

const USAGE = 'usage: npm run bench:restore [-- --rows 500000 --runs 3]';
const { ROWS, RUNS } = flagsOrExit('bench:restore', USAGE, () => {
  const { values } = parseFlags(process.argv.slice(2), { rows: { type: 'string', default: '500000' }, runs: { type: 'string', default: '3' } });
  return {
    ROWS: numberFlag('--rows', values.rows, { integer: true, min: 1000, what: 'an integer ≥ 1000' }),
    RUNS: numberFlag('--runs', values.runs, { integer: true, min: 1, what: 'an integer ≥ 1' }),
  };
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Real state records: what the transformer writes for the benchmark envelopes, one committed batch. */
function templateRecords(): { key: string; value: string | null }[] {
  const topics = transformerTopics(loadConfig({}).topics);
  const dedupe = new DedupeState();
  const ledger = new RollupLedger();
  const d = dedupe.beginBatch();
  const l = ledger.beginBatch();
  for (const r of benchEnvelopes(800, 'pulso')) transformRecord(r, { dims: new DimensionTables(), dedupe: d, ledger: l, topics, nowMs: 0 });
  return [...l.stateRecords(), ...d.stateRecords()];
}

/** --rows records: the template's ledger entries with distinct primary keys, then its dedupe records once. */
function stateRecords(rows: number): { key: string; value: string | null }[] {
  const template = templateRecords();
  const ledgerRows = template.filter((r) => r.key.startsWith('rollup|'));
  const others = template.filter((r) => !r.key.startsWith('rollup|'));
  const out: { key: string; value: string | null }[] = [];
  for (let i = 0; out.length < rows - others.length; i++) {
    const t = ledgerRows[i % ledgerRows.length]!;
    out.push({ key: `${t.key}-${Math.floor(i / ledgerRows.length)}`, value: t.value });
  }
  return [...out, ...others];
}

async function main(): Promise<void> {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other processes share these cores)`);
  const cfg = loadConfig();
  const kafka = new Kafka({ clientId: 'pulso-bench-restore', brokers: cfg.kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench-${randomUUID().slice(0, 8)}.transformer_state`;
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
  try {
    const records = stateRecords(ROWS);
    const bytes = records.reduce((n, r) => n + r.key.length + (r.value?.length ?? 0), 0);
    const producer = kafka.producer();
    await producer.connect();
    const t0 = performance.now();
    for (let i = 0; i < records.length; i += 2000) {
      await producer.send({ topic, messages: records.slice(i, i + 2000) });
      if (i % 100_000 === 0) process.stderr.write(`\rwriting the state topic: ${fmt(i)} / ${fmt(records.length)}`);
    }
    process.stderr.write('\n');
    await producer.disconnect();
    console.log(`state topic: ${fmt(records.length)} records, ${(bytes / 2 ** 20).toFixed(0)} MiB (≈ ${fmt(bytes / records.length)} B each), written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const quiet = createLogger('bench', 'error');
    for (let run = 1; run <= RUNS; run++) {
      const dedupe = new DedupeState();
      const ledger = new RollupLedger();
      const started = performance.now();
      await restoreState({ kafka, admin, stateTopic: topic, dedupe, ledger, log: quiet });
      const secs = (performance.now() - started) / 1000;
      if (ledger.size() + dedupe.size().watermarks === 0) throw new Error('restore loaded nothing');
      console.log(`restoreState run ${run}: ${secs.toFixed(1)} s = ${fmt(records.length / secs)} records/s (${fmt(ledger.size())} ledger rows loaded)`);
    }
    // Our share of it: the same records into fresh state, no Kafka.
    const keys = records.map((r) => ({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) }));
    const started = performance.now();
    const dedupe = new DedupeState();
    const ledger = new RollupLedger();
    for (const r of keys) applyStateRecord(dedupe, ledger, r.key.toString(), r.value ? r.value.toString() : null);
    const secs = (performance.now() - started) / 1000;
    console.log(`loading the same records in memory (toString + parse + map, no Kafka): ${secs.toFixed(1)} s = ${fmt(records.length / secs)} records/s`);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

runCommand('bench:restore', USAGE, main);
