// npm start [-- --rate 1 --backfill 6h --speedup 180 --seed S]
// From a fresh clone: brings the whole pipeline up (npm run up), then runs the generator on the live clock:
// it first backfills history (the last --backfill, following the daily curve, --speedup times faster than
// real time), then follows the wall clock, so no order is ever dated in the future. A live one-screen view
// shows every stage. Ctrl-C stops the generator and leaves the pipeline up; `npm run down` stops the rest.
import { DEFAULT_RISK_SHARE } from '../generator/eventStream.ts';
import { FreshnessProbe } from '../pipeline/freshnessProbe.ts';
import { loadConfig, withLocalSecrets, ConfigError } from '../lib/config.ts';
import { up, StackError } from '../stack/manager.ts';
import { pipelineStatus, type PipelineStatus } from '../pipeline/status.ts';
import { runGenerator, type GeneratorStats } from '../generator/index.ts';
import { sleep } from '../lib/poll.ts';
import { flagsOrExit, numberFlag, parseFlags } from '../lib/cliArgs.ts';
import { parseDuration } from '../generator/cli.ts';

const USAGE =
  'usage: npm start [-- --rate <orders/s> --backfill <duration, 0 for none> --speedup <x, backfill only> --seed <s>]';
const { rate, backfillMs, speedup, seed } = flagsOrExit('npm start', USAGE, () => {
  const { values } = parseFlags(process.argv.slice(2), {
    rate: { type: 'string', default: '1' },
    backfill: { type: 'string', default: '6h' },
    speedup: { type: 'string', default: '180' },
    seed: { type: 'string' },
  });
  const positive = (flag: string, raw: string) =>
    numberFlag(flag, raw, { min: 0, exclusiveMin: true, what: 'a positive number' });
  return {
    rate: positive('--rate', values.rate!),
    backfillMs: values.backfill === '0' ? 0 : parseDuration(values.backfill!),
    speedup: positive('--speedup', values.speedup!),
    seed: values.seed,
  };
});

let cfg = loadConfig();
const tty = process.stdout.isTTY === true;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Sample {
  at: number;
  gen?: GeneratorStats;
  pipe: PipelineStatus;
}

