// One idempotent bootstrap of the pipeline on a running stack (local or compose), as the sequence of its steps:
// wait for the services, create the database and apply the migrations, make the topics as specified, register
// the Debezium connector, submit the Druid supervisors, compaction and retention, provision Grafana when one is
// there. A second run changes nothing and says so.
import pg from 'pg';
import { readSecrets, replicationPassword, type PulsoConfig } from '../lib/config.ts';
import { createKafka } from '../lib/kafka.ts';
import { applyTopicSpecs } from '../lib/topicAdmin.ts';
import { topicSpecs } from '../lib/topicSpecs.ts';
import { migrate } from '../sql/migrate.ts';
import {
  COMPACTION_SPEC_FILES,
  readCompactionSpec,
  readRetentionRules,
  readSupervisorSpec,
  renderRetentionRules,
  renderSupervisorSpec,
  RETENTION_RULE_FILES,
  supervisorTopic,
  SUPERVISOR_SPEC_FILES,
  type CompactionDataSource,
  type RetentionDataSource,
  type SupervisorDataSource,
} from '../druid-specs/renderSpec.ts';
import { BootstrapError } from './bootstrapError.ts';
import {
  CONNECTOR_FILE,
  readConnectorDefinition,
  registerConnector,
  waitForConnectorRunning,
} from './connectorSetup.ts';
import {
  submitCompactionConfig,
  submitRetentionRules,
  submitSupervisor,
  terminateRetiredSupervisors,
  waitForSupervisorRunning,
} from './druidSetup.ts';
import { provisionGrafana } from './provisionGrafana.ts';
import { waitForPipelineServices } from './waitFor.ts';

export { BootstrapError } from './bootstrapError.ts';
export { CONNECTOR_FILE, readConnectorDefinition, registerConnector } from './connectorSetup.ts';
export { submitCompactionConfig, submitRetentionRules, submitSupervisor } from './druidSetup.ts';

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

/** What one step found: a change ("created …") or a confirmation ("… unchanged"). */
type Note = (line: string, changed: boolean) => void;

interface Step {
  readonly cfg: PulsoConfig;
  readonly opts: BootstrapOptions;
  readonly waitS: number;
  readonly note: Note;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function bootstrapPipeline(cfg: PulsoConfig, opts: BootstrapOptions): Promise<BootstrapReport> {
  const report: BootstrapReport = { changed: [], unchanged: [] };
  const note: Note = (line, changed) => (changed ? report.changed : report.unchanged).push(line);
  const step: Step = { cfg, opts, waitS: opts.waitS ?? cfg.bootstrap.waitS, note };
  await waitForPipelineServices(cfg, withDatabase(cfg.pg.url, 'postgres'), { timeoutS: step.waitS, log: opts.log });
  await createDatabase(step);
  await applyMigrations(step);
  await applyTopics(step);
  await applyConnector(step);
  await applySupervisors(step);
  await applyCompaction(step);
  await applyRetention(step);
  if (cfg.grafana.url) {
    const r = await provisionGrafana(cfg).catch((e: Error) => `not provisioned: ${e.message}`);
    note(`grafana ${r}`, !r.startsWith('not'));
  }
  for (const c of report.changed) opts.log(`changed: ${c}`);
  for (const u of report.unchanged) opts.log(`unchanged: ${u}`);
  if (report.changed.length === 0) opts.log('bootstrap: nothing to do, the pipeline is already set up');
  return report;
}

async function createDatabase({ cfg, note }: Step): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(cfg.pg.url, 'postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [cfg.pg.database]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${cfg.pg.database}`);
      note(`database ${cfg.pg.database} created`, true);
    }
  } finally {
    await admin.end();
  }
}

async function applyMigrations({ cfg, note }: Step): Promise<void> {
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
  if (applied.length) note(`migrations applied: ${applied.join(', ')}`, true);
  else note('schema up to date', false);
}

async function applyTopics({ cfg, note }: Step): Promise<void> {
  const admin = createKafka(cfg, 'pulso-bootstrap', { retry: { retries: 2 } }).admin();
  await admin.connect();
  try {
    const r = await applyTopicSpecs(admin, topicSpecs(cfg));
    if (r.created.length) note(`topics created: ${r.created.join(', ')}`, true);
    if (r.updated.length) note(`topic settings updated: ${r.updated.join(', ')}`, true);
    if (r.unchanged) note(`${r.unchanged} topics as specified`, false);
  } finally {
    await admin.disconnect();
  }
}

async function applyConnector({ cfg, waitS, opts, note }: Step): Promise<void> {
  const def = readConnectorDefinition();
  if (def.config['topic.prefix'] !== cfg.topics.prefix) {
    throw new BootstrapError(
      `TOPIC_PREFIX=${cfg.topics.prefix} but ${CONNECTOR_FILE} has topic.prefix=${def.config['topic.prefix']}; make them equal.`,
    );
  }
  const change = await registerConnector(cfg, def);
  note(`connector ${def.name} ${change === 'unchanged' ? 'config unchanged' : change}`, change !== 'unchanged');
  await waitForConnectorRunning(cfg, def.name, waitS, opts.log);
}

async function applySupervisors({ cfg, waitS, opts, note }: Step): Promise<void> {
  const kafkaBootstrap = opts.druidKafkaBootstrap ?? cfg.bootstrap.druidKafkaBootstrap;
  const supervisors = Object.keys(SUPERVISOR_SPEC_FILES) as SupervisorDataSource[];
  for (const ds of supervisors) {
    const topic = supervisorTopic(ds, cfg.topics);
    const rendered = renderSupervisorSpec(readSupervisorSpec(ds), { kafkaBootstrap, topic });
    const change = await submitSupervisor(cfg, ds, rendered, SUPERVISOR_SPEC_FILES[ds], waitS);
    note(
      `supervisor ${ds} ${change === 'rebuilt' ? 'updated: its rows are rebuilt from its topic' : change}`,
      change !== 'unchanged',
    );
  }
  await Promise.all(supervisors.map((ds) => waitForSupervisorRunning(cfg, ds, waitS, opts.log)));
  for (const id of await terminateRetiredSupervisors(cfg, supervisors))
    note(`supervisor ${id} terminated (no longer in druid-specs/)`, true);
}

/** Auto-compaction of the rollup datasources (late changes to old orders land in old day chunks). */
async function applyCompaction({ cfg, note }: Step): Promise<void> {
  for (const ds of Object.keys(COMPACTION_SPEC_FILES) as CompactionDataSource[]) {
    const change = await submitCompactionConfig(cfg, readCompactionSpec(ds), COMPACTION_SPEC_FILES[ds]);
    note(`compaction ${ds} ${change}`, change !== 'unchanged');
  }
}

/** Retention of the event datasources (the rollups keep everything). */
async function applyRetention({ cfg, note }: Step): Promise<void> {
  const days = cfg.bootstrap.eventRetentionDays;
  for (const ds of Object.keys(RETENTION_RULE_FILES) as RetentionDataSource[]) {
    const change = await submitRetentionRules(
      cfg,
      renderRetentionRules(readRetentionRules(ds), days),
      RETENTION_RULE_FILES[ds],
    );
    note(`retention ${ds} ${change === 'unchanged' ? `unchanged (P${days}D)` : change}`, change !== 'unchanged');
  }
}
