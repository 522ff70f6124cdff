// The one typed configuration module. Every environment variable Pulso reads is declared here,
// validated at start, and listed in the README (test/static/config-readme.test.ts keeps them in sync).
import { readFileSync, existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { PulsoError } from './errors.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export class ConfigError extends PulsoError {}

type Env = Record<string, string | undefined>;

interface VarSpec {
  readonly name: string;
  /** Markdown, as the README's configuration table shows it. */
  readonly doc: string;
  /** The value used when the variable is unset: the one place each default is written. */
  readonly default?: string;
  /** For defaults derived from another setting: how the README describes them. */
  readonly defaultDoc?: string;
  /** Who reads it, when not the pipeline itself. */
  readonly scope?: 'tests';
  /** Carries a password: never handed on to the services the stack starts. */
  readonly secret?: true;
}

/**
 * Every variable, with its meaning and default. Nothing outside this module reads process.env
 * (test/static/codeHealth.test.ts checks it), and the README's table is generated from this list
 * (`npm run config:table`; test/static/configReadme.test.ts checks they agree).
 */
export const CONFIG_VARS = [
  { name: 'PULSO_HOME', doc: 'Folder for local stack state (data, logs, jars, secrets)', defaultDoc: '<repo>/.pulso' },
  {
    name: 'PULSO_MIN_FREE_MB',
    doc: 'Free space under PULSO_HOME below which `up` refuses to start and `status` warns (naming what uses the space)',
    default: '1024',
  },
  {
    name: 'PULSO_LOG_MAX_MB',
    doc: 'Size at which a service log under `$PULSO_HOME/logs` is rotated (by the supervisor, checked every few seconds)',
    default: '64',
  },
  {
    name: 'PULSO_LOG_KEEP',
    doc: 'Rotated files kept per service log (`<service>.log.1` … `.N`, oldest dropped)',
    default: '3',
  },
  {
    name: 'DATABASE_URL',
    doc: 'Use an external PostgreSQL (wal_level=logical) instead of the embedded one; superuser/owner URL',
    defaultDoc: '(embedded)',
    secret: true,
  },
  { name: 'PG_PORT', doc: 'Port of the embedded PostgreSQL', default: '55432' },
  { name: 'PG_DATABASE', doc: 'Database name of the marketplace', default: 'pulso' },
  { name: 'KAFKA_PORT', doc: 'Kafka broker (PLAINTEXT) port', default: '9092' },
  { name: 'KAFKA_CONTROLLER_PORT', doc: 'Kafka KRaft controller port', default: '9093' },
  {
    name: 'KAFKA_BROKERS',
    doc: 'Bootstrap servers for clients (overrides host:KAFKA_PORT)',
    defaultDoc: '127.0.0.1:<KAFKA_PORT>',
  },
  {
    name: 'CONNECT_PORT',
    doc: 'Kafka Connect REST port (moved off 8083, which is the Druid historical)',
    default: '18083',
  },
  { name: 'CONNECT_URL', doc: 'Kafka Connect REST URL for bootstrap', defaultDoc: 'http://127.0.0.1:<CONNECT_PORT>' },
  { name: 'ZK_PORT', doc: 'ZooKeeper client port (Druid only)', default: '2181' },
  { name: 'DERBY_PORT', doc: 'Druid metadata store (Derby) port', default: '1527' },
  { name: 'DRUID_COORDINATOR_PORT', doc: 'Druid coordinator-overlord port', default: '8081' },
  { name: 'DRUID_BROKER_PORT', doc: 'Druid broker (SQL) port', default: '8082' },
  { name: 'DRUID_HISTORICAL_PORT', doc: 'Druid historical port', default: '8083' },
  { name: 'DRUID_INDEXER_PORT', doc: 'Druid indexer port', default: '8091' },
  {
    name: 'DRUID_ROUTER_PORT',
    doc: 'Druid router port (SQL at /druid/v2/sql; the web console comes with compose only)',
    default: '8888',
  },
  {
    name: 'DRUID_URL',
    doc: 'Druid router (or broker) URL used for SQL and supervisors',
    defaultDoc: 'http://127.0.0.1:<DRUID_ROUTER_PORT>',
  },
  {
    name: 'DRUID_KAFKA_BOOTSTRAP',
    doc: 'Kafka address as Druid sees it, written into the supervisor specs (compose: `kafka:29092`)',
    defaultDoc: 'KAFKA_BROKERS',
  },
  {
    name: 'TRANSFORMER_METRICS_PORT',
    doc: 'Transformer HTTP port for `/metrics` (Prometheus), `/metrics.json` and `/health`',
    default: '9464',
  },
  {
    name: 'TRANSFORMER_INSTANCE_ID',
    doc: 'Names a transformer instance in logs, metrics and transformer_stats (letters, digits, `._-`); instances of one group share the work, whatever their names',
    defaultDoc: '(the host name)',
  },
  {
    name: 'TRANSFORMER_SESSION_TIMEOUT_MS',
    doc: 'Consumer group session timeout: how long a transformer instance that stopped heartbeating keeps its partitions before the others take them over (or its own restart gets them back): the floor of its recovery after a SIGKILL',
    default: '10000',
  },
  {
    name: 'TRANSFORMER_CONCURRENCY',
    doc: 'Input partitions one transformer instance works on at once, each in its own Kafka transaction (kafkajs `partitionsConsumedConcurrently`); 1 works on one batch at a time, more than the CDC input partitions (6) adds nothing; on the saturated 2-core box 6 did not move bench:throughput (docs/benchmarks.md)',
    default: '1',
  },
  {
    name: 'TRANSFORMER_METRICS_PORT_LAST',
    doc: 'Compose only: the last host port of the range the scaled transformer replicas publish their metrics on (`--scale transformer=N`)',
    default: '9473',
  },
  {
    name: 'TRANSFORMER_STATE_DIR',
    doc: "Folder of the transformer's local state store (LMDB, one sub-folder per instance): a cache of its state topic, rebuilt from the topic when missing or foreign; `none` keeps it in memory (tests)",
    defaultDoc: '$PULSO_HOME/transformer-state',
  },
  {
    name: 'TRANSFORMER_HEAP_MB',
    doc: 'V8 old-space limit of the transformer process (`--max-old-space-size`, set by `npm run up` and compose): its history lives in the local state store on disk, so the heap holds only the batch in flight; the limit keeps V8 from growing its heap lazily during a state rebuild',
    default: '512',
  },
  {
    name: 'TRANSFORMER_CRASH_AT',
    doc: 'Tests only: `<point>[:<nth>]` makes the transformer SIGKILL itself the nth time it passes a crash point (`before-commit`, `after-commit`, `store-write`), for the crash-point tests of its state store',
    defaultDoc: '(unset)',
  },
  {
    name: 'TRANSFORMER_METRICS_HOST',
    doc: "Address the transformer's metrics server binds (compose: `0.0.0.0` inside the container, published on 127.0.0.1)",
    default: '127.0.0.1',
  },
  {
    name: 'DASHBOARDS_PORT',
    doc: 'Local dashboards server (the provisioned dashboards rendered without Grafana)',
    default: '3300',
  },
  {
    name: 'PROMETHEUS_PORT',
    doc: 'Prometheus (scrapes every stage every 5 s, evaluates the alert rules in prometheus/alerts.yml)',
    default: '9090',
  },
  {
    name: 'PROMETHEUS_RETENTION',
    doc: 'How long Prometheus keeps samples (`--storage.tsdb.retention.time`; also capped at 512 MB on disk)',
    default: '3d',
  },
  {
    name: 'POSTGRES_EXPORTER_PORT',
    doc: "prometheus-postgres-exporter (Debian's), as the pulso_monitor role: replication slots, WAL retained",
    default: '9187',
  },
  {
    name: 'KAFKA_JMX_EXPORTER_PORT',
    doc: "The Prometheus JMX exporter agent in the Kafka broker's JVM",
    default: '9404',
  },
  {
    name: 'CONNECT_JMX_EXPORTER_PORT',
    doc: "The Prometheus JMX exporter agent in Kafka Connect's JVM: Debezium's streaming and snapshot metrics, task states",
    default: '9405',
  },
  {
    name: 'PIPELINE_EXPORTER_PORT',
    doc: "Pulso's pipeline exporter: Druid supervisors (lag, state, health) and commit → queryable freshness, for Prometheus",
    default: '9466',
  },
  {
    name: 'PIPELINE_EXPORTER_HOST',
    doc: 'Address the pipeline exporter binds (compose: `0.0.0.0` inside the container)',
    default: '127.0.0.1',
  },
  {
    name: 'PULSO_CDC_PASSWORD',
    doc: 'Password of the pulso_cdc replication role (compose/external DB; locally generated into $PULSO_HOME/secrets.json)',
    defaultDoc: '(generated)',
    secret: true,
  },
  { name: 'GRAFANA_URL', doc: 'Grafana URL; bootstrap provisions it when set and reachable', defaultDoc: '(unset)' },
  { name: 'GRAFANA_USER', doc: 'Grafana admin user for bootstrap provisioning', default: 'admin' },
  {
    name: 'GRAFANA_PASSWORD',
    doc: 'Grafana admin password for bootstrap provisioning',
    defaultDoc: '(unset)',
    secret: true,
  },
  {
    name: 'DRUID_EVENT_RETENTION_DAYS',
    doc: 'Days of history the event datasources (orders, order_items, transformer_stats) keep in Druid (coordinator retention rules, druid-specs/*.retention.json); the rollups keep everything',
    default: '30',
  },
  {
    name: 'BOOTSTRAP_WAIT_S',
    doc: 'How long bootstrap waits for each service before naming it as down',
    default: '120',
  },
  {
    name: 'TOPIC_PREFIX',
    doc: 'Debezium topic.prefix; CDC topics are `<prefix>.public.<table>` (must equal `topic.prefix` in connect/pulso-postgres.json)',
    default: 'pulso',
  },
  { name: 'ORDERS_TOPIC', doc: 'Clean order-events topic', default: 'orders' },
  { name: 'ORDER_ITEMS_TOPIC', doc: 'Clean order-items topic', default: 'order_items' },
  { name: 'DLQ_TOPIC', doc: 'Dead-letter topic for records the transformer cannot decode', default: 'pulso.dlq' },
  {
    name: 'ORDER_DELTAS_TOPIC',
    doc: 'Signed order deltas (−1 old state, +1 new state) for the rollup datasources',
    default: 'order_deltas',
  },
  {
    name: 'ORDER_ITEM_DELTAS_TOPIC',
    doc: 'Signed order-item deltas for the product rollup',
    default: 'order_item_deltas',
  },
  {
    name: 'STOCK_DELTAS_TOPIC',
    doc: 'Signed stock deltas (−old units, +new units per product) and stock-out facts for the inventory datasources',
    default: 'stock_deltas',
  },
  {
    name: 'DELIVERIES_TOPIC',
    doc: 'Delivery facts, one per delivered order (delivery-time sketches)',
    default: 'order_deliveries',
  },
  {
    name: 'TRANSFORMER_STATS_TOPIC',
    doc: 'Per-transaction transformer counters (events, duplicates, dead letters, latency) for pipeline health',
    default: 'transformer_stats',
  },
  {
    name: 'GEOCODER_PROVIDER',
    doc: '`offline` (bundled gazetteer) or `openstreetmap` (Nominatim)',
    default: 'offline',
  },
  {
    name: 'GEOCODER_URL',
    doc: 'Nominatim server URL when GEOCODER_PROVIDER=openstreetmap',
    default: 'https://nominatim.openstreetmap.org',
  },
  { name: 'JAVA_HOME', doc: 'JDK used for Kafka/Connect/Druid (17+)', defaultDoc: '(java on PATH)' },
  { name: 'LOG_LEVEL', doc: 'debug, info, warn or error', default: 'info' },
  {
    name: 'PULSO_TEST_PROVIDER',
    doc: 'Tests: `local` (the stack from Maven jars) or `compose` (docker compose)',
    default: 'local',
    scope: 'tests',
  },
  {
    name: 'PULSO_KEEP_STACK',
    doc: 'Tests: `1` leaves a stack the suite started running afterwards',
    default: '0',
    scope: 'tests',
  },
  {
    name: 'UPDATE_GOLDEN',
    doc: 'Tests: `1` rewrites the recorded replay goldens instead of comparing against them',
    default: '0',
    scope: 'tests',
  },
] as const satisfies readonly VarSpec[];

type VarName = (typeof CONFIG_VARS)[number]['name'];
const SPECS = new Map<string, VarSpec>(CONFIG_VARS.map((v) => [v.name, v]));

/** The literal default of a variable, from CONFIG_VARS. */
function defaultOf(name: VarName): string {
  const d = SPECS.get(name)?.default;
  if (d === undefined)
    throw new PulsoError(`config: ${name} has no literal default; pass one derived from other settings`);
  return d;
}

/** The README's configuration table, generated from CONFIG_VARS. */
export function configTableMarkdown(): string {
  const rows = CONFIG_VARS.map(
    (v) => `| \`${v.name}\` | ${v.doc} | \`${'default' in v ? v.default : v.defaultDoc}\` |`,
  );
  return ['| variable | meaning | default |', '|---|---|---|', ...rows].join('\n');
}

function int(env: Env, name: VarName, def = Number(defaultOf(name)), min = 1, max = 65535): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not a valid value: expected an integer between ${min} and ${max}. Fix or unset ${name}.`,
    );
  }
  return n;
}

function str(env: Env, name: VarName, def = defaultOf(name), allowed?: readonly string[]): string {
  const raw = env[name];
  const v = raw === undefined || raw === '' ? def : raw;
  if (allowed && !allowed.includes(v)) {
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not valid: expected one of ${allowed.join(', ')}.`);
  }
  return v;
}

