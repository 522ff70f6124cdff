// npm run bench:throughput — a saturation search through the whole running pipeline.
//
// The generator (batched transactions) steps its rate up; each step is held for --hold seconds while a sampler
// reads every stage every 5 s — PostgreSQL's WAL and the replication slot's lag, the CDC topics' end offsets
// (what Debezium/Connect wrote), the transformer's consumed counter and consumer lag, the `orders` topic's end
// offsets, Druid's supervisor lag — and a prober measures commit → queryable on a sample of new orders. Per step
// it prints asked and achieved load, each stage's rate and lag trend, p50/p99 commit → queryable and each
// process's CPU share; the headline is the highest sustainable rate (load produced, no lag growing, p99 ≤ 2 s).
// It measures and prints; it asserts nothing. Needs the stack running (npm run up).
//
//   npm run bench:throughput -- [--steps 100,250,500,750,1000,1300] [--hold 120] [--warmup 30] [--transformers 1] [--continue]
//
// The transformer's rate and lag are the consumer group's (committed input offsets against the CDC topics' ends),
// so they count every instance: --transformers N starts N − 1 more instances beside the stack's for the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { transformerAnswers } from '../../lib/transformerClient.ts';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { cpus, totalmem } from 'node:os';
import { inheritedEnv, loadConfig, PROJECT_ROOT, withLocalSecrets } from '../../lib/config.ts';
import { flagsOrExit, numberFlag, parseFlags, UsageError } from '../../lib/cliArgs.ts';
import { queryDruidSql } from '../../lib/druidClient.ts';
import { pollUntil, PollTimeoutError, sleep } from '../../lib/poll.ts';
import { runGenerator, type GeneratorStats, type GeneratorSummary } from '../../generator/index.ts';
import { druidStatus, slotStatus, transformerGroupProgress, transformerStatus } from '../../pipeline/status.ts';
import { activeServices, paths } from '../../stack/manager.ts';
import { isCdcTopic, transformerGroupId } from '../../lib/names.ts';
import { groupCpuSeconds, runningPid } from '../../stack/processes.ts';
import {
  cpuCostPerRowChange,
  judgeStep,
  lagTrend,
  percentile,
  sustainableCeiling,
  type JudgedStep,
  type LagTrend,
  type Point,
} from './saturation.ts';
import { PulsoError } from '../../lib/errors.ts';

const USAGE =
  'usage: npm run bench:throughput -- [--steps 100,250,500,750,1000,1300] [--hold 120] [--warmup 30] [--speedup 120] [--connections 3] [--batch 400] [--continue]\n' +
  '  --steps        orders per second to ask for, one step each, in order\n' +
  '  --hold         seconds each step writes; --warmup: its first seconds, left out of the trends and rates\n' +
  "  --transformers N  run N transformer instances in the group (the stack's and N − 1 more, started and stopped here)\n" +
  '  --cpu-prof-dir D   the extra instances write a V8 CPU profile (.cpuprofile) into D when they stop\n' +
  '  --continue     keep stepping up after a step that is not sustainable (default: stop there)';

const opts = flagsOrExit('bench:throughput', USAGE, () => {
  const { values } = parseFlags(process.argv.slice(2), {
    steps: { type: 'string', default: '100,250,500,750,1000,1300' },
    hold: { type: 'string', default: '120' },
    warmup: { type: 'string', default: '30' },
    speedup: { type: 'string', default: '120' },
    connections: { type: 'string', default: '3' },
    batch: { type: 'string', default: '400' },
    continue: { type: 'boolean', default: false },
    transformers: { type: 'string', default: '1' },
    'cpu-prof-dir': { type: 'string' },
  });
  const positive = (flag: string, raw: string) =>
    numberFlag(flag, raw, { min: 0, exclusiveMin: true, what: 'a positive number' });
  const int = (flag: string, raw: string, min: number, max: number) =>
    numberFlag(flag, raw, { integer: true, min, max, what: `an integer ${min}–${max}` });
  const holdS = positive('--hold', values.hold!);
  const warmupS = numberFlag('--warmup', values.warmup!, { min: 0, what: 'seconds ≥ 0' });
  if (warmupS >= holdS - 20)
    throw new UsageError(`--warmup ${warmupS} leaves under 20 s of --hold ${holdS} to measure`);
  return {
    steps: values.steps!.split(',').map((v) => positive('--steps', v.trim())),
    holdS,
    warmupS,
    speedup: positive('--speedup', values.speedup!),
    connections: int('--connections', values.connections!, 1, 32),
    batch: int('--batch', values.batch!, 1, 5000),
    continue: values.continue!,
    transformers: int('--transformers', values.transformers!, 1, 6),
    cpuProfDir: values['cpu-prof-dir'],
  };
});

