// The pipeline exporter: what Prometheus cannot scrape from a component itself, as Prometheus metrics on
// 127.0.0.1:PIPELINE_EXPORTER_PORT. Druid's Prometheus emitter extension is not published for Druid 33.0.0 on
// Maven Central, so the supervisors' own status API is read instead (lag, state, healthy: what an on-call
// engineer asks Druid). Commit → queryable freshness is probed every second into a histogram, so it has a p50
// and a p99 over time. The stack supervisor's restart counts are exported for the restart alert, and the demand
// of the last complete minute against its expectation (pipeline/demandAnomaly.ts) for the demand-anomaly alert.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PulsoConfig } from '../lib/config.ts';
import { supervisorStatus } from '../lib/druidClient.ts';
import type { Logger } from '../lib/log.ts';
import { sleep } from '../lib/poll.ts';
import { SUPERVISOR_SPEC_FILES } from '../druid-specs/renderSpec.ts';
import { FreshnessProbe } from '../pipeline/freshnessProbe.ts';
import { judgeLastMinute, type DemandVerdict } from '../pipeline/demandAnomaly.ts';
import { paths } from './manager.ts';
import { readSupervisorState } from './supervisorState.ts';

/** Seconds: from a sub-second pipeline to one that is minutes behind. */
export const FRESHNESS_BUCKETS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300];

function druidGauges(cfg: PulsoConfig, registers: Registry[]): void {
  const healthy = new Gauge({
    name: 'pulso_druid_supervisor_healthy',
    help: '1 while a Druid supervisor reports healthy, labelled with its state',
    labelNames: ['supervisor', 'state'],
    registers,
  });
  new Gauge({
    name: 'pulso_druid_supervisor_lag',
    help: "Records of the supervisor's Kafka topic not yet read by its tasks (aggregateLag)",
    labelNames: ['supervisor'],
    registers,
    async collect() {
      this.reset();
      healthy.reset();
      await Promise.all(
        Object.keys(SUPERVISOR_SPEC_FILES).map(async (id) => {
          const p = await supervisorStatus(cfg, id, 2000).catch(() => undefined);
          if (!p) return;
          this.set({ supervisor: id }, p.aggregateLag ?? 0);
          healthy.set({ supervisor: id, state: p.state }, p.healthy ? 1 : 0);
        }),
      );
    },
  });
}

/**
 * Orders in the last complete minute against their expectation and band (pipeline/demandAnomaly.ts), judged once
 * per minute and served at every scrape: the demand-anomaly panel and the DemandAnomaly alert read these.
 */
function demandGauges(cfg: PulsoConfig, registers: Registry[]): void {
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers });
  const expected = gauge('pulso_demand_expected_orders', 'Orders the last complete minute should have brought');
  const low = gauge('pulso_demand_band_low', 'Lower edge of the band the minute’s orders should fall in');
  const high = gauge('pulso_demand_band_high', 'Upper edge of the band the minute’s orders should fall in');
  const judgedAt = gauge(
    'pulso_demand_minute_seconds',
    'Start of the minute judged (Unix seconds): the last complete one',
  );
  const anomaly = gauge(
    'pulso_demand_anomaly',
    '1 when the last complete minute’s orders fall outside the band; labelled with where the expectation came from',
    ['source'],
  );
  let judged: Promise<DemandVerdict | undefined> | undefined;
  let judgedMinute = NaN;
  new Gauge({
    name: 'pulso_demand_orders',
    help: 'Orders placed in the last complete minute (the order rollup in Druid)',
    registers,
    async collect() {
      // Keyed by the minute to judge (judgeLastMinute's grace included), not the wall minute: a scrape in the
      // grace seconds would otherwise hold the minute before for the whole next minute.
      const minute = Math.floor((Date.now() - 10_000) / 60_000);
      if (minute !== judgedMinute || !judged) {
        judgedMinute = minute;
        judged = judgeLastMinute(cfg, Date.now()).catch(() => undefined);
      }
      const v = await judged;
      for (const g of [this, expected, low, high, anomaly, judgedAt]) g.reset();
      if (!v) return;
      this.set(v.actual);
      judgedAt.set(v.minuteMs / 1000);
      if (v.source === 'none') return void anomaly.set({ source: 'none' }, 0);
      expected.set(v.expected);
      low.set(v.low);
      high.set(v.high);
      anomaly.set({ source: v.source }, v.anomaly ? 1 : 0);
    },
  });
}

function restartCounter(cfg: PulsoConfig, registers: Registry[]): void {
  new Counter({
    name: 'pulso_stack_service_restarts_total',
    help: 'Restarts of each local service by the stack supervisor (npm run status shows the reasons)',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      const state = readSupervisorState(paths(cfg));
      for (const [service, s] of Object.entries(state?.services ?? {})) this.inc({ service }, s.restarts);
    },
  });
}

export interface PipelineExporter {
  readonly server: Server;
  stop(): Promise<void>;
}

/** Serves /metrics and /health, and probes freshness every second until stopped. */
export async function startPipelineExporter(cfg: PulsoConfig, log: Logger): Promise<PipelineExporter> {
  const registry = new Registry();
  druidGauges(cfg, [registry]);
  demandGauges(cfg, [registry]);
  restartCounter(cfg, [registry]);
  const freshness = new Histogram({
    name: 'pulso_freshness_seconds',
    help: 'Commit in PostgreSQL → queryable in Druid, measured on each newer commit Druid serves',
    buckets: FRESHNESS_BUCKETS,
    registers: [registry],
  });
  const probe = new FreshnessProbe(cfg);
  let running = true;
  const loop = (async () => {
    while (running) {
      const ms = await probe.poll().catch(() => undefined);
      if (ms !== undefined) freshness.observe(ms / 1000);
      await sleep(1000);
    }
  })();
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((resolve) =>
    server.listen(cfg.monitoring.pipelineExporterPort, cfg.monitoring.pipelineExporterHost, resolve),
  );
  log.info('pipeline exporter listening', { port: cfg.monitoring.pipelineExporterPort });
  return {
    server,
    async stop() {
      running = false;
      await loop;
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