function url(env: Env, name: VarName, def = defaultOf(name)): string {
  const v = str(env, name, def);
  try {
    new URL(v);
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not a URL (example: ${def}).`);
  }
  return v.replace(/\/+$/, '');
}

function ipAddress(env: Env, name: VarName): string {
  const v = str(env, name);
  if (!isIP(v))
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not an IP address (example: ${defaultOf(name)}).`);
  return v;
}

function flag(env: Env, name: VarName): boolean {
  return str(env, name, defaultOf(name), ['0', '1']) === '1';
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface PulsoConfig {
  readonly home: string;
  readonly pg: {
    readonly external: boolean;
    readonly port: number;
    readonly database: string;
    /** Owner/superuser URL (contains a password; never log it, use redactUrl): migrations and tests only. */
    readonly url: string;
    /** The generator's least-privilege role (pulso_app); with an external DATABASE_URL, that URL. */
    readonly appUrl: string;
    /** The monitoring role (pulso_monitor) for status and health; with an external DATABASE_URL, that URL. */
    readonly monitorUrl: string;
  };
  readonly kafka: { readonly port: number; readonly controllerPort: number; readonly brokers: string[] };
  readonly connect: { readonly port: number; readonly url: string };
  readonly zk: { readonly port: number };
  readonly druid: {
    readonly derbyPort: number;
    readonly coordinatorPort: number;
    readonly brokerPort: number;
    readonly historicalPort: number;
    readonly indexerPort: number;
    readonly routerPort: number;
    readonly url: string;
    readonly coordinatorUrl: string;
    readonly brokerUrl: string;
  };
  readonly transformer: {
    readonly instanceId: string;
    readonly sessionTimeoutMs: number;
    readonly concurrency: number;
    readonly metricsPort: number;
    readonly metricsHost: string;
    /** The local state store's folder (per instance: `<stateDir>/<instanceId>`); null = in memory. */
    readonly stateDir: string | null;
    /** V8 old-space limit for the transformer process, MiB (applied by whoever starts it: the stack, compose, bench). */
    readonly heapMb: number;
    /** Tests only: the crash point armed (transformer/crashPoints.ts). */
    readonly crashAt:
      { readonly point: 'before-commit' | 'after-commit' | 'store-write'; readonly nth: number } | undefined;
  };
  readonly dashboards: { readonly port: number };
  readonly monitoring: {
    readonly prometheusPort: number;
    readonly prometheusUrl: string;
    readonly retention: string;
    readonly postgresExporterPort: number;
    readonly kafkaJmxPort: number;
    readonly connectJmxPort: number;
    readonly pipelineExporterPort: number;
    readonly pipelineExporterHost: string;
  };
  readonly grafana: { readonly url: string | undefined; readonly user: string; readonly password: string };
  readonly bootstrap: {
    /** Seconds bootstrap waits for each service. */
    readonly waitS: number;
    /** Kafka as Druid sees it (compose: the internal listener), written into the supervisor specs. */
    readonly druidKafkaBootstrap: string;
    /** Days the event datasources keep (their coordinator retention rules). */
    readonly eventRetentionDays: number;
  };
  /** PULSO_CDC_PASSWORD: the replication role's password where it is not generated locally. */
  readonly replicationPasswordOverride: string | undefined;
  readonly topics: {
    readonly prefix: string;
    readonly orders: string;
    readonly orderItems: string;
    readonly dlq: string;
    readonly orderDeltas: string;
    readonly itemDeltas: string;
    readonly stockDeltas: string;
    readonly deliveries: string;
    readonly stats: string;
  };
  readonly geocoder: { readonly provider: 'offline' | 'openstreetmap'; readonly url: string };
  readonly javaHome: string | undefined;
  readonly logLevel: LogLevel;
  /** Disk guards under PULSO_HOME: the free-space floor of `up` and `status`, and service-log rotation. */
  readonly disk: { readonly minFreeBytes: number; readonly logMaxBytes: number; readonly logKeep: number };
  /** Read by the test suite only. */
  readonly test: {
    readonly provider: 'local' | 'compose';
    readonly keepStack: boolean;
    readonly updateGolden: boolean;
  };
}

/** Local secrets are generated on first `up` into $PULSO_HOME/secrets.json, never committed. */
export interface LocalSecrets {
  readonly postgresPassword: string;
  readonly replicationPassword: string;
  /** pulso_app (the generator) and pulso_monitor (status, health); homes made before these roles lack them until the next `up`. */
  readonly appPassword?: string;
  readonly monitorPassword?: string;
}

function crashAtOf(env: Env): PulsoConfig['transformer']['crashAt'] {
  const raw = env.TRANSFORMER_CRASH_AT;
  if (!raw) return undefined;
  const m = /^(before-commit|after-commit|store-write)(?::(\d+))?$/.exec(raw);
  if (!m)
    throw new ConfigError(
      `TRANSFORMER_CRASH_AT=${raw} must be before-commit, after-commit or store-write, optionally with :<nth> (tests only; unset it otherwise).`,
    );
  return { point: m[1] as 'before-commit', nth: Math.max(1, Number(m[2] ?? 1)) };
}

function stateDirOf(env: Env, home: string): string | null {
  const dir = str(env, 'TRANSFORMER_STATE_DIR', resolve(home, 'transformer-state'));
  return dir === 'none' ? null : resolve(dir);
}

export function secretsPath(home: string): string {
  return resolve(home, 'secrets.json');
}

export function readSecrets(home: string): LocalSecrets | undefined {
  const p = secretsPath(home);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as LocalSecrets;
}

function instanceIdOf(env: Env): string {
  const id = env.TRANSFORMER_INSTANCE_ID || hostname();
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(id))
    throw new ConfigError(
      `TRANSFORMER_INSTANCE_ID=${id} must be 1–100 letters, digits, '.', '_' or '-'; set it to a plain name such as transformer-1.`,
    );
  return id;
}