const cfg = withLocalSecrets(loadConfig());
const SAMPLE_MS = 5000;
const PROBE_MS = 250;
/** About this many orders a second are followed to Druid for commit → queryable, whatever the rate. */
const PROBED_PER_S = 40;
const CAUGHT_UP_LAG = 1000;
const say = (line: string) => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`[bench:throughput] ${line}\n`);

interface Sample {
  readonly t: number;
  readonly walBytes: number;
  readonly slotLagBytes: number;
  readonly cdcEnd: number;
  readonly outEnd: number;
  readonly consumed: number;
  readonly transformerLag: number;
  readonly druidLag: number;
}

const kafka = new kafkajs.Kafka({
  clientId: 'pulso-bench-throughput',
  brokers: cfg.kafka.brokers,
  logLevel: kafkajs.logLevel.NOTHING,
});
const admin = kafka.admin();
const monitor = new pg.Client({ connectionString: cfg.pg.monitorUrl });

/** Records every Druid supervisor still has to ingest. */
const totalLag = (druid: Awaited<ReturnType<typeof druidStatus>>) =>
  Object.values(druid ?? {}).reduce((a, s) => a + s.lag, 0);

async function endOffsets(topics: readonly string[]): Promise<number> {
  let sum = 0;
  for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) sum += Number(p.high);
  return sum;
}

async function sample(cdcTopics: readonly string[]): Promise<Sample> {
  const [wal, slot, tr, druid, cdcEnd, outEnd] = await Promise.all([
    monitor.query<{ b: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS b"),
    slotStatus(cfg),
    transformerGroupProgress(admin, cfg),
    druidStatus(cfg),
    endOffsets(cdcTopics),
    endOffsets([cfg.topics.orders, cfg.topics.orderItems]),
  ]);
  return {
    t: Date.now(),
    walBytes: Number(wal.rows[0]!.b),
    slotLagBytes: slot?.lagBytes ?? NaN,
    cdcEnd,
    outEnd,
    consumed: tr.committed,
    transformerLag: tr.lag,
    druidLag: totalLag(druid),
  };
}

function cpuSnapshot(): Map<string, number> {
  const out = new Map<string, number>();
  // Every service the stack runs (the stack's own list), the dashboards server included.
  for (const { name } of activeServices(cfg)) {
    const pid = runningPid(paths(cfg), name);
    if (pid !== undefined) out.set(name, groupCpuSeconds(pid));
  }
  for (const x of extraTransformers)
    if (x.child.pid !== undefined) out.set(`transformer ${x.name}`, groupCpuSeconds(x.child.pid));
  const self = process.cpuUsage();
  out.set('generator (this process)', (self.user + self.system) / 1e6);
  return out;
}

interface ProbedLatencies {
  /** commit → first seen in Druid, sorted */
  readonly queryable: number[];
  /** commit → the transformer's output (transformed_at_ms), sorted: what of the above lies upstream of Druid */
  readonly transformer: number[];
}

/** Commit → queryable for a sample of the step's new orders (order id ≡ 0 mod `every`). */
function startProber(sinceMs: number, every: number): { stop: () => Promise<ProbedLatencies> } {
  const seen = new Map<string, { queryable: number; transformer: number }>();
  let newest = sinceMs;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now();
      try {
        const rows = await queryDruidSql<{ order_id: string; source_ts_ms: number; transformed_at_ms: number }>(
          cfg,
          `SELECT order_id, source_ts_ms, transformed_at_ms FROM orders WHERE __time >= MILLIS_TO_TIMESTAMP(${newest - 30_000}) AND event_type = 'created' ` +
            `AND source_ts_ms >= ${sinceMs} AND MOD(CAST(order_id AS BIGINT), ${every}) = 0`,
          { useCache: false, populateCache: false },
        );
        const observed = Date.now();
        for (const r of rows) {
          if (seen.has(r.order_id)) continue;
          seen.set(r.order_id, {
            queryable: observed - r.source_ts_ms,
            transformer: r.transformed_at_ms - r.source_ts_ms,
          });
          newest = Math.max(newest, r.source_ts_ms);
        }
      } catch (e) {
        note(`probe: ${(e as Error).message.slice(0, 160)}`);
      }
      const wait = PROBE_MS - (Date.now() - t);
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      const sorted = (f: (x: { queryable: number; transformer: number }) => number) =>
        [...seen.values()].map(f).sort((a, b) => a - b);
      return { queryable: sorted((x) => x.queryable), transformer: sorted((x) => x.transformer) };
    },
  };
}

