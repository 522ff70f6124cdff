// One phase of bench:restore in a process of its own, so that its peak resident memory is its own: brings a
// local state store (or, for the old design, memory) up to a state topic and prints one JSON line.
//   node --import tsx bench/restorePhase.ts '{"design":"store"|"memory","dir":…,"topic":…,"parts":[…]}'
import { readFileSync } from 'node:fs';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { LmdbStateStore, type StateStore } from '../transformer/state/localStore.ts';
import { restorePartitions } from '../transformer/state/restorePartitions.ts';
import { startTopicReader } from '../transformer/topicReader.ts';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../lib/kafka.ts';

interface PhaseArgs {
  readonly design: 'store' | 'memory';
  readonly dir: string;
  readonly topic: string;
  readonly parts: number[];
  readonly statePartitions: number;
}

/** The old design: every record of the whole topic parsed into one map in memory, as restoreState did. */
async function wholeTopicIntoMemory(kafka: Kafka, args: PhaseArgs): Promise<{ read: number; rows: number }> {
  const rows = new Map<string, unknown>();
  let read = 0;
  const reader = await startTopicReader(kafka, {
    name: 'bench-old',
    topics: [args.topic],
    log: createLogger('bench', 'error'),
    onMessage: (_t, _p, m) => {
      read++;
      const key = m.key!.toString();
      if (m.value === null) rows.delete(key);
      else rows.set(key, JSON.parse(m.value.toString()));
    },
  });
  await reader.caughtUp;
  await reader.stop();
  return { read, rows: rows.size };
}

/**
 * Resident memory now, by kind: anonymous (heap, buffers) and file-backed (the store's memory-mapped pages, which
 * the kernel can drop at any time and which are shared with the page cache). Taken before the store is closed.
 */
function residentNow(): { rssAnonMiB: number; rssFileMiB: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssAnonMiB: Math.round(kib('RssAnon') / 1024), rssFileMiB: Math.round(kib('RssFile') / 1024) };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as PhaseArgs;
  const cfg = loadConfig();
  const kafka = createKafka(cfg, 'pulso-bench-restore-phase');
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let result: Record<string, unknown>;
  if (args.design === 'memory') {
    result = await wholeTopicIntoMemory(kafka, args);
  } else {
    const admin = kafka.admin();
    await admin.connect();
    const log = createLogger('bench', 'error');
    const store: StateStore = LmdbStateStore.open(
      args.dir,
      { stateTopic: args.topic, groupId: 'bench', statePartitions: args.statePartitions },
      log,
    );
    const r = await restorePartitions({
      kafka,
      admin,
      stateTopic: args.topic,
      store,
      parts: args.parts,
      maxCheckpointAgeMs: Infinity,
      log,
    });
    result = {
      read: [...r.readByPartition.values()].reduce((a, b) => a + b, 0),
      rows: args.parts.reduce((n, p) => n + store.rows(p), 0),
      rebuilt: r.plans.filter((p) => p.rebuild).length,
      ...residentNow(),
    };
    await store.close();
    await admin.disconnect();
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(
    JSON.stringify({
      ...residentNow(),
      ...result,
      ms: Math.round(performance.now() - started),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : String(e));
    process.exit(1);
  },
);