export function loadConfig(env: Env = process.env): PulsoConfig {
  const home = resolve(str(env, 'PULSO_HOME', resolve(PROJECT_ROOT, '.pulso')));
  const pgPort = int(env, 'PG_PORT');
  const database = str(env, 'PG_DATABASE');
  if (!/^[a-z_][a-z0-9_]*$/.test(database))
    throw new ConfigError(`PG_DATABASE=${database} must be a simple lower-case identifier.`);
  const external = Boolean(env.DATABASE_URL);
  const pgUrls = external
    ? sameUrlForEveryRole(url(env, 'DATABASE_URL', 'postgres://user:pass@127.0.0.1:5432/pulso'))
    : localRoleUrls(home, pgPort, database);
  const kafkaPort = int(env, 'KAFKA_PORT');
  const connectPort = int(env, 'CONNECT_PORT');
  const brokers = str(env, 'KAFKA_BROKERS', `127.0.0.1:${kafkaPort}`)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cfg: PulsoConfig = {
    home,
    pg: { external, port: pgPort, database, ...pgUrls },
    kafka: {
      port: kafkaPort,
      controllerPort: int(env, 'KAFKA_CONTROLLER_PORT'),
      brokers,
    },
    connect: { port: connectPort, url: url(env, 'CONNECT_URL', `http://127.0.0.1:${connectPort}`) },
    zk: { port: int(env, 'ZK_PORT') },
    druid: druidConfig(env),
    transformer: transformerConfig(env, home),
    dashboards: { port: int(env, 'DASHBOARDS_PORT') },
    monitoring: monitoringConfig(env),
    grafana: {
      url: env.GRAFANA_URL ? url(env, 'GRAFANA_URL', 'http://127.0.0.1:3000') : undefined,
      user: str(env, 'GRAFANA_USER'),
      password: env.GRAFANA_PASSWORD ?? '',
    },
    bootstrap: {
      waitS: int(env, 'BOOTSTRAP_WAIT_S', undefined, 1, 86_400),
      druidKafkaBootstrap: str(env, 'DRUID_KAFKA_BOOTSTRAP', brokers.join(',')),
      eventRetentionDays: int(env, 'DRUID_EVENT_RETENTION_DAYS', undefined, 1, 36_500),
    },
    replicationPasswordOverride: env.PULSO_CDC_PASSWORD || undefined,
    topics: topicsConfig(env),
    geocoder: {
      provider: str(env, 'GEOCODER_PROVIDER', undefined, ['offline', 'openstreetmap']) as 'offline' | 'openstreetmap',
      url: url(env, 'GEOCODER_URL'),
    },
    javaHome: env.JAVA_HOME || undefined,
    test: {
      provider: str(env, 'PULSO_TEST_PROVIDER', undefined, ['local', 'compose']) as 'local' | 'compose',
      keepStack: flag(env, 'PULSO_KEEP_STACK'),
      updateGolden: flag(env, 'UPDATE_GOLDEN'),
    },
    logLevel: envLogLevel(env),
    disk: {
      minFreeBytes: int(env, 'PULSO_MIN_FREE_MB', undefined, 0, 10_000_000) * 1024 * 1024,
      logMaxBytes: int(env, 'PULSO_LOG_MAX_MB', undefined, 1, 100_000) * 1024 * 1024,
      logKeep: int(env, 'PULSO_LOG_KEEP', undefined, 1, 100),
    },
  };
  checkDistinctPorts(cfg);
  return cfg;
}