const rate = (a: Sample, b: Sample, f: (s: Sample) => number) => ((f(b) - f(a)) * 1000) / (b.t - a.t);
const points = (xs: readonly Sample[], f: (s: Sample) => number): Point[] => xs.map((s) => ({ t: s.t, value: f(s) }));
const n0 = (x: number) => Math.round(x).toLocaleString('en');
const fmtMs = (x: number) =>
  Number.isNaN(x) ? '—' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`;
const fmtLag = (l: LagTrend, unit = '') =>
  `${l.trend}${l.trend === 'flat' ? '' : ` ${l.slopePerS > 0 ? '+' : ''}${n0(l.slopePerS)}${unit}/s`}, end ${n0(l.last)}${unit}`;

/** Transformer (the group's committed offsets) and Druid (every supervisor) lag, in records. */
async function pipelineLag(): Promise<{ transformer: number; druid: number }> {
  const [g, druid] = await Promise.all([transformerGroupProgress(admin, cfg), druidStatus(cfg)]);
  return { transformer: g.lag, druid: totalLag(druid) };
}

/** Waits until both lags are under `maxLag`, with progress; returns how long that took. */
async function untilCaughtUp(maxLag: number, what: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = '';
  await pollUntil(
    async () => {
      const lag = await pipelineLag();
      last = `transformer lag ${n0(lag.transformer)}, Druid lag ${n0(lag.druid)}`;
      return lag.transformer < maxLag && lag.druid < maxLag;
    },
    {
      what: `${what} (lag < ${maxLag} in the transformer and in Druid)`,
      timeoutMs,
      intervalMs: 2000,
      progressEveryMs: 15_000,
      onProgress: ({ leftMs }) => note(`waiting for ${what}: ${last} (${Math.round(leftMs / 1000)} s left)`),
    },
  );
  return Date.now() - t0;
}

async function drain(): Promise<number> {
  const t0 = Date.now();
  return untilCaughtUp(500, 'the pipeline to drain after the step', 600_000).catch((e) => {
    if (!(e instanceof PollTimeoutError)) throw e;
    note(`still behind after 600 s; going on (${e.message})`);
    return Date.now() - t0;
  });
}

/** Instances beyond the stack's one; each its own process group, so its CPU is counted apart. */
const extraTransformers: { name: string; port: number; child: ChildProcess }[] = [];

async function startExtraTransformers(n: number): Promise<void> {
  for (let i = 2; i <= n; i++) {
    const name = `bench-${i}`;
    const port = cfg.transformer.metricsPort + 100 + i;
    // Default file names (pid and thread id in them): tsx's loader runs in a worker thread of its own, whose
    // profile would otherwise overwrite the main thread's. The largest file is the transformer's.
    const profile = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'transformer/main.ts'], {
      cwd: PROJECT_ROOT,
      env: inheritedEnv({
        TRANSFORMER_INSTANCE_ID: name,
        TRANSFORMER_METRICS_PORT: String(port),
        LOG_LEVEL: cfg.logLevel === 'info' ? 'warn' : cfg.logLevel,
      }),
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    });
    extraTransformers.push({ name, port, child });
  }
  for (const x of extraTransformers) {
    for (let t0 = Date.now(); ; await sleep(500)) {
      if (await transformerAnswers(x.port, 2000)) break;
      if (Date.now() - t0 > 120_000)
        throw new PulsoError(`transformer ${x.name} did not come up on port ${x.port} within 120 s`);
    }
  }
  // Let the group settle: every instance owns partitions before the first step.
  for (let t0 = Date.now(); Date.now() - t0 < 120_000; await sleep(1000)) {
    const g = await admin.describeGroups([transformerGroupId(cfg.topics)]);
    if ((g.groups[0]?.members.length ?? 0) >= n && g.groups[0]?.state === 'Stable') break;
  }
  note(`${n} transformer instances in the group`);
}

async function stopExtraTransformers(): Promise<void> {
  await Promise.all(
    extraTransformers.map(
      (x) =>
        new Promise<void>((r) => {
          if (x.child.exitCode !== null) return r();
          x.child.once('exit', () => r());
          x.child.kill('SIGTERM');
        }),
    ),
  );
}

// The extra instances run in their own process groups (for their CPU figure): Ctrl-C must stop them too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopExtraTransformers().finally(() => process.exit(130)));
}

/**
 * A step measured while the transformer still reloads its state or drains a backlog (right after `npm run up`, a
 * restart or another run) measures the catch-up, not the rate: once, 894 records/s in and p99 103 s. The transformer
 * re-reads its state at its first batch after joining, so an idle pipeline looks caught up while that reload is still
 * ahead: a few orders go through it first, and the search starts once they are out and every lag is caught up.
 */
async function waitUntilCaughtUp(): Promise<void> {
  const t0 = Date.now();
  const before = (await transformerStatus(cfg))?.consumed ?? 0;
  await runGenerator({
    rate: 50,
    orders: 5,
    seed: `throughput-prime-${t0}`,
    speedup: opts.speedup,
    start: new Date(t0 - 3 * 3600_000),
    curve: 'flat',
    drain: true,
    progress: 'off',
  });
  await pollUntil(async () => ((await transformerStatus(cfg))?.consumed ?? 0) > before, {
    what: 'the transformer to take its first records (it re-reads its state first)',
    timeoutMs: 20 * 60_000,
    intervalMs: 2000,
    progressEveryMs: 15_000,
    onProgress: ({ leftMs }) =>
      note(
        `waiting for the transformer to reload its state and take new records (${Math.round(leftMs / 1000)} s left)`,
      ),
  });
  await untilCaughtUp(CAUGHT_UP_LAG, 'the pipeline to catch up before the first step', 20 * 60_000);
  note(`pipeline caught up after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

