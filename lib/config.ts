// The one typed configuration module. Every environment variable Pulso reads is declared here,
// validated at start, and listed in the README (test/static/config-readme.test.ts keeps them in sync).
import { readFileSync, existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

interface VarSpec {
  readonly name: string;
  readonly doc: string;
  readonly default?: string;
}

/** Every variable, with its meaning and default. The README table is generated from/checked against this list. */
export const CONFIG_VARS: readonly VarSpec[] = [
  { name: 'PULSO_HOME', doc: 'Folder for local stack state (data, logs, jars, secrets)', default: '<repo>/.pulso' },
  { name: 'DATABASE_URL', doc: 'Use an external PostgreSQL (wal_level=logical) instead of the embedded one; superuser/owner URL', default: '(embedded)' },
  { name: 'PG_PORT', doc: 'Port of the embedded PostgreSQL', default: '55432' },
  { name: 'PG_DATABASE', doc: 'Database name of the marketplace', default: 'pulso' },
  { name: 'KAFKA_PORT', doc: 'Kafka broker (PLAINTEXT) port', default: '9092' },
  { name: 'KAFKA_CONTROLLER_PORT', doc: 'Kafka KRaft controller port', default: '9093' },
  { name: 'KAFKA_BROKERS', doc: 'Bootstrap servers for clients (overrides host:KAFKA_PORT)', default: '127.0.0.1:9092' },
  { name: 'CONNECT_PORT', doc: 'Kafka Connect REST port (moved off 8083, which is the Druid historical)', default: '18083' },
  { name: 'CONNECT_URL', doc: 'Kafka Connect REST URL for bootstrap (compose: http://127.0.0.1:18083)', default: 'http://127.0.0.1:18083' },
  { name: 'ZK_PORT', doc: 'ZooKeeper client port (Druid only)', default: '2181' },
  { name: 'DERBY_PORT', doc: 'Druid metadata store (Derby) port', default: '1527' },
  { name: 'DRUID_COORDINATOR_PORT', doc: 'Druid coordinator-overlord port', default: '8081' },
  { name: 'DRUID_BROKER_PORT', doc: 'Druid broker (SQL) port', default: '8082' },
  { name: 'DRUID_HISTORICAL_PORT', doc: 'Druid historical port', default: '8083' },
  { name: 'DRUID_INDEXER_PORT', doc: 'Druid indexer port', default: '8091' },
  { name: 'DRUID_ROUTER_PORT', doc: 'Druid router + web console port', default: '8888' },
  { name: 'DRUID_URL', doc: 'Druid router (or broker) URL used for SQL and supervisors', default: 'http://127.0.0.1:8888' },
  { name: 'DRUID_KAFKA_BOOTSTRAP', doc: 'Kafka address as Druid sees it, written into the supervisor specs (compose: kafka:29092)', default: 'KAFKA_BROKERS' },
  { name: 'TRANSFORMER_METRICS_PORT', doc: 'Transformer HTTP port for /metrics and /health', default: '9464' },
  { name: 'PULSO_CDC_PASSWORD', doc: 'Password of the pulso_cdc replication role (compose/external DB; locally generated into $PULSO_HOME/secrets.json)', default: '(generated)' },
  { name: 'GRAFANA_USER', doc: 'Grafana admin user for bootstrap provisioning', default: 'admin' },
  { name: 'GRAFANA_PASSWORD', doc: 'Grafana admin password for bootstrap provisioning', default: '(unset)' },
  { name: 'BOOTSTRAP_WAIT_S', doc: 'How long bootstrap waits for each service before naming it as down', default: '120' },
  { name: 'GRAFANA_URL', doc: 'Grafana URL; bootstrap provisions it when set and reachable', default: '(unset)' },
  { name: 'TOPIC_PREFIX', doc: 'Debezium topic.prefix; CDC topics are <prefix>.public.<table>', default: 'pulso' },
  { name: 'ORDERS_TOPIC', doc: 'Clean order-events topic', default: 'orders' },
  { name: 'ORDER_ITEMS_TOPIC', doc: 'Clean order-items topic', default: 'order_items' },
  { name: 'DLQ_TOPIC', doc: 'Dead-letter topic for records the transformer cannot decode', default: 'pulso.dlq' },
  { name: 'ORDER_DELTAS_TOPIC', doc: 'Signed order deltas (−1 old state, +1 new state) for the rollup datasources', default: 'order_deltas' },
  { name: 'ORDER_ITEM_DELTAS_TOPIC', doc: 'Signed order-item deltas for the product rollup', default: 'order_item_deltas' },
  { name: 'DELIVERIES_TOPIC', doc: 'Delivery facts, one per delivered order (delivery-time sketches)', default: 'order_deliveries' },
  { name: 'TRANSFORMER_STATS_TOPIC', doc: 'Per-transaction transformer counters (events, duplicates, dead letters, latency) for pipeline health', default: 'transformer_stats' },
  { name: 'GEOCODER_PROVIDER', doc: 'offline (bundled gazetteer) or openstreetmap (Nominatim)', default: 'offline' },
  { name: 'GEOCODER_URL', doc: 'Nominatim server URL when GEOCODER_PROVIDER=openstreetmap', default: 'https://nominatim.openstreetmap.org' },
  { name: 'JAVA_HOME', doc: 'JDK used for Kafka/Connect/Druid (17+)', default: '(java on PATH)' },
  { name: 'LOG_LEVEL', doc: 'debug, info, warn or error', default: 'info' },
];

function int(env: Env, name: string, def: number, min = 1, max = 65535): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a valid value: expected an integer between ${min} and ${max}. Fix or unset ${name}.`);
  }
  return n;
}

function str(env: Env, name: string, def: string, allowed?: readonly string[]): string {
  const raw = env[name];
  const v = raw === undefined || raw === '' ? def : raw;
  if (allowed && !allowed.includes(v)) {
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not valid: expected one of ${allowed.join(', ')}.`);
  }
  return v;
}

