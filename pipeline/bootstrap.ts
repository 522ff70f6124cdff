// One idempotent bootstrap of the pipeline on a running stack (local or compose): wait for the services,
// apply the migrations, create the topics, register the Debezium connector, submit the Druid supervisors,
// provision Grafana when one is there. A second run changes nothing and says so.
import { readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import axios, { type AxiosResponse } from 'axios';
import pg from 'pg';
import kafkajs from 'kafkajs';
import { PROJECT_ROOT, readSecrets, redactUrl, replicationPassword, type PulsoConfig } from '../lib/config.ts';
import { migrate } from '../sql/migrate.ts';
import {
  COMPACTION_SPEC_FILES,
  readCompactionSpec,
  readRetentionRules,
  readSupervisorSpec,
  renderRetentionRules,
  RETENTION_RULE_FILES,
  renderSupervisorSpec,
  supervisorTopic,
  SUPERVISOR_SPEC_FILES,
  type CompactionDataSource,
  type RetentionDataSource,
  type RetentionRules,
  type SupervisorDataSource,
} from '../druid-specs/renderSpec.ts';
import { topicSpecs } from './topics.ts';
import { waitForService } from './waitFor.ts';
import { pollUntil, PollTimeoutError } from '../lib/poll.ts';

// kafkajs is CommonJS; Node's named-export detection misses ConfigResourceTypes.
const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

export class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

export interface BootstrapOptions {
  readonly log: (line: string) => void;
  /** Seconds to wait for each service. */
  readonly waitS?: number;
  /** Kafka address as Druid must see it (compose: the internal listener). Default: cfg.kafka.brokers. */
  readonly druidKafkaBootstrap?: string;
}

export interface BootstrapReport {
  readonly changed: string[];
  readonly unchanged: string[];
}

export const CONNECTOR_FILE = 'connect/pulso-postgres.json';

export function readConnectorDefinition(root = PROJECT_ROOT): { name: string; config: Record<string, string> } {
  return JSON.parse(readFileSync(resolve(root, CONNECTOR_FILE), 'utf8'));
}

/** The server's own error text (Connect: {message}, Druid: {error, errorMessage}), not just the status. */
export function serverMessage(res: AxiosResponse): string {
  const d = res.data as unknown;
  if (d && typeof d === 'object') {
    const o = d as Record<string, unknown>;
    const parts = [o.message, o.error, o.errorMessage, o.errorClass].filter(
      (x) => typeof x === 'string' && x.length > 0,
    );
    if (parts.length) return `HTTP ${res.status}: ${parts.join(' — ')}`;
    return `HTTP ${res.status}: ${JSON.stringify(d).slice(0, 2000)}`;
  }
  return `HTTP ${res.status}: ${String(d ?? '').slice(0, 2000)}`;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function probeHttp(url: string, check?: (d: unknown) => boolean): Promise<boolean> {
  const r = await axios.get(url, { timeout: 2000, validateStatus: () => true });
  return r.status === 200 && (!check || check(r.data));
}

export async function bootstrapPipeline(cfg: PulsoConfig, opts: BootstrapOptions): Promise<BootstrapReport> {
  const log = opts.log;
  const waitS = opts.waitS ?? cfg.bootstrap.waitS;
  const changed: string[] = [];
  const unchanged: string[] = [];
  const kafka = new Kafka({
    clientId: 'pulso-bootstrap',
    brokers: cfg.kafka.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });

  // 1. Services.
  const adminUrl = withDatabase(cfg.pg.url, 'postgres');
  await Promise.all([
    waitForService(
      'PostgreSQL',
      redactUrl(adminUrl),
      async () => {
        const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      { timeoutS: waitS, log },
    ),
    waitForService(
      'Kafka',
      cfg.kafka.brokers.join(','),
      async () => {
        const admin = kafka.admin();
        try {
          await admin.connect();
          return (await admin.describeCluster()).brokers.length > 0;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      },
      { timeoutS: waitS, log },
    ),
    waitForService(
      'Kafka Connect',
      cfg.connect.url,
      () =>
        probeHttp(
          `${cfg.connect.url}/connector-plugins`,
          (d) => Array.isArray(d) && d.some((p: { class?: string }) => p.class?.endsWith('PostgresConnector')),
        ),
      { timeoutS: waitS, log },
    ),
    waitForService('Druid', cfg.druid.url, () => probeHttp(`${cfg.druid.url}/status/health`, (d) => d === true), {
      timeoutS: waitS,
      log,
    }),
  ]);

  // 2. Database and migrations.
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [cfg.pg.database]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${cfg.pg.database}`);
      changed.push(`database ${cfg.pg.database} created`);
    }
  } finally {
    await admin.end();
  }
  const pw = replicationPassword(cfg);
  if (!pw)
    throw new BootstrapError(
      'no password for the replication role: set PULSO_CDC_PASSWORD (compose: in .env) or run `npm run up`, which generates one.',
    );
  // The app and monitor roles get their passwords only where they are generated locally; an external
  // database is reached with DATABASE_URL for every purpose (its operator owns its roles).
  const local = cfg.pg.external ? undefined : readSecrets(cfg.home);
  const { applied } = await migrate(cfg.pg.url, {
    replicationPassword: pw,
    appPassword: local?.appPassword,
    monitorPassword: local?.monitorPassword,
  });
  if (applied.length) changed.push(`migrations applied: ${applied.join(', ')}`);
  else unchanged.push('schema up to date');

  // 3. Topics.
  const ka = kafka.admin();
  await ka.connect();
  try {
    const specs = topicSpecs(cfg);
    const existing = new Set(await ka.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length) {
      await ka.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: 1,
          configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
        })),
      });
      changed.push(`topics created: ${missing.map((s) => s.topic).join(', ')}`);
    }
    const present = specs.filter((s) => existing.has(s.topic));
    if (present.length) {
      const described = await ka.describeConfigs({
        includeSynonyms: false,
        resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.topic })),
      });
      const drift: string[] = [];
      for (const res of described.resources) {
        const spec = present.find((s) => s.topic === res.resourceName)!;
        const entries = Object.entries(spec.config).filter(
          ([k, v]) => res.configEntries.find((e) => e.configName === k)?.configValue !== v,
        );
        if (entries.length) {
          await ka.alterConfigs({
            validateOnly: false,
            resources: [
              {
                type: ConfigResourceTypes.TOPIC,
                name: spec.topic,
                configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
              },
            ],
          });
          drift.push(spec.topic);
        }
      }
      const meta = await ka.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
      for (const t of meta.topics) {
        const spec = present.find((s) => s.topic === t.name)!;
        if (t.partitions.length < spec.partitions) {
          await ka.createPartitions({ topicPartitions: [{ topic: t.name, count: spec.partitions }] });
          drift.push(`${t.name} (partitions ${t.partitions.length}→${spec.partitions})`);
        }
      }
      if (drift.length) changed.push(`topic settings updated: ${drift.join(', ')}`);
      else unchanged.push(`${present.length} topics as specified`);
    }
  } finally {
    await ka.disconnect();
  }

  // 4. Debezium connector.
  const def = readConnectorDefinition();
  if (def.config['topic.prefix'] !== cfg.topics.prefix) {
    throw new BootstrapError(
      `TOPIC_PREFIX=${cfg.topics.prefix} but ${CONNECTOR_FILE} has topic.prefix=${def.config['topic.prefix']}; make them equal.`,
    );
  }
  const connectorChange = await registerConnector(cfg, def);
  (connectorChange === 'unchanged' ? unchanged : changed).push(
    `connector ${def.name} ${connectorChange === 'unchanged' ? 'config unchanged' : connectorChange}`,
  );
  await waitForConnectorRunning(cfg, def.name, waitS, log);

  // 5. Druid supervisors.
  const druidKafka = opts.druidKafkaBootstrap ?? cfg.bootstrap.druidKafkaBootstrap;
  const supervisors = Object.keys(SUPERVISOR_SPEC_FILES) as SupervisorDataSource[];
  for (const ds of supervisors) {
    const rendered = renderSupervisorSpec(readSupervisorSpec(ds), {
      kafkaBootstrap: druidKafka,
      topic: supervisorTopic(ds, cfg.topics),
    });
    const supervisorChange = await submitSupervisor(cfg, ds, rendered, SUPERVISOR_SPEC_FILES[ds]);
    (supervisorChange === 'unchanged' ? unchanged : changed).push(`supervisor ${ds} ${supervisorChange}`);
  }
  await Promise.all(supervisors.map((ds) => waitForSupervisorRunning(cfg, ds, waitS, log)));
  for (const id of await terminateRetiredSupervisors(cfg, supervisors))
    changed.push(`supervisor ${id} terminated (no longer in druid-specs/)`);

  // 5b. Auto-compaction of the rollup datasources (late changes to old orders land in old day chunks).
  for (const ds of Object.keys(COMPACTION_SPEC_FILES) as CompactionDataSource[]) {
    const compactionChange = await submitCompactionConfig(cfg, readCompactionSpec(ds), COMPACTION_SPEC_FILES[ds]);
    (compactionChange === 'unchanged' ? unchanged : changed).push(`compaction ${ds} ${compactionChange}`);
  }

  // 5c. Retention of the event datasources (the rollups keep everything).
  for (const ds of Object.keys(RETENTION_RULE_FILES) as RetentionDataSource[]) {
    const rules = renderRetentionRules(readRetentionRules(ds), cfg.bootstrap.eventRetentionDays);
    const retentionChange = await submitRetentionRules(cfg, rules, RETENTION_RULE_FILES[ds]);
    (retentionChange === 'unchanged' ? unchanged : changed).push(
      `retention ${ds} ${retentionChange === 'unchanged' ? `unchanged (P${cfg.bootstrap.eventRetentionDays}D)` : retentionChange}`,
    );
  }

  // 6. Grafana, when one is reachable (compose provisions it from files; this covers an existing Grafana).
  if (cfg.grafana.url) {
    const r = await provisionGrafana(cfg).catch((e: Error) => `not provisioned: ${e.message}`);
    (r.startsWith('not') ? unchanged : changed).push(`grafana ${r}`);
  }

  for (const c of changed) log(`changed: ${c}`);
  for (const u of unchanged) log(`unchanged: ${u}`);
  if (changed.length === 0) log('bootstrap: nothing to do, the pipeline is already set up');
  return { changed, unchanged };
}

/** Registers or updates a connector; an unchanged config is left alone. Connect's own error on rejection. */
export async function registerConnector(
  cfg: PulsoConfig,
  def: { name: string; config: Record<string, string> },
  source = CONNECTOR_FILE,
): Promise<'registered' | 'updated' | 'unchanged'> {
  const current = await axios.get(`${cfg.connect.url}/connectors/${def.name}/config`, { validateStatus: () => true });
  const same =
    current.status === 200 &&
    Object.entries(def.config).every(([k, v]) => current.data[k] === v) &&
    Object.keys(current.data).every((k) => k === 'name' || k in def.config);
  if (same) return 'unchanged';
  const put = await axios.put(`${cfg.connect.url}/connectors/${def.name}/config`, def.config, {
    validateStatus: () => true,
    timeout: 60_000,
  });
  if (put.status >= 300) throw new BootstrapError(`Kafka Connect rejected ${source}: ${serverMessage(put)}`);
  return current.status === 404 ? 'registered' : 'updated';
}

/**
 * Submits a supervisor unless Druid already runs exactly this spec. The spec's hash rides in its context,
 * so "unchanged" is decided without diffing the defaults Druid adds. Druid's own error on rejection.
 */
export async function submitSupervisor(
  cfg: PulsoConfig,
  id: string,
  spec: object,
  source: string,
): Promise<'submitted' | 'updated' | 'unchanged'> {
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  const withHash = { ...spec, context: { ...((spec as { context?: object }).context ?? {}), pulsoSpecHash: hash } };
  const cur = await axios.get(`${cfg.druid.url}/druid/indexer/v1/supervisor/${id}`, { validateStatus: () => true });
  if (cur.status === 200 && cur.data?.context?.pulsoSpecHash === hash && !cur.data?.suspended) return 'unchanged';
  const res = await axios.post(`${cfg.druid.url}/druid/indexer/v1/supervisor`, withHash, {
    validateStatus: () => true,
    timeout: 60_000,
  });
  if (res.status !== 200) throw new BootstrapError(`Druid rejected ${source}: ${serverMessage(res)}`);
  return cur.status === 404 ? 'submitted' : 'updated';
}

/** Terminates supervisors Pulso submitted earlier (they carry its spec hash) whose spec file is gone. */
async function terminateRetiredSupervisors(cfg: PulsoConfig, current: readonly string[]): Promise<string[]> {
  const list = await axios.get<string[]>(`${cfg.druid.url}/druid/indexer/v1/supervisor`, {
    validateStatus: () => true,
  });
  if (list.status !== 200) return [];
  const retired: string[] = [];
  for (const id of list.data.filter((x) => !current.includes(x))) {
    const spec = await axios.get(`${cfg.druid.url}/druid/indexer/v1/supervisor/${encodeURIComponent(id)}`, {
      validateStatus: () => true,
    });
    if (spec.status !== 200 || !spec.data?.context?.pulsoSpecHash) continue; // not ours: leave it alone
    const res = await axios.post(
      `${cfg.druid.url}/druid/indexer/v1/supervisor/${encodeURIComponent(id)}/terminate`,
      null,
      { validateStatus: () => true },
    );
    if (res.status !== 200)
      throw new BootstrapError(`could not terminate the retired supervisor ${id}: ${serverMessage(res)}`);
    retired.push(id);
  }
  return retired;
}

/** True when `have` holds every field of `want`, recursively (Druid answers with its defaults filled in). */
function containsAll(have: unknown, want: unknown): boolean {
  return want !== null && typeof want === 'object'
    ? have !== null &&
        typeof have === 'object' &&
        Object.entries(want).every(([k, v]) => containsAll((have as Record<string, unknown>)[k], v))
    : have === want;
}

/**
 * Sets a datasource's auto-compaction config unless the coordinator already holds exactly these settings
 * (compared field by field: the coordinator fills in defaults for what the file leaves out).
 */
export async function submitCompactionConfig(
  cfg: PulsoConfig,
  config: { dataSource: string; [key: string]: unknown },
  source: string,
): Promise<'submitted' | 'updated' | 'unchanged'> {
  const url = `${cfg.druid.url}/druid/coordinator/v1/config/compaction`;
  const cur = await axios.get(`${url}/${encodeURIComponent(config.dataSource)}`, { validateStatus: () => true });
  if (cur.status === 200 && containsAll(cur.data, config)) return 'unchanged';
  const res = await axios.post(url, config, { validateStatus: () => true, timeout: 60_000 });
  if (res.status !== 200) throw new BootstrapError(`Druid rejected ${source}: ${serverMessage(res)}`);
  return cur.status === 200 ? 'updated' : 'submitted';
}

/** Sets a datasource's retention rules unless the coordinator already holds exactly these. */
export async function submitRetentionRules(
  cfg: PulsoConfig,
  spec: RetentionRules,
  source: string,
): Promise<'set' | 'unchanged'> {
  const url = `${cfg.druid.url}/druid/coordinator/v1/rules/${encodeURIComponent(spec.dataSource)}`;
  const cur = await axios.get(url, { validateStatus: () => true });
  // The coordinator answers with its defaults filled in (useDefaultTierForNull): each rule must contain ours.
  const same =
    cur.status === 200 &&
    Array.isArray(cur.data) &&
    cur.data.length === spec.rules.length &&
    spec.rules.every((r, i) => containsAll(cur.data[i], r));
  if (same) return 'unchanged';
  const res = await axios.post(url, spec.rules, {
    validateStatus: () => true,
    timeout: 60_000,
    headers: { 'X-Druid-Author': 'pulso-bootstrap', 'X-Druid-Comment': `from ${source}` },
  });
  if (res.status !== 200) throw new BootstrapError(`Druid rejected ${source}: ${serverMessage(res)}`);
  return 'set';
}

/** Polls until `probe` says done. A BootstrapError thrown by the probe ends the wait at once; a timeout throws `timeoutMessage()`. */
async function waitUntil(
  what: string,
  waitS: number,
  probe: () => Promise<boolean>,
  timeoutMessage: () => string,
): Promise<void> {
  await pollUntil(probe, {
    what,
    timeoutMs: waitS * 1000,
    intervalMs: 500,
    isFatal: (e) => e instanceof BootstrapError,
  }).catch((e: unknown) => {
    throw e instanceof PollTimeoutError ? new BootstrapError(timeoutMessage()) : e;
  });
}

async function waitForConnectorRunning(
  cfg: PulsoConfig,
  name: string,
  waitS: number,
  log: (l: string) => void,
): Promise<void> {
  let last = '';
  await waitUntil(
    `connector ${name}`,
    waitS,
    async () => {
      const s = await axios.get(`${cfg.connect.url}/connectors/${name}/status`, { validateStatus: () => true });
      if (s.status !== 200) return false;
      const task = s.data.tasks?.[0];
      if (task?.state === 'FAILED')
        throw new BootstrapError(
          `connector ${name} task FAILED: ${String(task.trace).split('\n').slice(0, 6).join('\n')}`,
        );
      if (s.data.connector?.state === 'FAILED')
        throw new BootstrapError(`connector ${name} FAILED: ${s.data.connector.trace}`);
      last = `${s.data.connector?.state}/${task?.state ?? 'no task'}`;
      return s.data.connector?.state === 'RUNNING' && task?.state === 'RUNNING';
    },
    () => {
      log(`connector ${name} state: ${last}`);
      return `connector ${name} did not reach RUNNING within ${waitS}s (state ${last}); see npm run logs -- connect`;
    },
  );
}

async function waitForSupervisorRunning(
  cfg: PulsoConfig,
  ds: string,
  waitS: number,
  log: (l: string) => void,
): Promise<void> {
  let last = '';
  await waitUntil(
    `supervisor ${ds}`,
    waitS,
    async () => {
      const s = await axios.get(`${cfg.druid.url}/druid/indexer/v1/supervisor/${ds}/status`, {
        validateStatus: () => true,
      });
      if (s.status !== 200) return false;
      const p = s.data.payload ?? {};
      last = `${p.state}/${p.detailedState}`;
      if (p.state === 'UNHEALTHY_SUPERVISOR' || p.state === 'UNHEALTHY_TASKS') {
        const errs = (p.recentErrors ?? [])
          .map((e: { exceptionClass?: string; message?: string }) => e.message ?? e.exceptionClass)
          .join('; ');
        throw new BootstrapError(`supervisor ${ds} is ${p.state}: ${errs}`);
      }
      return p.state === 'RUNNING';
    },
    () => {
      log(`supervisor ${ds} state: ${last}`);
      return `supervisor ${ds} did not reach RUNNING within ${waitS}s (state ${last})`;
    },
  );
}

/** Creates or updates the Druid datasource and the dashboards through Grafana's HTTP API. */
async function provisionGrafana(cfg: PulsoConfig): Promise<string> {
  const base = cfg.grafana.url!;
  const auth = { username: cfg.grafana.user, password: cfg.grafana.password };
  const health = await axios.get(`${base}/api/health`, { validateStatus: () => true, timeout: 3000 });
  if (health.status !== 200) throw new Error(`${base} answered ${health.status}`);
  const ds = await axios.get(`${base}/api/datasources/uid/druid`, { auth, validateStatus: () => true });
  if (ds.status === 404) {
    const r = await axios.post(
      `${base}/api/datasources`,
      {
        name: 'Druid',
        uid: 'druid',
        type: 'grafadruid-druid-datasource',
        access: 'proxy',
        jsonData: { 'connection.url': cfg.druid.url },
      },
      { auth, validateStatus: () => true },
    );
    if (r.status >= 300) throw new Error(`datasource: ${serverMessage(r)}`);
  }
  const dir = resolve(PROJECT_ROOT, 'grafana/dashboards');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(resolve(dir, f), 'utf8'));
    const r = await axios.post(
      `${base}/api/dashboards/db`,
      { dashboard: { ...dashboard, id: null }, overwrite: true },
      { auth, validateStatus: () => true },
    );
    if (r.status >= 300) throw new Error(`${f}: ${serverMessage(r)}`);
  }
  return 'datasource and dashboards provisioned';
}