interface MeasuredStep {
  readonly asked: number;
  readonly samples: Sample[];
  readonly cpuA: Map<string, number> | undefined;
  readonly cpuB: Map<string, number>;
  readonly summary: GeneratorSummary;
  readonly probed: Awaited<ReturnType<ReturnType<typeof startProber>['stop']>>;
  readonly last: GeneratorStats | undefined;
}

/** One step: the generator at `asked` orders/s for the hold, sampled every SAMPLE_MS after the warm-up, probed. */
async function measureStep(asked: number, cdcTopics: string[]): Promise<MeasuredStep> {
  note(`step ${asked} orders/s: writing for ${opts.holdS} s…`);
  const stepStart = Date.now();
  const samples: Sample[] = [];
  let last: GeneratorStats | undefined;
  let cpuA: Map<string, number> | undefined;
  let sampling = true;
  const prober = startProber(stepStart, Math.max(1, Math.round(asked / PROBED_PER_S)));
  const sampler = (async () => {
    while (sampling) {
      const t = Date.now();
      try {
        const s = await sample(cdcTopics);
        if (s.t - stepStart >= opts.warmupS * 1000) {
          cpuA ??= cpuSnapshot();
          samples.push(s);
        }
      } catch (e) {
        note(`sample: ${(e as Error).message.slice(0, 160)}`);
      }
      await sleep(Math.max(0, SAMPLE_MS - (Date.now() - t)));
    }
  })();
  const summary = await runGenerator({
    rate: asked,
    durationMs: opts.holdS * 1000,
    seed: `throughput-${stepStart}`,
    speedup: opts.speedup,
    // Dated in the past, so that no order of the step is in the future at this speedup.
    start: new Date(stepStart - opts.holdS * 1000 * opts.speedup - 3 * 3600_000),
    curve: 'flat',
    drain: false,
    connections: opts.connections,
    maxEventsPerTransaction: opts.batch,
    progress: 'off',
    onProgress: (s) => (last = s),
  });
  sampling = false;
  await sampler;
  const cpuB = cpuSnapshot();
  return { asked, samples, cpuA, cpuB, summary, probed: await prober.stop(), last };
}

