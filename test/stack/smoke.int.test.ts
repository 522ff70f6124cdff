// Smoke test of the bare infrastructure, independent of Pulso's own schema and transformer:
// a throwaway table → a throwaway Debezium connector → Kafka (read with kafkajs) → a minimal Druid
// supervisor → Druid SQL. Prints how long each stage took.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectorStatus, deleteConnector, putConnectorConfig } from '../../lib/connectClient.ts';
import { dropDataSource, queryDruidSql, submitSupervisorSpec, terminateSupervisor } from '../../lib/druidClient.ts';
import { loadConfig, readSecrets } from '../../lib/config.ts';
import { eventually } from '../support/eventually.ts';
import { cdcTopic } from '../../lib/names.ts';
import { createKafka } from '../../lib/kafka.ts';

const cfg = loadConfig();
const suffix = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const table = `smoke_${suffix}`;
const role = `smoke_${suffix}`;
const connector = `smoke-${suffix}`;
const prefix = `smoke${suffix}`;
const topic = cdcTopic({ prefix }, table);
const datasource = `smoke_${suffix}`;
const rolePassword = randomBytes(12).toString('hex');
const timings: Record<string, number> = {};

async function timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[stage] = Date.now() - t;
  }
}

function superuserClient(database = 'postgres'): pg.Client {
  const s = readSecrets(cfg.home);
  if (cfg.pg.external) return new pg.Client({ connectionString: cfg.pg.url });
  return new pg.Client({
    host: '127.0.0.1',
    port: cfg.pg.port,
    user: 'postgres',
    password: s?.postgresPassword,
    database,
  });
}

