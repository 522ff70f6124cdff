// Monitoring: Prometheus (Debian's package) with the rules and scrape configuration of prometheus/, the
// PostgreSQL exporter (Debian's prometheus-postgres-exporter, as the pulso_monitor role) and Pulso's pipeline
// exporter (Druid supervisors, freshness, restarts). The JMX exporters run inside the Kafka and Connect JVMs.
// Without the Debian packages the stack runs without them (status says how to install them).
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { withLocalSecrets } from '../../lib/config.ts';
import { httpOk } from '../../lib/http.ts';
import { prometheusConfDir, targetsDir, writeScrapeTarget } from '../../lib/prometheusTargets.ts';
import type { ServiceContext, ServiceDef } from './types.ts';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const POSTGRES_EXPORTER_BIN = '/usr/bin/prometheus-postgres-exporter';
export const MONITORING_INSTALL_HINT = 'apt-get install prometheus prometheus-postgres-exporter';

/** The shared configuration copied beside the targets the local stack writes (compose mounts the same files). */
function writePrometheusConfig(ctx: ServiceContext): string {
  const { cfg, root } = ctx;
  const dir = prometheusConfDir(cfg.home);
  mkdirSync(targetsDir(cfg.home), { recursive: true });
  for (const f of ['prometheus.yml', 'alerts.yml']) copyFileSync(resolve(root, 'prometheus', f), resolve(dir, f));
  const m = cfg.monitoring;
  const fixed: [string, number][] = [
    ['prometheus', m.prometheusPort],
    ['kafka', m.kafkaJmxPort],
    ['connect', m.connectJmxPort],
    ['postgres', m.postgresExporterPort],
    ['pipeline', m.pipelineExporterPort],
  ];
  for (const [job, port] of fixed) writeScrapeTarget(cfg.home, job, `127.0.0.1:${port}`, { component: job });
  return resolve(dir, 'prometheus.yml');
}

export function prometheusService(ctx: ServiceContext): ServiceDef {
  const { cfg, data } = ctx;
  const port = cfg.monitoring.prometheusPort;
  return {
    name: 'prometheus',
    stage: 'infra',
    portVar: 'PROMETHEUS_PORT',
    port,
    url: cfg.monitoring.prometheusUrl,
    after: [],
    startTimeoutS: 60,
    stopSignal: 'SIGTERM',
    spawnSpec: () => ({
      name: 'prometheus',
      command: PROMETHEUS_BIN,
      args: [
        `--config.file=${writePrometheusConfig(ctx)}`,
        `--storage.tsdb.path=${resolve(data, 'prometheus')}`,
        `--storage.tsdb.retention.time=${cfg.monitoring.retention}`,
        '--storage.tsdb.retention.size=512MB',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      cwd: data,
      environment: 'pulso',
      env: {},
    }),
    health: () => httpOk(`${cfg.monitoring.prometheusUrl}/-/ready`),
  };
}

function withSslMode(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

export function postgresExporterService(ctx: ServiceContext): ServiceDef {
  const { cfg, root, data } = ctx;
  const port = cfg.monitoring.postgresExporterPort;
  return {
    name: 'postgres-exporter',
    stage: 'infra',
    portVar: 'POSTGRES_EXPORTER_PORT',
    port,
    url: `http://127.0.0.1:${port}/metrics`,
    after: ['postgres'],
    startTimeoutS: 30,
    stopSignal: 'SIGTERM',
    spawnSpec: () => ({
      name: 'postgres-exporter',
      command: POSTGRES_EXPORTER_BIN,
      args: [
        `--web.listen-address=127.0.0.1:${port}`,
        `--extend.query-path=${resolve(root, 'prometheus/postgres-queries.yml')}`,
        '--log.level=warn',
      ],
      cwd: data,
      environment: 'pulso',
      // The monitoring role (pg_monitor): slots and statistics, no row of data.
      // lib/pq asks for TLS unless told; the embedded server listens on loopback only, without TLS.
      env: { DATA_SOURCE_NAME: withSslMode(withLocalSecrets(cfg).pg.monitorUrl) },
    }),
    health: () => httpOk(`http://127.0.0.1:${port}/metrics`),
  };
}

export function pipelineExporterService(ctx: ServiceContext): ServiceDef {
  const { cfg, root } = ctx;
  const port = cfg.monitoring.pipelineExporterPort;
  return {
    name: 'pipeline-exporter',
    stage: 'pipeline',
    portVar: 'PIPELINE_EXPORTER_PORT',
    port,
    url: `http://127.0.0.1:${port}/metrics`,
    after: ['druid-router'],
    startTimeoutS: 60,
    stopSignal: 'SIGTERM',
    spawnSpec: () => ({
      name: 'pipeline-exporter',
      command: process.execPath,
      args: ['--max-old-space-size=96', '--import', 'tsx', resolve(root, 'stack/pipelineExporterMain.ts')],
      cwd: root,
      environment: 'pulso',
      env: { PULSO_HOME: cfg.home },
    }),
    health: () => httpOk(`http://127.0.0.1:${port}/health`),
  };
}

/** The monitoring services this machine can run: Prometheus and the PostgreSQL exporter need their packages. */
export function monitoringInstalled(): boolean {
  return existsSync(PROMETHEUS_BIN) && existsSync(POSTGRES_EXPORTER_BIN);
}

export function monitoringServices(ctx: ServiceContext): ServiceDef[] {
  const installed = monitoringInstalled();
  return [...(installed ? [prometheusService(ctx), postgresExporterService(ctx)] : []), pipelineExporterService(ctx)];
}