/** Rates, lag trends, latency and CPU of a measured step, and whether it was sustainable. */
function judgeMeasured(m: MeasuredStep) {
  const { samples, summary } = m;
  const a = samples[0]!;
  const b = samples.at(-1)!;
  const wallS = (b.t - a.t) / 1000;
  const rates = {
    consumed: rate(a, b, (s) => s.consumed),
    out: rate(a, b, (s) => s.outEnd),
    cdc: rate(a, b, (s) => s.cdcEnd),
    wal: rate(a, b, (s) => s.walBytes),
  };
  const lags = {
    'replication slot': lagTrend(
      points(samples, (s) => s.slotLagBytes),
      { throughputPerS: rates.wal, floor: 8 * 2 ** 20 },
    ),
    transformer: lagTrend(
      points(samples, (s) => s.transformerLag),
      { throughputPerS: rates.cdc, floor: 5000 },
    ),
    Druid: lagTrend(
      points(samples, (s) => s.druidLag),
      { throughputPerS: rates.out, floor: 5000 },
    ),
  };
  const latencies = m.probed.queryable;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const verdict = judgeStep({
    askedOrdersPerS: m.asked,
    achievedOrdersPerS: summary.ordersPerSecond,
    lags,
    latencyCount: latencies.length,
    p99Ms: p99,
  });
  const cpu = [...m.cpuB]
    .map(([name, s]) => [name, ((s - (m.cpuA!.get(name) ?? s)) / wallS) * 100] as const)
    .filter(([, pct]) => pct >= 1)
    .sort((x, y) => y[1] - x[1]);
  return { rates, lags, latencies, p50, p99, verdict, cpu };
}

/** The step's table rows and progress lines; returns the rows. */
function reportStep(m: MeasuredStep, j: ReturnType<typeof judgeMeasured>): string[] {
  const { summary, asked } = m;
  const { rates, lags, latencies, p50, p99, verdict, cpu } = j;
  const rowChangesPerS = summary.rowChangesPerSecond;
  const line =
    `| ${asked} | ${summary.ordersPerSecond.toFixed(0)} | ${n0(rowChangesPerS)} | ${n0(rates.cdc)} | ${n0(rates.consumed)} | ${n0(rates.out)} | ` +
    `${fmtLag(lags['replication slot'], ' B')} | ${fmtLag(lags.transformer)} | ${fmtLag(lags.Druid)} | ${fmtMs(p50)} / ${fmtMs(p99)} (${latencies.length}) | ` +
    `${verdict.sustainable ? 'yes' : `no: ${verdict.reasons.join('; ')}`} |`;
  const cpuText = cpu.map(([n, p]) => `${n} ${p.toFixed(0)}`).join(', ');
  say(
    `step ${asked} orders/s: achieved ${summary.ordersPerSecond.toFixed(1)} orders/s, ${n0(rowChangesPerS)} row changes/s (${m.last ? n0(m.last.transactions) : '?'} transactions); ` +
      `CDC ${n0(rates.cdc)}/s, transformer ${n0(rates.consumed)}/s in, ${n0(rates.out)}/s events out; WAL ${(rates.wal / 2 ** 20).toFixed(1)} MiB/s; ` +
      `commit→queryable p50 ${fmtMs(p50)} p99 ${fmtMs(p99)} (${latencies.length} orders); ${verdict.sustainable ? 'SUSTAINABLE' : `not sustainable: ${verdict.reasons.join('; ')}`}`,
  );
  say(
    `  lag: slot ${fmtLag(lags['replication slot'], ' B')}; transformer ${fmtLag(lags.transformer)}; Druid ${fmtLag(lags.Druid)}`,
  );
  say(
    `  of which commit → transformer output: p50 ${fmtMs(percentile(m.probed.transformer, 50))} p99 ${fmtMs(percentile(m.probed.transformer, 99))}`,
  );
  say(`  CPU (% of one core): ${cpuText}`);
  const cost = cpuCostPerRowChange(cpu, rowChangesPerS, cpus().length);
  const costLine =
    `CPU per row change: ${cost.perProcessUs.map(([n, us]) => `${n} ${us.toFixed(0)}`).join(', ')} — ${cost.totalUs.toFixed(0)} µs in all, ` +
    `so ${cpus().length} cores carry at most ≈ ${n0(cost.ceilingRowChangesPerS)} row changes/s at this cost` +
    ` (20,000/s leaves ${cost.budgetUsAt(20_000).toFixed(0)} µs, 12,000/s ${cost.budgetUsAt(12_000).toFixed(0)} µs)` +
    (lags.transformer.trend === 'growing' || lags.Druid.trend === 'growing'
      ? '; a stage fell behind, so its cost here is under-counted'
      : '');
  say(`  ${costLine}`);
  return [line, `|  | CPU, % of one core: ${cpuText} |`, `|  | ${costLine} |`];
}