describe('infrastructure smoke: PostgreSQL → Debezium → Kafka → Druid', () => {
  const kafka = createKafka(cfg, 'pulso-smoke');

  afterAll(async () => {
    await deleteConnector(cfg.connect.url, connector).catch(() => undefined);
    await terminateSupervisor(cfg, datasource).catch(() => undefined);
    await dropDataSource(cfg, datasource).catch(() => undefined);
    const db = superuserClient();
    await db.connect();
    await eventually(
      'slot release',
      async () => {
        const r = await db.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [table]);
        if (r.rowCount === 0) return true;
        if (!r.rows[0].active) {
          await db.query('SELECT pg_drop_replication_slot($1)', [table]);
          return true;
        }
        return undefined;
      },
      30_000,
    ).catch(() => undefined);
    await db.query(`DROP PUBLICATION IF EXISTS ${table}`);
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.query(`DROP ROLE IF EXISTS ${role}`);
    await db.end();
    const admin = kafka.admin();
    await admin.connect();
    const existing = await admin.listTopics();
    await admin.deleteTopics({ topics: existing.filter((t) => t.startsWith(prefix)) }).catch(() => undefined);
    await admin.disconnect();
    process.stderr.write(`[smoke] stage timings (ms): ${JSON.stringify(timings)}\n`);
  });

  it('carries one inserted row all the way to Druid SQL', async () => {
    const db = superuserClient();
    await db.connect();
    await timed('postgres: create table, publication, role', async () => {
      await db.query(
        `CREATE TABLE ${table} (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
      );
      await db.query(`CREATE PUBLICATION ${table} FOR TABLE ${table}`);
      await db.query(`CREATE ROLE ${role} LOGIN REPLICATION PASSWORD '${rolePassword}'`);
      await db.query(`GRANT SELECT ON ${table} TO ${role}`);
    });

    await timed('connect: register connector until RUNNING', async () => {
      await putConnectorConfig(
        cfg.connect.url,
        connector,
        {
          'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
          'tasks.max': '1',
          'plugin.name': 'pgoutput',
          'database.hostname': '127.0.0.1',
          'database.port': String(cfg.pg.port),
          'database.user': role,
          'database.password': rolePassword, // throwaway role, dropped after the test
          'database.dbname': 'postgres',
          'topic.prefix': prefix,
          'slot.name': table,
          'publication.name': table,
          'publication.autocreate.mode': 'disabled',
          'table.include.list': `public.${table}`,
          'snapshot.mode': 'no_data',
          'decimal.handling.mode': 'string',
          'poll.interval.ms': '50',
          'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'key.converter.schemas.enable': 'false',
          'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'value.converter.schemas.enable': 'false',
        },
        'the smoke connector',
      );
      await eventually(
        'connector task RUNNING',
        async () => {
          const s = await connectorStatus(cfg.connect.url, connector);
          const task = s?.tasks?.[0];
          if (task?.state === 'FAILED') throw new Error(task.trace);
          return s?.connector.state === 'RUNNING' && task?.state === 'RUNNING' ? true : undefined;
        },
        60_000,
      );
      // The slot exists once streaming starts; only then are inserts guaranteed to be captured.
      await eventually(
        'replication slot active',
        async () => {
          const r = await db.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [table]);
          return r.rows[0]?.active ? true : undefined;
        },
        60_000,
      );
    });

    const insertedAt = Date.now();
    await timed('postgres: insert', async () => {
      await db.query(`INSERT INTO ${table} (id, amount) VALUES (9007199254740993, 1234.56)`);
    });
    await db.end();

    const event = await timed('kafka: change event read with kafkajs', async () => {
      const consumer = kafka.consumer({ groupId: `smoke-${suffix}` });
      await consumer.connect();
      await eventually(
        'topic exists',
        async () => {
          const admin = kafka.admin();
          await admin.connect();
          const topics = await admin.listTopics();
          await admin.disconnect();
          return topics.includes(topic) ? true : undefined;
        },
        30_000,
      );
      await consumer.subscribe({ topic, fromBeginning: true });
      const value = await new Promise<string>((resolveValue, reject) => {
        const timer = setTimeout(() => reject(new Error('no change event within 30s')), 30_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            if (message.value) {
              clearTimeout(timer);
              resolveValue(message.value.toString());
            }
          },
        });
      });
      await consumer.disconnect();
      return value;
    });
    timings['commit → kafka (approx)'] = Date.now() - insertedAt;
    // The id is past 2^53: check the raw JSON text, which JSON.parse would round.
    expect(event).toContain('"id":9007199254740993');
    const envelope = JSON.parse(event) as { op: string; after: { amount: string } };
    expect(envelope.op).toBe('c');
    expect(envelope.after.amount).toBe('1234.56');

    await timed('druid: submit supervisor', async () => {
      const spec = {
        type: 'kafka',
        spec: {
          dataSchema: {
            dataSource: datasource,
            timestampSpec: { column: 'ts_ms', format: 'millis' },
            dimensionsSpec: { dimensions: ['op', 'after_id', 'after_amount'] },
            granularitySpec: { segmentGranularity: 'day', queryGranularity: 'none', rollup: false },
          },
          ioConfig: {
            topic,
            inputFormat: {
              type: 'json',
              flattenSpec: {
                useFieldDiscovery: false,
                fields: [
                  { type: 'root', name: 'op' },
                  { type: 'path', name: 'after_id', expr: '$.after.id' },
                  { type: 'path', name: 'after_amount', expr: '$.after.amount' },
                ],
              },
            },
            consumerProperties: { 'bootstrap.servers': cfg.kafka.brokers.join(',') },
            useEarliestOffset: true,
            taskCount: 1,
            replicas: 1,
            taskDuration: 'PT10M',
          },
          tuningConfig: { type: 'kafka' },
        },
      };
      await submitSupervisorSpec(cfg, spec, 'the smoke supervisor');
    });

    const { value: rows } = await timed('druid: row visible through SQL', () =>
      eventually(
        'row in Druid',
        async () => {
          const rows = await queryDruidSql<Record<string, string>>(
            cfg,
            `SELECT op, after_id, after_amount FROM "${datasource}"`,
          ).catch(() => []);
          return rows.length > 0 ? rows : undefined;
        },
        120_000,
      ),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ op: 'c', after_amount: '1234.56' });
    // Druid's JSON parser keeps the id as a string dimension: no precision lost either.
    expect(String(rows[0]!.after_id)).toBe('9007199254740993');
  });
});
