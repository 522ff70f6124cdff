// ZooKeeper (Druid's coordination) and Kafka (KRaft, one broker): their JVMs, Kafka's storage format on first
// start, and how each is judged healthy and working.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createKafka, kafkaAnswers } from '../../lib/kafka.ts';
import { CONNECT_WORKER_GROUP } from '../../lib/names.ts';
import { tcpAnswers } from '../processes.ts';
import { baseJvmFlags, jmxExporterFlags, type ServiceContext, type ServiceDef } from './types.ts';

export function zookeeperService(ctx: ServiceContext): ServiceDef {
  const { cfg, conf, data, java } = ctx;
  return {
    name: 'zookeeper',
    stage: 'infra',
    portVar: 'ZK_PORT',
    port: cfg.zk.port,
    url: `127.0.0.1:${cfg.zk.port}`,
    after: [],
    startTimeoutS: 60,
    stopSignal: 'SIGTERM',
    prepare: async () => {
      mkdirSync(resolve(data, 'zookeeper'), { recursive: true });
      return undefined;
    },
    spawnSpec: () => ({
      name: 'zookeeper',
      command: java,
      args: [
        ...baseJvmFlags(64, ['-XX:TieredStopAtLevel=1']),
        '-Dzookeeper.jmx.log4j.disable=true',
        `-Dlog4j.configurationFile=${conf}/druid/log4j2.xml`,
        '-cp',
        ctx.classpath.druid,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        `${conf}/zookeeper/zoo.cfg`,
      ],
      cwd: data,
    }),
    health: async () => ((await tcpAnswers(cfg.zk.port, 'srvr')) ?? '').includes('Zookeeper version'),
  };
}

/** Kafka's first start formats its storage with a cluster id kept beside the data. */
function formatKafkaStorage(ctx: ServiceContext): string | undefined {
  const { conf, data, java } = ctx;
  const dir = resolve(data, 'kafka');
  if (existsSync(resolve(dir, 'meta.properties'))) return undefined;
  mkdirSync(dir, { recursive: true });
  const idFile = resolve(data, 'kafka-cluster-id');
  if (!existsSync(idFile)) {
    const out = execFileSync(java, ['-Xmx128m', '-cp', ctx.classpath.kafka, 'kafka.tools.StorageTool', 'random-uuid']);
    writeFileSync(idFile, out.toString().trim().split('\n').pop()!);
  }
  const id = readFileSync(idFile, 'utf8').trim();
  const log4j = `-Dlog4j2.configurationFile=${conf}/kafka/log4j2.yaml`;
  const format = ['format', '-t', id, '-c', `${conf}/kafka/server.properties`, '--ignore-formatted'];
  execFileSync(java, ['-Xmx256m', log4j, '-cp', ctx.classpath.kafka, 'kafka.tools.StorageTool', ...format], {
    stdio: 'pipe',
  });
  return 'formatted storage';
}

/**
 * Answering is not enough: after an unclean restart Kafka 4.4's group coordinator was seen stuck ("state
 * machine of the coordinator __consumer_offsets-2 is out of sync with the underlying log"), failing every join
 * of Connect's group for minutes; a clean restart healed it.
 */
async function kafkaGroupCoordinatorWorks(ctx: ServiceContext): Promise<{ ok: true } | { ok: false; why: string }> {
  const kafka = createKafka(ctx.cfg, 'pulso-health', {
    brokers: [`127.0.0.1:${ctx.cfg.kafka.port}`],
    retry: { retries: 2, initialRetryTime: 200 },
    connectionTimeout: 1500,
    requestTimeout: 5000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeGroups([CONNECT_WORKER_GROUP]); // throws when the group's coordinator cannot serve it
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `the coordinator of group ${CONNECT_WORKER_GROUP} fails: ${(e as Error).message}` };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function kafkaService(ctx: ServiceContext): ServiceDef {
  const { cfg, conf, data, java } = ctx;
  return {
    name: 'kafka',
    stage: 'infra',
    portVar: 'KAFKA_PORT',
    port: cfg.kafka.port,
    url: `127.0.0.1:${cfg.kafka.port}`,
    after: [],
    startTimeoutS: 90,
    stopSignal: 'SIGTERM',
    prepare: async () => formatKafkaStorage(ctx),
    spawnSpec: () => ({
      name: 'kafka',
      command: java,
      args: [
        ...baseJvmFlags(384, jmxExporterFlags(ctx, 'kafka', cfg.monitoring.kafkaJmxPort)),
        `-Dlog4j2.configurationFile=${conf}/kafka/log4j2.yaml`,
        `-Dkafka.logs.dir=${cfg.home}/logs`,
        '-cp',
        ctx.classpath.kafka,
        'kafka.Kafka',
        `${conf}/kafka/server.properties`,
      ],
      cwd: data,
    }),
    working: () => kafkaGroupCoordinatorWorks(ctx),
    health: () =>
      kafkaAnswers(
        createKafka(cfg, 'pulso-health', {
          brokers: [`127.0.0.1:${cfg.kafka.port}`],
          retry: { retries: 0 },
          connectionTimeout: 1500,
        }),
      ),
  };
}
