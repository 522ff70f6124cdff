// The fault drill: under generator load, SIGKILL each component in turn, let the supervisor bring it back (no
// human, no `npm run up`), and measure how long until the service is healthy and until fresh rows are
// queryable in Druid again. Then stop the load and reconcile PostgreSQL with Druid to the cent, and count
// duplicate event ids. `npm run chaos` prints it; a short version runs in the test suite.
import type { PulsoConfig } from '../lib/config.ts';
import { queryDruidSql } from '../lib/druidClient.ts';
import { pollUntil, sleep } from '../lib/poll.ts';
import { runGenerator, type GeneratorSummary } from '../generator/index.ts';
import { paths } from './manager.ts';
import { inspectPidFile, type ProcessPaths } from './processes.ts';
import { readSupervisorState } from './supervisorState.ts';
import type { ServiceName } from './services.ts';
import { pipelineStatus } from '../pipeline/status.ts';
import {
  GROUPINGS,
  eventDatasources,
  eventIntegrity,
  reconcileGrouping,
  type EventIntegrity,
  type GroupingDiff,
} from '../pipeline/reconcile.ts';
import { PulsoError } from '../lib/errors.ts';

/** The drill's default order: each one a different kind of failure for the pipeline. */
export const DEFAULT_FAULTS: readonly ServiceName[] = ['connect', 'kafka', 'transformer', 'druid-indexer', 'postgres'];

export interface ChaosOptions {
  readonly faults: readonly ServiceName[];
  /** Orders per second of the generator while the faults happen. */
  readonly rate: number;
  /** Load before the first fault and between recoveries, so each fault hits a busy pipeline. */
  readonly settleMs: number;
  /** How long a fault may take to recover before it is reported as not recovered. */
  readonly recoverTimeoutMs: number;
  readonly seed?: string;
}

export interface FaultResult {
  readonly service: ServiceName;
  readonly pid: number;
  /** Kill → the supervisor reports the service healthy again. */
  readonly serviceBackMs: number | null;
  /** Kill → a row committed after the kill is queryable in Druid (the whole pipeline flows again). */
  readonly pipelineFreshMs: number | null;
  readonly reason: string | null;
}

export interface ChaosResult {
  readonly faults: FaultResult[];
  readonly generator: GeneratorSummary;
  readonly groupings: GroupingDiff[];
  readonly events: EventIntegrity[];
  /** Nothing left to wish for: every fault recovered, no drift, no duplicates. */
  readonly ok: boolean;
}

const latestCommitInDruid = async (cfg: PulsoConfig, sinceMs: number): Promise<number | null> =>
  (
    await queryDruidSql<{ m: number | null }>(
      cfg,
      `SELECT MAX(source_ts_ms) AS m FROM orders WHERE __time >= MILLIS_TO_TIMESTAMP(${sinceMs - 7 * 24 * 3600_000})`,
      {},
      5000,
    )
  )[0]?.m ?? null;

/** The drill needs the supervisor (it brings killed services back) and every service it will kill running. */
function checkReady(p: ProcessPaths, faults: readonly ServiceName[]): void {
  if (inspectPidFile(p, 'supervisor').kind !== 'running')
    throw new PulsoError(
      'the supervisor is not running, so nothing would bring a killed service back: start the stack with `npm run up` first.',
    );
  for (const name of faults) {
    if (inspectPidFile(p, name).kind !== 'running')
      throw new PulsoError(
        `${name} is not running: start the stack with \`npm run up\` first (services: ${DEFAULT_FAULTS.join(', ')}, …).`,
      );
  }
}

/**
 * A fault must hit a pipeline that keeps up, or its recovery time is the backlog's: after `up`, Druid's new
 * tasks re-read what was not yet published.
 */
async function waitForCaughtUp(cfg: PulsoConfig, say: (line: string) => void): Promise<void> {
  say('waiting for the pipeline to be caught up (transformer and Druid lag under 5,000 records)…');
  await pollUntil(
    async () => {
      const st = await pipelineStatus(cfg);
      const druidLag = Object.values(st.druid ?? {}).reduce((a, d) => a + d.lag, 0);
      return st.transformer !== null && st.druid !== null && st.transformer.consumerLag < 5000 && druidLag < 5000;
    },
    {
      what: 'the pipeline to catch up before the drill',
      timeoutMs: 1_200_000,
      intervalMs: 2000,
      onProgress: ({ leftMs }) => say(`  still catching up… (${Math.round(leftMs / 1000)} s left)`),
      progressEveryMs: 30_000,
    },
  );
}

