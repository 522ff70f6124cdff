// `npm run bench:clients`: kafkajs against @platformatic/kafka 1.x, side by side in one run, on the stack's broker
// (issue "Throughput", item 4: would another client move the figure?). Prints figures, asserts nothing.
// The same CDC envelopes are copied four ways per round — each client plain and transactional (bench/passThrough.ts)
// — rounds alternating the order, so both clients see the same broker state and machine load. Besides records/s
// it prints CPU per record, for this process and for the Kafka broker: on the saturated 2-core box
// (docs/benchmarks.md, Throughput) CPU per row change, not one stage's speed alone, is what sets the ceiling.
// Flags: --records <n> (default 40000), --rounds <n> (default 3), --chunk <n> (most records per produce and per
// transaction; default the transformer's 5,000 — live its transactions are far smaller, ≈ 40 records at 100 orders/s).
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { inheritedEnv, loadConfig } from '../lib/config.ts';
import { isolatedTopicEnv, transformerTopics } from '../lib/names.ts';
import { flagsOrExit, numberFlag, parseFlags, runCommand } from '../lib/cliArgs.ts';
import { paths } from '../stack/manager.ts';
import { groupCpuSeconds, runningPid } from '../stack/processes.ts';
import { benchEnvelopes } from './transformerEnvelopes.ts';
import {
  kafkajsPassThrough,
  platformaticPassThrough,
  type PassThroughResult,
  type PassThroughShape,
} from './passThrough.ts';
import { seedTopics } from './seedTopics.ts';
import { createKafka } from '../lib/kafka.ts';
import { PulsoError } from '../lib/errors.ts';

const USAGE = 'usage: npm run bench:clients [-- --records 40000 --rounds 3 --chunk 5000]';
const { RECORDS, ROUNDS, CHUNK } = flagsOrExit('bench:clients', USAGE, () => {
  const { values } = parseFlags(process.argv.slice(2), {
    records: { type: 'string', default: '40000' },
    rounds: { type: 'string', default: '3' },
    chunk: { type: 'string', default: '5000' },
  });
  return {
    RECORDS: numberFlag('--records', values.records, { integer: true, min: 1000, what: 'an integer ≥ 1000' }),
    ROUNDS: numberFlag('--rounds', values.rounds, { integer: true, min: 1, what: 'an integer ≥ 1' }),
    CHUNK: numberFlag('--chunk', values.chunk, { integer: true, min: 1, max: 5000, what: 'an integer from 1 to 5000' }),
  };
});

type Client = 'kafkajs' | '@platformatic/kafka';
const VARIANTS: readonly { client: Client; shape: PassThroughShape }[] = [
  { client: 'kafkajs', shape: 'plain' },
  { client: '@platformatic/kafka', shape: 'plain' },
  { client: 'kafkajs', shape: 'transactional' },
  { client: '@platformatic/kafka', shape: 'transactional' },
];

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const cfg = loadConfig();
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (the stack's services share these cores)`,
  );
  const brokerPid = runningPid(paths(cfg), 'kafka');
  if (brokerPid === undefined)
    throw new PulsoError(
      "the local stack's Kafka is not running: start it with `npm run up` (bench:clients measures the broker's CPU too)",
    );
  const cpuSample = () => {
    const own = process.cpuUsage();
    return { client: (own.user + own.system) / 1e6, broker: groupCpuSeconds(brokerPid) };
  };
  const kafka = createKafka(cfg, 'pulso-bench-clients', { retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const prefix = `bench-clients-${randomUUID().slice(0, 8)}`;
  const own = transformerTopics(loadConfig(inheritedEnv(isolatedTopicEnv(prefix))).topics);
  const inputs = { orders: own.cdcOrders, items: own.cdcOrderItems };
  const created: string[] = [inputs.orders, inputs.items];
  const results = new Map<string, PassThroughResult[]>();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: created.map((topic) => ({ topic, numPartitions: 1 })) });
    const records = benchEnvelopes(RECORDS, prefix);
    await seedTopics(kafka, records);
    const bytes = records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0);
    console.log(
      `copying ${fmt(RECORDS)} CDC envelopes (${(bytes / 2 ** 20).toFixed(1)} MiB, 2 single-partition topics) four ways in chunks of ≤ ${fmt(CHUNK)} records, ${ROUNDS} round(s)…`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so neither client always runs first (page cache, JIT, the broker's state).
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        const tag = `${prefix}-r${round}-${v.client === 'kafkajs' ? 'kafkajs' : 'platformatic'}-${v.shape}`;
        const routes = new Map([
          [inputs.orders, `${tag}.orders`],
          [inputs.items, `${tag}.order_items`],
        ]);
        await admin.createTopics({
          waitForLeaders: true,
          topics: [...routes.values()].map((topic) => ({ topic, numPartitions: 1 })),
        });
        created.push(...routes.values());
        const spec = { shape: v.shape, groupId: tag, routes, count: RECORDS, chunkRecords: CHUNK, cpuSample };
        const r =
          v.client === 'kafkajs'
            ? await kafkajsPassThrough(kafka, spec)
            : await platformaticPassThrough(cfg.kafka.brokers, spec);
        const name = `${v.client} ${v.shape}`;
        results.set(name, [...(results.get(name) ?? []), r]);
        console.log(
          `  round ${round + 1}: ${name.padEnd(34)} ${fmt(r.recordsPerSecond).padStart(7)} records/s, client ${((r.cpuSeconds.client! * 1e6) / RECORDS).toFixed(1)} µs CPU/record, broker ${((r.cpuSeconds.broker! * 1e6) / RECORDS).toFixed(1)} µs${r.transactions ? `, ${r.transactions} transactions` : ''}`,
        );
      }
    }
  } finally {
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  }
  console.log(`\nmedians over ${ROUNDS} round(s):`);
  console.log('| client | shape | records/s | client µs CPU per record | broker µs CPU per record |');
  console.log('|---|---|---|---|---|');
  for (const v of VARIANTS) {
    const rs = results.get(`${v.client} ${v.shape}`) ?? [];
    const perRecord = (k: 'client' | 'broker') => (median(rs.map((r) => r.cpuSeconds[k]!)) * 1e6) / RECORDS;
    console.log(
      `| ${v.client} | ${v.shape} | ${fmt(median(rs.map((r) => r.recordsPerSecond)))} | ${perRecord('client').toFixed(1)} | ${perRecord('broker').toFixed(1)} |`,
    );
  }
}

runCommand('bench:clients', USAGE, main);