function render(prev: Sample | undefined, cur: Sample, probe: FreshnessProbe, startedAt: number): string {
  const dt = prev ? (cur.at - prev.at) / 1000 : 1;
  const rateOf = (a?: number, b?: number) => (a !== undefined && b !== undefined && dt > 0 ? (a - b) / dt : 0);
  const g = cur.gen;
  const p = cur.pipe;
  const pg = prev?.pipe;
  const lines = [
    `Pulso — live pipeline (${Math.round((Date.now() - startedAt) / 1000)}s)   Ctrl-C stops the generator, the pipeline stays up; npm run down stops it`,
    '',
    g
      ? `generator     ${fmt(rateOf(g.ordersCreated, prev?.gen?.ordersCreated))} orders/s  ${fmt(rateOf(g.rowsInserted + g.rowsUpdated + g.rowsDeleted, (prev?.gen?.rowsInserted ?? 0) + (prev?.gen?.rowsUpdated ?? 0) + (prev?.gen?.rowsDeleted ?? 0)))} row changes/s   total ${fmt(g.ordersCreated)} orders, delivered ${fmt(g.delivered)}, cancelled ${fmt(g.cancelled)}, in lifecycle ${fmt(g.inLifecycle)}   sim ${g.simNow.slice(0, 16).replace('T', ' ')}Z`
      : 'generator     stopped',
    p.slot
      ? `postgres      replication slot lag ${(p.slot.lagBytes / 1024).toFixed(1)} kB (${p.slot.active ? 'active' : 'INACTIVE'})`
      : 'postgres      slot: unavailable',
    p.connector
      ? `debezium      connector ${p.connector.state}, task ${p.connector.task}`
      : 'debezium      unavailable',
    p.transformer
      ? `transformer   ${fmt(rateOf(p.transformer.consumed, pg?.transformer?.consumed))} in/s  ${fmt(rateOf(p.transformer.produced, pg?.transformer?.produced))} out/s   kafka lag ${fmt(p.transformer.consumerLag)}   dead-lettered ${fmt(p.transformer.deadLettered)}${Object.keys(p.transformer.deadLetteredByReason).length ? ' ' + JSON.stringify(p.transformer.deadLetteredByReason) : ''}`
      : 'transformer   unavailable',
    p.druid
      ? `druid         ${Object.entries(p.druid)
          .map(([ds, s]) => `${ds} ${s.state} lag ${fmt(s.lag)}`)
          .join('   ')}   rows ${fmt(p.druidRows?.orders ?? 0)}`
      : 'druid         unavailable',
    `freshness     commit → queryable in Druid: ${probe.latestMs === null ? 'waiting for data' : `last ${fmt(probe.latestMs)} ms, p50 ${fmt(probe.p50() ?? 0)} ms`}${probe.idleForMs() > 10_000 ? `   (no new commits for ${Math.round(probe.idleForMs() / 1000)}s)` : ''}`,
    '',
    `open          dashboards http://127.0.0.1:${cfg.dashboards.port}/   ·   Druid SQL ${cfg.druid.url}/druid/v2/sql   ·   Connect ${cfg.connect.url}/connectors   ·   transformer http://127.0.0.1:${cfg.transformer.metricsPort}/metrics`,
    `              Grafana and Druid's web console come with docker compose (docker-compose.cdc.yml)`,
    ...(p.errors.length ? ['', ...p.errors.map((e) => `unavailable   ${e}`)] : []),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const say = (l: string) => process.stdout.write(l + '\n');
  await up(cfg, say);
  cfg = withLocalSecrets(cfg); // a fresh clone's first `up` has just generated the local passwords
  say(
    backfillMs > 0
      ? `starting the generator: backfilling the last ${(backfillMs / 3600_000).toFixed(1)} h at ${rate} orders/s of business time (${speedup}× real time), then live at ${rate} orders/s…`
      : `starting the generator live at ${rate} orders/s…`,
  );
  const abort = new AbortController();
  let gen: GeneratorStats | undefined;
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const generator = runGenerator({
    rate,
    speedup,
    clock: 'live',
    backfillMs,
    seed,
    riskShare: DEFAULT_RISK_SHARE,
    signal: abort.signal,
    progress: 'off',
    onProgress: (s) => (gen = { ...s }),
  });
  const probe = new FreshnessProbe(cfg);
  const startedAt = Date.now();
  let prev: Sample | undefined;
  let lastPlain = 0;
  const loop = (async () => {
    while (!stopping) {
      await probe.poll().catch(() => undefined);
      const cur: Sample = { at: Date.now(), gen, pipe: await pipelineStatus(cfg) };
      const screen = render(prev, cur, probe, startedAt);
      if (tty) process.stdout.write('\x1b[H\x1b[2J' + screen + '\n');
      else if (Date.now() - lastPlain > 10_000) {
        lastPlain = Date.now();
        process.stdout.write(screen.split('\n').slice(2, 9).join(' | ') + '\n');
      }
      prev = cur;
      await sleep(1000);
    }
  })();
  const summary = await generator;
  stopping = true;
  await loop;
  say(
    `\ngenerator stopped (${summary.stoppedBy}): ${fmt(summary.ordersCreated)} orders, ${fmt(summary.ordersPerSecond)} orders/s, ${fmt(summary.rowChangesPerSecond)} row changes/s; no half-written order (each is one transaction).`,
  );
  say('The pipeline is still running: insert rows with psql, query Druid, or `npm run down` to stop everything.');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(
      `error: ${e instanceof StackError || e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e))}\n`,
    );
    process.exit(1);
  },
);