/** The table of every step and the highest sustainable rate. */
function printSummary(rows: string[], judged: JudgedStep[]): void {
  say('');
  say(
    '| asked orders/s | achieved orders/s | row changes/s written | CDC records/s | transformer in/s | events out/s | slot lag | transformer lag | Druid lag | commit→queryable p50 / p99 (samples) | sustainable |',
  );
  say('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) say(r);
  const best = sustainableCeiling(judged);
  say('');
  say(
    best
      ? `Highest sustainable rate: ${n0(best.achievedRowChangesPerS)} row changes/s (asked ${best.askedOrdersPerS} orders/s), lag flat and p99 commit → queryable ≤ 2 s, held ${opts.holdS} s.`
      : 'No step was sustainable: see the reasons above.',
  );
  const first = judged.find((s) => !s.verdict.sustainable);
  if (first)
    say(`First step not sustainable: ${first.askedOrdersPerS} orders/s — ${first.verdict.reasons.join('; ')}.`);
}

async function main(): Promise<void> {
  if (!(await transformerAnswers(cfg.transformer.metricsPort))) {
    process.stderr.write('bench:throughput: the transformer does not answer; start the pipeline first: npm run up\n');
    process.exit(1);
  }
  await admin.connect();
  await monitor.connect();
  const cdcTopics = (await admin.listTopics()).filter((t) => isCdcTopic(cfg.topics, t)).sort();
  say(
    `bench:throughput — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; steps ${opts.steps.join(', ')} orders/s, ${opts.holdS} s each (first ${opts.warmupS} s warm-up), batches of ≤ ${opts.batch} changes on ${opts.connections} connections, speedup ${opts.speedup}`,
  );
  say(`CDC topics: ${cdcTopics.join(', ')}; transformer instances: ${opts.transformers}`);
  if (opts.transformers > 1) await startExtraTransformers(opts.transformers);
  await waitUntilCaughtUp();
  const judged: JudgedStep[] = [];
  const rows: string[] = [];
  for (const asked of opts.steps) {
    const measured = await measureStep(asked, cdcTopics);
    if (measured.samples.length < 3 || !measured.cpuA) {
      say(`step ${asked}: too few samples (${measured.samples.length}) to judge: raise --hold`);
      continue;
    }
    const j = judgeMeasured(measured);
    rows.push(...reportStep(measured, j));
    judged.push({
      askedOrdersPerS: asked,
      achievedRowChangesPerS: measured.summary.rowChangesPerSecond,
      verdict: j.verdict,
    });
    const drainMs = await drain();
    say(`  drained in ${(drainMs / 1000).toFixed(0)} s after the step`);
    if (!j.verdict.sustainable && !opts.continue) break;
  }
  printSummary(rows, judged);
  await stopExtraTransformers();
  await admin.disconnect();
  await monitor.end();
}

main().catch(async (e: unknown) => {
  await stopExtraTransformers().catch(() => undefined);
  process.stderr.write(`bench:throughput failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
