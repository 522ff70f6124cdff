// Kafka Connect with Debezium (distributed worker): healthy when the Debezium plugin is loaded, working when
// the connector and its task run.
import { connectorStatus, debeziumPluginLoaded } from '../../lib/connectClient.ts';
import { CONNECTOR_NAME } from '../../lib/names.ts';
import { baseJvmFlags, jmxExporterFlags, type ServiceContext, type ServiceDef } from './types.ts';

async function connectorRuns(url: string): Promise<{ ok: true } | { ok: false; why: string } | undefined> {
  let status;
  try {
    status = await connectorStatus(url, CONNECTOR_NAME);
  } catch (e) {
    return { ok: false, why: `the REST API does not answer as it should: ${(e as Error).message}` };
  }
  if (!status) return undefined; // not registered yet: bootstrap's job
  const connector = status.connector?.state;
  const task = status.tasks?.[0]?.state;
  // Paused (or stopped) through the REST API is an operator's choice, not a fault: restarting the worker would
  // not undo it. The ConnectorNotRunning alert says it is so.
  if (connector === 'PAUSED' || connector === 'STOPPED') return { ok: true };
  return connector === 'RUNNING' && task === 'RUNNING'
    ? { ok: true }
    : { ok: false, why: `connector ${connector ?? '?'}, task ${task ?? 'none'}` };
}

export function connectService(ctx: ServiceContext): ServiceDef {
  const { cfg, conf, data, java } = ctx;
  return {
    name: 'connect',
    stage: 'infra',
    portVar: 'CONNECT_PORT',
    port: cfg.connect.port,
    url: `http://127.0.0.1:${cfg.connect.port}`,
    after: ['kafka'],
    startTimeoutS: 120,
    stopSignal: 'SIGTERM',
    spawnSpec: () => {
      const s = ctx.secrets();
      return {
        name: 'connect',
        command: java,
        args: [
          ...baseJvmFlags(384, jmxExporterFlags(ctx, 'connect', cfg.monitoring.connectJmxPort)),
          `-Dlog4j2.configurationFile=${conf}/connect/log4j2.xml`,
          `-Dkafka.logs.dir=${cfg.home}/logs`,
          '-cp',
          ctx.classpath.connect,
          'org.apache.kafka.connect.cli.ConnectDistributed',
          `${conf}/connect/connect-distributed.properties`,
        ],
        cwd: data,
        // Resolved by the worker's EnvVarConfigProvider from ${env:...} in connect/pulso-postgres.json.
        env: {
          PULSO_PG_HOST: '127.0.0.1',
          PULSO_PG_PORT: String(cfg.pg.port),
          PULSO_PG_DATABASE: cfg.pg.database,
          PULSO_CDC_PASSWORD: s?.replicationPassword ?? '',
        },
      };
    },
    // Alive and answering is not enough: after a Kafka restart a worker was seen answering REST for minutes
    // with its connector UNASSIGNED and the replication slot idle.
    working: () => connectorRuns(cfg.connect.url),
    health: () => debeziumPluginLoaded(cfg.connect.url),
  };
}