function druidConfig(env: Env): PulsoConfig['druid'] {
  const coordinatorPort = int(env, 'DRUID_COORDINATOR_PORT');
  const brokerPort = int(env, 'DRUID_BROKER_PORT');
  const routerPort = int(env, 'DRUID_ROUTER_PORT');
  return {
    derbyPort: int(env, 'DERBY_PORT'),
    coordinatorPort,
    brokerPort,
    historicalPort: int(env, 'DRUID_HISTORICAL_PORT'),
    indexerPort: int(env, 'DRUID_INDEXER_PORT'),
    routerPort,
    url: url(env, 'DRUID_URL', `http://127.0.0.1:${routerPort}`),
    coordinatorUrl: `http://127.0.0.1:${coordinatorPort}`,
    brokerUrl: `http://127.0.0.1:${brokerPort}`,
  };
}

function transformerConfig(env: Env, home: string): PulsoConfig['transformer'] {
  return {
    instanceId: instanceIdOf(env),
    sessionTimeoutMs: int(env, 'TRANSFORMER_SESSION_TIMEOUT_MS', undefined, 6000, 300_000),
    concurrency: int(env, 'TRANSFORMER_CONCURRENCY', undefined, 1, 64),
    metricsPort: int(env, 'TRANSFORMER_METRICS_PORT'),
    metricsHost: ipAddress(env, 'TRANSFORMER_METRICS_HOST'),
    stateDir: stateDirOf(env, home),
    heapMb: int(env, 'TRANSFORMER_HEAP_MB', undefined, 128, 65_536),
    crashAt: crashAtOf(env),
  };
}