/** SIGKILL one service, then time its return (supervisor) and the first fresh row in Druid after the kill. */
async function killAndTime(
  cfg: PulsoConfig,
  p: ProcessPaths,
  service: ServiceName,
  opts: ChaosOptions,
  say: (line: string) => void,
): Promise<FaultResult> {
  const before = readSupervisorState(p)?.services[service]?.restarts ?? 0;
  const state = inspectPidFile(p, service);
  if (state.kind !== 'running') throw new PulsoError(`${service} is not running before its fault`);
  const killedAt = Date.now();
  process.kill(state.pid, 'SIGKILL');
  say(`${service}: SIGKILL to pid ${state.pid}`);
  let serviceBackMs: number | null = null;
  let pipelineFreshMs: number | null = null;
  await pollUntil(
    async () => {
      const rec = readSupervisorState(p)?.services[service];
      if (serviceBackMs === null && rec && rec.restarts > before && rec.state === 'running')
        serviceBackMs = Date.now() - killedAt;
      if (pipelineFreshMs === null && ((await latestCommitInDruid(cfg, killedAt).catch(() => null)) ?? 0) > killedAt)
        pipelineFreshMs = Date.now() - killedAt;
      if (rec?.state === 'gave-up') return true;
      return serviceBackMs !== null && pipelineFreshMs !== null;
    },
    { what: `${service} to recover`, timeoutMs: opts.recoverTimeoutMs, intervalMs: 250 },
  ).catch(() => undefined);
  const reason = readSupervisorState(p)?.services[service]?.lastReason ?? null;
  const fmt = (ms: number | null) => (ms === null ? 'NOT RECOVERED' : `${(ms / 1000).toFixed(1)} s`);
  say(
    `${service}: back in ${fmt(serviceBackMs)}, fresh rows in Druid after ${fmt(pipelineFreshMs)} (${reason ?? 'no restart recorded'})`,
  );
  return { service, pid: state.pid, serviceBackMs, pipelineFreshMs, reason };
}

/** After the load: PostgreSQL and Druid equal per grouping, and every event topic record in Druid once. */
async function reconcileAfterLoad(cfg: PulsoConfig, say: (line: string) => void) {
  const groupings: GroupingDiff[] = [];
  for (const g of GROUPINGS.slice(0, 2)) {
    let last: GroupingDiff | undefined;
    await pollUntil(
      async () => {
        last = await reconcileGrouping(cfg, g);
        return last.onlyDruid.length === 0 && last.onlyPostgres.length === 0;
      },
      { what: `${g.name} to reconcile`, timeoutMs: 300_000, intervalMs: 2000 },
    ).catch(() => undefined);
    groupings.push(last!);
    say(`reconcile ${g.name}: ${last!.groups} groups, drift ${last!.orderDrift} orders and ${last!.centsDrift} cents`);
  }
  const events: EventIntegrity[] = [];
  for (const { datasource, topic } of eventDatasources(cfg)) {
    let last: EventIntegrity | undefined;
    await pollUntil(
      async () => {
        last = await eventIntegrity(cfg, datasource, topic);
        return last.druidRows >= last.topicRecords;
      },
      { what: `${datasource} to catch up`, timeoutMs: 300_000, intervalMs: 2000 },
    ).catch(() => undefined);
    events.push(last!);
    say(
      `${datasource}: ${last!.druidRows} rows for ${last!.topicRecords} records in ${topic}, ${last!.duplicateEventIds} duplicate event ids`,
    );
  }
  return { groupings, events };
}

export async function runChaosDrill(
  cfg: PulsoConfig,
  opts: ChaosOptions,
  say: (line: string) => void,
): Promise<ChaosResult> {
  const p = paths(cfg);
  checkReady(p, opts.faults);
  await waitForCaughtUp(cfg, say);
  const stop = new AbortController();
  const speedup = 60;
  // Dated in the past (status changes flow at 60× while every timestamp stays before now).
  const horizonMs = (opts.settleMs + opts.recoverTimeoutMs) * (opts.faults.length + 1);
  const generator = runGenerator({
    rate: opts.rate,
    speedup,
    start: new Date(Date.now() - horizonMs * speedup - 3 * 3600_000),
    curve: 'flat',
    seed: opts.seed ?? `chaos-${Date.now()}`,
    signal: stop.signal,
    progress: 'off',
  });
  const generatorDied = generator.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  const results: FaultResult[] = [];
  try {
    say(`load: ${opts.rate} orders/s; first fault in ${Math.round(opts.settleMs / 1000)} s`);
    await sleep(opts.settleMs);
    for (const service of opts.faults) {
      results.push(await killAndTime(cfg, p, service, opts, say));
      const died = await Promise.race([generatorDied, sleep(opts.settleMs).then(() => undefined)]);
      if (died) throw new PulsoError(`the generator failed during the drill: ${died.message}`);
    }
  } finally {
    stop.abort();
  }
  const summary = await generator;
  say(
    `load stopped: ${summary.ordersCreated} orders (${Math.round(summary.ordersPerSecond)}/s), ${summary.reconnects} generator reconnections; reconciling…`,
  );
  const { groupings, events } = await reconcileAfterLoad(cfg, say);
  const ok =
    results.every((r) => r.serviceBackMs !== null && r.pipelineFreshMs !== null) &&
    groupings.every((g) => g.orderDrift === 0 && g.centsDrift === 0n) &&
    events.every((e) => e.duplicateEventIds === 0 && e.druidRows === e.topicRecords);
  return { faults: results, generator: summary, groupings, events, ok };
}
