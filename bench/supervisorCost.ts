// npm run bench:supervisors [-- --rate 50 --seconds 60]
// What each Druid supervisor costs the indexer: the CPU of its task's threads (a Kafka task runs in the indexer JVM
// on threads named after it, so `jcmd Thread.print` gives each task's CPU time), first idle, then while the
// generator writes `rate` orders per second in real time, and the indexer's heap and resident memory. Prints CPU per
// second and per 1,000 orders for every supervisor; it asserts nothing. Needs the stack running (npm run up).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../lib/config.ts';
import { runGenerator } from '../generator/index.ts';
import { flagsOrExit, numberFlag, parseFlags } from '../lib/cliArgs.ts';
import { sleep } from '../lib/poll.ts';
import { PulsoError } from '../lib/errors.ts';
import { paths } from '../stack/manager.ts';
import { runningPid } from '../stack/processes.ts';

const { rate, seconds } = flagsOrExit(
  'bench:supervisors',
  'usage: npm run bench:supervisors [-- --rate 50 --seconds 60]',
  () => {
    const { values } = parseFlags(process.argv.slice(2), {
      rate: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '60' },
    });
    const positive = (flag: string, raw: string) =>
      numberFlag(flag, raw, { min: 0, exclusiveMin: true, what: 'a positive number' });
    return { rate: positive('--rate', values.rate!), seconds: positive('--seconds', values.seconds!) };
  },
);
const cfg = loadConfig();
const log = (m: string) => process.stderr.write(`[bench:supervisors] ${m}\n`);
const indexer = runningPid(paths(cfg), 'druid-indexer');
if (indexer === undefined) throw new PulsoError('the Druid indexer is not running: start the stack with `npm run up`');

/** A task's threads: "[index_kafka_<datasource>_<15 hex>_<8 letters>]-…"; the suffix changes when a task rolls over. */
const TASK_THREAD = /^"\[index_kafka_(.+)_([0-9a-f]{15}_[a-z]{8})\][^"]*".*?\bcpu=([\d.]+)ms/;

interface Snapshot {
  readonly cpuMs: Map<string, number>;
  readonly taskOf: Map<string, string>;
  readonly processCpuS: number;
}

function snapshot(): Snapshot {
  const dump = execFileSync('jcmd', [String(indexer), 'Thread.print'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const cpuMs = new Map<string, number>();
  const taskOf = new Map<string, string>();
  for (const line of dump.split('\n')) {
    const m = TASK_THREAD.exec(line);
    if (!m) continue;
    cpuMs.set(m[1]!, (cpuMs.get(m[1]!) ?? 0) + Number(m[3]));
    taskOf.set(m[1]!, m[2]!);
  }
  // /proc/<pid>/stat fields 14 and 15: user and system time in clock ticks (100 per second on Linux).
  const stat = readFileSync(`/proc/${indexer}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { cpuMs, taskOf, processCpuS: (Number(stat[11]) + Number(stat[12])) / 100 };
}

/** CPU ms per wall second of each supervisor's task between two snapshots (undefined: the task rolled over). */
function perSecond(a: Snapshot, b: Snapshot, wallS: number): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const [ds, ms] of b.cpuMs)
    out.set(ds, a.taskOf.get(ds) === b.taskOf.get(ds) ? (ms - (a.cpuMs.get(ds) ?? 0)) / wallS : undefined);
  return out;
}

function memory(): string {
  const heap = execFileSync('jcmd', [String(indexer), 'GC.heap_info'], { encoding: 'utf8' });
  const used = /used (\d+)K/.exec(heap);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${indexer}/status`, 'utf8'));
  return `heap used ${used ? Math.round(Number(used[1]) / 1024) : '?'} MiB, resident ${rss ? Math.round(Number(rss[1]) / 1024) : '?'} MiB`;
}

async function measure(
  what: string,
  during: () => Promise<unknown>,
): Promise<{ rates: Map<string, number | undefined>; processCpu: number }> {
  const a = snapshot();
  const t0 = Date.now();
  await during();
  const wallS = (Date.now() - t0) / 1000;
  const b = snapshot();
  log(`${what}: ${wallS.toFixed(0)} s measured; indexer ${memory()}`);
  return { rates: perSecond(a, b, wallS), processCpu: (b.processCpuS - a.processCpuS) / wallS };
}

log(`indexer pid ${indexer}; ${seconds} s idle, then ${seconds} s at ${rate} orders/s (live clock)`);
const idle = await measure('idle', () => sleep(seconds * 1000));
const warmupS = 15;
const load = runGenerator({
  rate,
  durationMs: (warmupS + seconds + 5) * 1000,
  clock: 'live',
  seed: `supervisor-cost-${Date.now()}`,
  progress: 'off',
});
await sleep(warmupS * 1000);
const loaded = await measure(`loaded (asked ${rate} orders/s)`, () => sleep(seconds * 1000));
const summary = await load;
const achieved = summary.ordersCreated / (warmupS + seconds + 5);
log(`generator: ${summary.ordersCreated} orders in its run: ${achieved.toFixed(1)} orders/s achieved, ${rate} asked`);

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? 'rolled over' : x.toFixed(digits));
const rows = [...loaded.rates.keys()].sort();
process.stdout.write(
  `\n| supervisor | idle CPU ms/s | loaded CPU ms/s | CPU ms per 1,000 orders (loaded − idle) |\n|---|---|---|---|\n`,
);
for (const ds of rows) {
  const i = idle.rates.get(ds);
  const l = loaded.rates.get(ds);
  const perK = i === undefined || l === undefined ? undefined : ((l - i) / achieved) * 1000;
  process.stdout.write(`| ${ds} | ${fmt(i)} | ${fmt(l)} | ${fmt(perK, 0)} |\n`);
}
process.stdout.write(
  `| whole indexer JVM | ${(idle.processCpu * 1000).toFixed(0)} | ${(loaded.processCpu * 1000).toFixed(0)} | ${(((loaded.processCpu - idle.processCpu) / achieved) * 1e6).toFixed(0)} |\n`,
);
process.stdout.write(`\nAsked ${rate} orders/s, achieved ${achieved.toFixed(1)}; ${seconds} s per phase.\n`);