function topicsConfig(env: Env): PulsoConfig['topics'] {
  return {
    prefix: str(env, 'TOPIC_PREFIX'),
    orders: str(env, 'ORDERS_TOPIC'),
    orderItems: str(env, 'ORDER_ITEMS_TOPIC'),
    dlq: str(env, 'DLQ_TOPIC'),
    orderDeltas: str(env, 'ORDER_DELTAS_TOPIC'),
    itemDeltas: str(env, 'ORDER_ITEM_DELTAS_TOPIC'),
    stockDeltas: str(env, 'STOCK_DELTAS_TOPIC'),
    deliveries: str(env, 'DELIVERIES_TOPIC'),
    stats: str(env, 'TRANSFORMER_STATS_TOPIC'),
  };
}

function monitoringConfig(env: Env): PulsoConfig['monitoring'] {
  const prometheusPort = int(env, 'PROMETHEUS_PORT');
  const retention = str(env, 'PROMETHEUS_RETENTION');
  if (!/^\d+[smhdwy]$/.test(retention))
    throw new ConfigError(`PROMETHEUS_RETENTION must be a duration like 3d or 12h, not "${retention}".`);
  return {
    prometheusPort,
    prometheusUrl: `http://127.0.0.1:${prometheusPort}`,
    retention,
    postgresExporterPort: int(env, 'POSTGRES_EXPORTER_PORT'),
    kafkaJmxPort: int(env, 'KAFKA_JMX_EXPORTER_PORT'),
    connectJmxPort: int(env, 'CONNECT_JMX_EXPORTER_PORT'),
    pipelineExporterPort: int(env, 'PIPELINE_EXPORTER_PORT'),
    pipelineExporterHost: str(env, 'PIPELINE_EXPORTER_HOST'),
  };
}

