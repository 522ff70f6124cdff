// The Druid services (coordinator, broker, historical, indexer, router): one JVM each, healthy when
// /status/health says true.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { druidHealthy } from '../../lib/druidClient.ts';
import { baseJvmFlags, DRUID_JAVA_OPENS, type ServiceContext, type ServiceDef, type ServiceName } from './types.ts';

export function druidService(
  ctx: ServiceContext,
  name: ServiceName,
  role: string,
  port: number,
  portVar: string,
  heapMb: number,
  directMb: number,
  after: ServiceName[],
): ServiceDef {
  const { conf, data, java } = ctx;
  return {
    name,
    portVar,
    port,
    url: `http://127.0.0.1:${port}`,
    after,
    stage: 'infra',
    startTimeoutS: 240,
    stopSignal: 'SIGTERM',
    spawnSpec: () => {
      const tmp = resolve(data, 'druid/tmp', role);
      mkdirSync(tmp, { recursive: true });
      return {
        name,
        command: java,
        args: [
          ...baseJvmFlags(heapMb, [`-XX:MaxDirectMemorySize=${directMb}m`]),
          ...DRUID_JAVA_OPENS,
          `-Djava.io.tmpdir=${tmp}`,
          '-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager',
          `-Dlog4j.configurationFile=${conf}/druid/log4j2.xml`,
          `-Dderby.stream.error.file=${data}/druid/derby.log`,
          `-Ddruid.node.type=${role}`,
          '-cp',
          `${conf}/druid/${role}:${conf}/druid/_common:${ctx.classpath.druid}`,
          'org.apache.druid.cli.Main',
          'server',
          role,
        ],
        cwd: resolve(data, 'druid'),
      };
    },
    prepare: async () => {
      mkdirSync(resolve(data, 'druid'), { recursive: true });
      return undefined;
    },
    health: () => druidHealthy(`http://127.0.0.1:${port}`),
  };
}

/** The five Druid processes in start order: heap and direct memory sized for a 2-core, shared machine. */
export function druidServices(ctx: ServiceContext): ServiceDef[] {
  const { druid } = ctx.cfg;
  return [
    druidService(ctx, 'druid-coordinator', 'coordinator', druid.coordinatorPort, 'DRUID_COORDINATOR_PORT', 256, 64, [
      'zookeeper',
    ]),
    druidService(ctx, 'druid-broker', 'broker', druid.brokerPort, 'DRUID_BROKER_PORT', 384, 288, ['druid-coordinator']),
    druidService(ctx, 'druid-historical', 'historical', druid.historicalPort, 'DRUID_HISTORICAL_PORT', 256, 288, [
      'druid-coordinator',
    ]),
    druidService(ctx, 'druid-indexer', 'indexer', druid.indexerPort, 'DRUID_INDEXER_PORT', 1536, 512, [
      'druid-coordinator',
    ]),
    druidService(ctx, 'druid-router', 'router', druid.routerPort, 'DRUID_ROUTER_PORT', 128, 64, ['druid-coordinator']),
  ];
}
