import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KAFKA_BOOTSTRAP_PLACEHOLDER,
  SUPERVISOR_SPEC_FILES,
  SupervisorSpecError,
  renderSupervisorSpec,
  type KafkaSupervisorSpec,
} from '../../druid-specs/renderSpec.ts';
import { REPO_ROOT } from './dashboardQueries.ts';

function readSpec(file: string): KafkaSupervisorSpec {
  return JSON.parse(readFileSync(resolve(REPO_ROOT, file), 'utf8')) as KafkaSupervisorSpec;
}

/** Field names of a contract table in docs/contracts.md: the backticked names in its first column. */
function contractFields(heading: string): string[] {
  const doc = readFileSync(resolve(REPO_ROOT, 'docs/contracts.md'), 'utf8');
  const start = doc.indexOf(heading);
  expect(start, `${heading} in docs/contracts.md`).toBeGreaterThanOrEqual(0);
  const section = doc.slice(start + heading.length).split(/\n## /)[0]!;
  const names: string[] = [];
  for (const line of section.split('\n')) {
    const tableCell = /^\|\s*([^|]+)\|/.exec(line);
    // Prose lines list fields in backticks; backticked values in parentheses are examples, not fields.
    const source = tableCell ? tableCell[1]! : line.startsWith('`') ? line.replace(/\([^)]*\)/g, '') : '';
    for (const m of source.matchAll(/`([a-z_]+)`/g)) names.push(m[1]!);
  }
  return [...new Set(names)].filter((n) => n !== 'field');
}

const LONG_FIELDS = /(_cents|^order_version|^item_count|^quantity|^source_ts_ms|^transformed_at_ms|^is_deleted)$/;
const DOUBLE_FIELDS = new Set(['subtotal', 'delivery_fee', 'discount', 'tax', 'total', 'unit_price', 'line_total', 'latitude', 'longitude', 'delivery_minutes']);
function expectedType(name: string): string {
  if (LONG_FIELDS.test(name)) return 'long';
  if (DOUBLE_FIELDS.has(name)) return 'double';
  return 'string';
}

const CASES = [
  { dataSource: 'orders', file: SUPERVISOR_SPEC_FILES.orders, contract: '## OrderEvent' },
  { dataSource: 'order_items', file: SUPERVISOR_SPEC_FILES.order_items, contract: '## OrderItemEvent' },
] as const;

describe.each(CASES)('supervisor spec $file', ({ dataSource, file, contract }) => {
  const spec = readSpec(file);
  const { dataSchema, ioConfig, tuningConfig } = spec.spec;

  it('loads the topic of the same name into the datasource of the same name', () => {
    expect(spec.type).toBe('kafka');
    expect(dataSchema.dataSource).toBe(dataSource);
    expect(ioConfig.topic).toBe(dataSource);
    expect(ioConfig.inputFormat).toEqual({ type: 'json' });
    expect(tuningConfig.type).toBe('kafka');
  });

  it('takes __time from event_time (ISO) and keeps every event row (no rollup)', () => {
    expect(dataSchema.timestampSpec).toEqual({ column: 'event_time', format: 'iso' });
    expect(dataSchema.granularitySpec.rollup).toBe(false);
    expect(dataSchema.granularitySpec.queryGranularity).toBe('none');
  });

  it('has an explicit dimension for every contract field, with the right type', () => {
    const fields = contractFields(contract).filter((f) => f !== 'event_time');
    const dims = dataSchema.dimensionsSpec.dimensions;
    expect(dataSchema.dimensionsSpec.useSchemaDiscovery).toBe(false);
    expect(dims.map((d) => d.name).sort()).toEqual([...fields].sort());
    expect(new Set(dims.map((d) => d.name)).size).toBe(dims.length);
    for (const d of dims) expect({ name: d.name, type: d.type }).toEqual({ name: d.name, type: expectedType(d.name) });
  });

  it('reads committed data from the earliest offset, through the bootstrap placeholder', () => {
    expect(ioConfig.useEarliestOffset).toBe(true);
    expect(ioConfig.consumerProperties['isolation.level']).toBe('read_committed');
    expect(ioConfig.consumerProperties['bootstrap.servers']).toBe(KAFKA_BOOTSTRAP_PLACEHOLDER);
  });

  it('is sized for a 2-core machine and tuned for freshness', () => {
    expect(ioConfig.taskCount).toBe(1);
    expect(ioConfig.replicas).toBe(1);
    expect(ioConfig['pollTimeout']).toBeLessThanOrEqual(100);
    expect(tuningConfig['resetOffsetAutomatically']).toBe(false);
  });
});

it('the two supervisors fit the indexer: reading + publishing task per supervisor', () => {
  const slots = CASES.map((c) => readSpec(c.file).spec.ioConfig).reduce((n, io) => n + 2 * io.taskCount * io.replicas, 0);
  const compose = readFileSync(resolve(REPO_ROOT, 'docker-compose.cdc.yml'), 'utf8');
  const capacity = Number(/druid_worker_capacity:\s*'(\d+)'/.exec(compose)?.[1]);
  expect(slots).toBeLessThanOrEqual(capacity);
});

describe('renderSupervisorSpec', () => {
  const spec = readSpec(SUPERVISOR_SPEC_FILES.orders);

  it('substitutes the bootstrap servers and leaves the input untouched', () => {
    const before = JSON.stringify(spec);
    const out = renderSupervisorSpec(spec, { kafkaBootstrap: 'kafka:29092' });
    expect(out.spec.ioConfig.consumerProperties['bootstrap.servers']).toBe('kafka:29092');
    expect(JSON.stringify(out)).not.toContain('${');
    expect(JSON.stringify(spec)).toBe(before);
    expect({ ...out, spec: { ...out.spec, ioConfig: { ...out.spec.ioConfig, consumerProperties: {} } } }).toEqual({
      ...spec,
      spec: { ...spec.spec, ioConfig: { ...spec.spec.ioConfig, consumerProperties: {} } },
    });
  });

  it('accepts a list of brokers and trims it', () => {
    const out = renderSupervisorSpec(spec, { kafkaBootstrap: '127.0.0.1:9092, 127.0.0.1:9094' });
    expect(out.spec.ioConfig.consumerProperties['bootstrap.servers']).toBe('127.0.0.1:9092,127.0.0.1:9094');
  });

  it('overrides the topic when asked', () => {
    const out = renderSupervisorSpec(spec, { kafkaBootstrap: '127.0.0.1:9092', topic: 'orders_v2' });
    expect(out.spec.ioConfig.topic).toBe('orders_v2');
    expect(out.spec.dataSchema.dataSource).toBe('orders');
    expect(() => renderSupervisorSpec(spec, { kafkaBootstrap: '127.0.0.1:9092', topic: 'bad topic' })).toThrow(SupervisorSpecError);
  });

  it('rejects a malformed bootstrap list', () => {
    for (const bad of ['', 'kafka', 'kafka:', 'http://kafka:9092', 'a:1,,b:2']) {
      expect(() => renderSupervisorSpec(spec, { kafkaBootstrap: bad }), bad).toThrow(SupervisorSpecError);
    }
  });

  it('refuses a spec with a placeholder it does not know', () => {
    const odd = { ...spec, spec: { ...spec.spec, ioConfig: { ...spec.spec.ioConfig, topic: '${ORDERS_TOPIC}' } } };
    expect(() => renderSupervisorSpec(odd, { kafkaBootstrap: 'kafka:29092' })).toThrow(/ORDERS_TOPIC/);
  });
});