/** Two services on one port would fail at start with a less helpful message. */
function checkDistinctPorts(cfg: PulsoConfig): void {
  const ports = new Map<number, string>();
  const portVars: [string, number][] = [
    ['PG_PORT', cfg.pg.port],
    ['KAFKA_PORT', cfg.kafka.port],
    ['KAFKA_CONTROLLER_PORT', cfg.kafka.controllerPort],
    ['CONNECT_PORT', cfg.connect.port],
    ['ZK_PORT', cfg.zk.port],
    ['DERBY_PORT', cfg.druid.derbyPort],
    ['DRUID_COORDINATOR_PORT', cfg.druid.coordinatorPort],
    ['DRUID_BROKER_PORT', cfg.druid.brokerPort],
    ['DRUID_HISTORICAL_PORT', cfg.druid.historicalPort],
    ['DRUID_INDEXER_PORT', cfg.druid.indexerPort],
    ['DRUID_ROUTER_PORT', cfg.druid.routerPort],
    ['TRANSFORMER_METRICS_PORT', cfg.transformer.metricsPort],
    ['DASHBOARDS_PORT', cfg.dashboards.port],
    ['PROMETHEUS_PORT', cfg.monitoring.prometheusPort],
    ['POSTGRES_EXPORTER_PORT', cfg.monitoring.postgresExporterPort],
    ['KAFKA_JMX_EXPORTER_PORT', cfg.monitoring.kafkaJmxPort],
    ['CONNECT_JMX_EXPORTER_PORT', cfg.monitoring.connectJmxPort],
    ['PIPELINE_EXPORTER_PORT', cfg.monitoring.pipelineExporterPort],
  ];
  for (const [name, port] of portVars) {
    const other = ports.get(port);
    if (other) throw new ConfigError(`${name} and ${other} are both ${port}; give each service its own port.`);
    ports.set(port, name);
  }
}