function url(env: Env, name: string, def: string): string {
  const v = str(env, name, def);
  try {
    new URL(v);
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(v)} is not a URL (example: ${def}).`);
  }
  return v.replace(/\/+$/, '');
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface PulsoConfig {
  readonly home: string;
  readonly pg: {
    readonly external: boolean;
    readonly port: number;
    readonly database: string;
    /** Owner/superuser URL (contains a password; never log it, use redactUrl). */
    readonly url: string;
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
  readonly transformer: { readonly metricsPort: number };
  readonly grafanaUrl: string | undefined;
  readonly topics: {
    readonly prefix: string;
    readonly orders: string;
    readonly orderItems: string;
    readonly dlq: string;
    readonly orderDeltas: string;
    readonly itemDeltas: string;
    readonly deliveries: string;
    readonly stats: string;
  };
  readonly geocoder: { readonly provider: 'offline' | 'openstreetmap'; readonly url: string };
  readonly javaHome: string | undefined;
  readonly logLevel: LogLevel;
}

/** Local secrets are generated on first `up` into $PULSO_HOME/secrets.json, never committed. */
export interface LocalSecrets {
  readonly postgresPassword: string;
  readonly replicationPassword: string;
}

export function secretsPath(home: string): string {
  return resolve(home, 'secrets.json');
}

export function readSecrets(home: string): LocalSecrets | undefined {
  const p = secretsPath(home);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as LocalSecrets;
}

export function loadConfig(env: Env = process.env): PulsoConfig {
  const home = resolve(str(env, 'PULSO_HOME', resolve(PROJECT_ROOT, '.pulso')));
  const pgPort = int(env, 'PG_PORT', 55432);
  const database = str(env, 'PG_DATABASE', 'pulso');
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new ConfigError(`PG_DATABASE=${database} must be a simple lower-case identifier.`);
  const external = Boolean(env.DATABASE_URL);
  let pgUrl: string;
  if (external) {
    pgUrl = url(env, 'DATABASE_URL', 'postgres://user:pass@127.0.0.1:5432/pulso');
  } else {
    const secrets = readSecrets(home);
    const pw = secrets?.postgresPassword ?? '';
    pgUrl = `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${pgPort}/${database}`;
  }
  const kafkaPort = int(env, 'KAFKA_PORT', 9092);
  const connectPort = int(env, 'CONNECT_PORT', 18083);
  const coordinatorPort = int(env, 'DRUID_COORDINATOR_PORT', 8081);
  const brokerPort = int(env, 'DRUID_BROKER_PORT', 8082);
  const routerPort = int(env, 'DRUID_ROUTER_PORT', 8888);
  const cfg: PulsoConfig = {
    home,
    pg: { external, port: pgPort, database, url: pgUrl },
    kafka: {
      port: kafkaPort,
      controllerPort: int(env, 'KAFKA_CONTROLLER_PORT', 9093),
      brokers: str(env, 'KAFKA_BROKERS', `127.0.0.1:${kafkaPort}`).split(',').map((s) => s.trim()).filter(Boolean),
    },
    connect: { port: connectPort, url: url(env, 'CONNECT_URL', `http://127.0.0.1:${connectPort}`) },
    zk: { port: int(env, 'ZK_PORT', 2181) },
    druid: {
      derbyPort: int(env, 'DERBY_PORT', 1527),
      coordinatorPort,
      brokerPort,
      historicalPort: int(env, 'DRUID_HISTORICAL_PORT', 8083),
      indexerPort: int(env, 'DRUID_INDEXER_PORT', 8091),
      routerPort,
      url: url(env, 'DRUID_URL', `http://127.0.0.1:${routerPort}`),
      coordinatorUrl: `http://127.0.0.1:${coordinatorPort}`,
      brokerUrl: `http://127.0.0.1:${brokerPort}`,
    },
    transformer: { metricsPort: int(env, 'TRANSFORMER_METRICS_PORT', 9464) },
    grafanaUrl: env.GRAFANA_URL ? url(env, 'GRAFANA_URL', 'http://127.0.0.1:3000') : undefined,
    topics: {
      prefix: str(env, 'TOPIC_PREFIX', 'pulso'),
      orders: str(env, 'ORDERS_TOPIC', 'orders'),
      orderItems: str(env, 'ORDER_ITEMS_TOPIC', 'order_items'),
      dlq: str(env, 'DLQ_TOPIC', 'pulso.dlq'),
      orderDeltas: str(env, 'ORDER_DELTAS_TOPIC', 'order_deltas'),
      itemDeltas: str(env, 'ORDER_ITEM_DELTAS_TOPIC', 'order_item_deltas'),
      deliveries: str(env, 'DELIVERIES_TOPIC', 'order_deliveries'),
      stats: str(env, 'TRANSFORMER_STATS_TOPIC', 'transformer_stats'),
    },
    geocoder: {
      provider: str(env, 'GEOCODER_PROVIDER', 'offline', ['offline', 'openstreetmap']) as 'offline' | 'openstreetmap',
      url: url(env, 'GEOCODER_URL', 'https://nominatim.openstreetmap.org'),
    },
    javaHome: env.JAVA_HOME || undefined,
    logLevel: str(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error']) as LogLevel,
  };
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
  ];
  for (const [name, port] of portVars) {
    const other = ports.get(port);
    if (other) throw new ConfigError(`${name} and ${other} are both ${port}; give each service its own port.`);
    ports.set(port, name);
  }
  return cfg;
}

/**
 * The config with the embedded PostgreSQL's URL carrying the current local password. `up` generates the
 * secrets on a fresh (or reset) home after the config was first loaded, so it re-derives the URL here.
 */
export function withLocalSecrets(cfg: PulsoConfig): PulsoConfig {
  if (cfg.pg.external) return cfg;
  const pw = readSecrets(cfg.home)?.postgresPassword ?? '';
  const url = `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${cfg.pg.port}/${cfg.pg.database}`;
  return { ...cfg, pg: { ...cfg.pg, url } };
}

/** The replication role's password: PULSO_CDC_PASSWORD, else the locally generated one. */
export function replicationPassword(cfg: PulsoConfig, env: Env = process.env): string | undefined {
  return env.PULSO_CDC_PASSWORD || readSecrets(cfg.home)?.replicationPassword;
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