/**
 * The config with the embedded PostgreSQL's URL carrying the current local password. `up` generates the
 * secrets on a fresh (or reset) home after the config was first loaded, so it re-derives the URL here.
 */
export function withLocalSecrets(cfg: PulsoConfig): PulsoConfig {
  if (cfg.pg.external) return cfg;
  return { ...cfg, pg: { ...cfg.pg, ...localRoleUrls(cfg.home, cfg.pg.port, cfg.pg.database) } };
}

type RoleUrls = Pick<PulsoConfig['pg'], 'url' | 'appUrl' | 'monitorUrl'>;

/** An external database is reached with the one URL it was given, for every purpose. */
function sameUrlForEveryRole(u: string): RoleUrls {
  return { url: u, appUrl: u, monitorUrl: u };
}

/** The embedded PostgreSQL: one role per purpose, with the passwords generated into the local secrets. */
function localRoleUrls(home: string, port: number, database: string): RoleUrls {
  const s = readSecrets(home);
  const at = (user: string, pw: string | undefined) =>
    `postgres://${user}:${encodeURIComponent(pw ?? '')}@127.0.0.1:${port}/${database}`;
  return {
    url: at('postgres', s?.postgresPassword),
    appUrl: at('pulso_app', s?.appPassword),
    monitorUrl: at('pulso_monitor', s?.monitorPassword),
  };
}

/** The replication role's password: PULSO_CDC_PASSWORD, else the locally generated one. */
export function replicationPassword(cfg: PulsoConfig): string | undefined {
  return cfg.replicationPasswordOverride || readSecrets(cfg.home)?.replicationPassword;
}

/** LOG_LEVEL, validated: the logger reads it through here, before (or without) the whole config. */
export function envLogLevel(env: Env = process.env): LogLevel {
  return str(env, 'LOG_LEVEL', undefined, ['debug', 'info', 'warn', 'error']) as LogLevel;
}

/** The environment a child process inherits, plus `extra`: the one place the whole environment is passed on. */
export function inheritedEnv(
  extra: Readonly<Record<string, string | undefined>> = {},
): Record<string, string | undefined> {
  return { ...process.env, ...extra };
}

/** What any program needs to run at all (paths, locale, temp dir); nothing in it carries a secret. */
const BASE_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/**
 * The environment of a service the local stack starts: the base above, plus, for our own Node services
 * ('pulso'), the Pulso variables that are set, except those that carry a password; plus `extra`, which the
 * service definition names one by one. Never the caller's whole environment: a token in the shell that ran
 * `npm run up` stays there.
 */
export function serviceEnv(
  scope: 'pulso' | 'minimal',
  extra: Readonly<Record<string, string | undefined>> = {},
  from: Env = process.env,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const k of BASE_ENV) if (from[k] !== undefined) out[k] = from[k];
  if (scope === 'pulso') {
    for (const v of CONFIG_VARS as readonly VarSpec[])
      if (!v.secret && v.scope !== 'tests' && from[v.name] !== undefined) out[v.name] = from[v.name];
  }
  return { ...out, ...extra };
}

/** Sets variables for this process and the workers it starts (the test setup hands compose's addresses on). */
export function exportEnv(vars: Readonly<Record<string, string>>): void {
  Object.assign(process.env, vars);
}

/** A URL safe to print: the password is replaced by ***. */
export function redactUrl(u: string): string {
  try {
    const parsed = new URL(u);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return u.replace(/:[^:@/]*@/, ':***@');
  }
}

/** Reads stack/versions.env: the single place versions are pinned (shared with docker compose). */
export function readVersions(): Record<string, string> {
  const text = readFileSync(resolve(PROJECT_ROOT, 'stack/versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
