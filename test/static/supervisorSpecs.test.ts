import { stockRollupChange } from '../../transformer/rollup/stockDeltas.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertedOrder, orderDeltaRow } from '../../transformer/rollup/orderDeltas.ts';
import { statsRows } from '../../transformer/statsRows.ts';
import type { OrderEvent } from '../../transformer/events.ts';
import {
  RETENTION_RULE_FILES,
  readRetentionRules,
  renderRetentionRules,
  COMPACTION_SPEC_FILES,
  readSupervisorSpec,
  KAFKA_BOOTSTRAP_PLACEHOLDER,
  SUPERVISOR_SPEC_FILES,
  SupervisorSpecError,
  renderSupervisorSpec,
  type KafkaSupervisorSpec,
} from '../../druid-specs/renderSpec.ts';
import { PROJECT_ROOT as REPO_ROOT } from '../../lib/config.ts';
import { WINDOW_STARTS } from '../../grafana/src/riskInventory.ts';

function sampleOrderEvent(): OrderEvent {
  return {
    event_id: 'orders:1:1:1',
    event_type: 'created',
    order_id: '1',
    order_version: 1,
    status: 'placed',
    previous_status: null,
    payment_status: 'pending',
    payment_method: 'pix',
    currency: 'BRL',
    subtotal: 1,
    delivery_fee: 0,
    discount: 0,
    tax: 0,
    total: 1,
    subtotal_cents: 100,
    delivery_fee_cents: 0,
    discount_cents: 0,
    tax_cents: 0,
    total_cents: 100,
    business_date: '2025-01-01',
    usd_per_unit: '0.180000000000',
    total_usd: 0.18,
    total_usd_cents: 18,
    item_count: 1,
    customer_id: '1',
    customer_since: null,
    store_id: '1',
    city_id: '1',
    store_name: 's',
    store_category: 'market',
    city: 'c',
    country: 'BR',
    latitude: 0,
    longitude: 0,
    event_time: '2025-01-01T00:00:00.000Z',
    created_at: '2025-01-01T00:00:00.000Z',
    delivered_at: null,
    delivery_minutes: null,
    is_deleted: 0,
    source_lsn: '1',
    source_commit_lsn: '1',
    source_tx_id: '1',
    source_ts_ms: 0,
    transformed_at_ms: 0,
  };
}

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
const DOUBLE_FIELDS = new Set([
  'subtotal',
  'delivery_fee',
  'discount',
  'tax',
  'total',
  'total_usd',
  'unit_price',
  'line_total',
  'latitude',
  'longitude',
  'delivery_minutes',
]);
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

it('every supervisor fits the indexer: reading + publishing task per supervisor, plus room for compaction', () => {
  const slots = Object.values(SUPERVISOR_SPEC_FILES)
    .map((f) => readSpec(f).spec.ioConfig)
    .reduce((n, io) => n + 2 * io.taskCount * io.replicas, 0);
  const compose = readFileSync(resolve(REPO_ROOT, 'docker-compose.cdc.yml'), 'utf8');
  const capacity = Number(/druid_worker_capacity:\s*'(\d+)'/.exec(compose)?.[1]);
  const local = Number(
    /druid\.worker\.capacity=(\d+)/.exec(
      readFileSync(resolve(REPO_ROOT, 'stack/conf/druid/indexer/runtime.properties'), 'utf8'),
    )?.[1],
  );
  expect(local).toBe(capacity);
  expect(slots + 1).toBeLessThanOrEqual(capacity);
});

// The rollup datasources read rows the transformer builds (transformer/rollup/*.ts, statsRows.ts): every
// dimension and every metric input must be a field of those rows, and every sum an integer sum.
const STOCK_STATE = {
  storeId: '1',
  units: 3,
  reorderPoint: 1,
  targetUnits: 9,
  productName: 'p',
  storeName: 's',
  city: 'c',
  country: 'BR',
};
const ORDER_DELTA = orderDeltaRow('1', assertedOrder(sampleOrderEvent(), undefined), 1, 'x');
const ROW_FIELDS: Record<string, readonly string[]> = {
  order_deltas: Object.keys(ORDER_DELTA),
  order_item_deltas: [
    'first_seen',
    'item_id',
    'order_id',
    'delta_id',
    'sign',
    'product_id',
    'product_name',
    'items',
    'units',
    'line_total_cents',
  ],
  order_deliveries: [
    'created_at',
    'order_id',
    'delta_id',
    'sign',
    'delivered_at',
    'delivery_minutes',
    'delivery_minute',
    'currency',
    'city',
    'country',
    'store_category',
    'deliveries',
  ],
  stock_deltas: Object.keys(
    stockRollupChange('1', 'x', undefined, { ...STOCK_STATE }, '2025-01-01T00:00:00.000Z').deltas[0]!,
  ),
  transformer_stats: Object.keys(
    statsRows(
      [{ topic: 'pulso.public.orders', partition: 0, offset: '0', key: null, value: null }],
      [{ kind: 'skip', reason: 'tombstone' }],
      'main',
      0,
    )[0]!,
  ),
};
const ROLLUPS = (Object.keys(SUPERVISOR_SPEC_FILES) as (keyof typeof SUPERVISOR_SPEC_FILES)[]).filter(
  (ds) => readSpec(SUPERVISOR_SPEC_FILES[ds]).spec.dataSchema.granularitySpec.rollup,
);

describe.each(ROLLUPS)('rollup supervisor %s', (ds) => {
  const spec = readSpec(SUPERVISOR_SPEC_FILES[ds]);
  const { dataSchema, ioConfig } = spec.spec;
  const fields = ROW_FIELDS[ioConfig.topic];

  it('reads a topic the transformer writes, rolled up per minute in day segments', () => {
    expect(fields, ioConfig.topic).toBeDefined();
    expect(dataSchema.granularitySpec).toMatchObject({
      rollup: true,
      // stock_now is state, not flow: a product's deltas all sit on the day it was first seen (stockDeltas.ts).
      // customer_risk_day: per customer and day, so a range's scan follows the customers, not the orders.
      // stock_movements: per product and hour, so a window's scan follows the products, not every stock change.
      queryGranularity:
        ds === 'stock_now' || ds === 'customer_risk_day' ? 'day' : ds === 'stock_movements' ? 'hour' : 'minute',
      segmentGranularity: 'day',
    });
    expect(fields).toContain(dataSchema.timestampSpec.column);
    expect(ioConfig.consumerProperties['isolation.level']).toBe('read_committed');
    expect(ioConfig.useEarliestOffset).toBe(true);
  });

  it('groups only by fields of those rows (or columns its transforms compute from them), never by an order, item, event or delta id', () => {
    expect(dataSchema.dimensionsSpec.useSchemaDiscovery).toBe(false);
    const computed = (
      (dataSchema as { transformSpec?: { transforms?: { name: string }[] } }).transformSpec?.transforms ?? []
    ).map((t) => t.name);
    for (const d of dataSchema.dimensionsSpec.dimensions) {
      expect([...fields!, ...computed]).toContain(d.name);
      expect(['order_id', 'item_id', 'event_id', 'delta_id', 'sign']).not.toContain(d.name);
    }
  });

  it('aggregates integer sums (or a max, or a quantiles sketch) of fields of those rows', () => {
    const metrics = dataSchema.metricsSpec ?? [];
    expect(metrics.length).toBeGreaterThan(0);
    for (const m of metrics) {
      expect(fields).toContain(m.fieldName);
      // longLast: stock_movements' units after a change, for "units left" beside a top seller.
      expect(['longSum', 'longMax', 'longLast', 'quantilesDoublesSketch']).toContain(m.type);
    }
    // customer_risk_minute keeps the flagged rows only (its ingestion filter): no order counts to offer.
    if (ioConfig.topic === 'order_deltas' && ds !== 'customer_risk_minute')
      expect(metrics.filter((m) => m.type === 'longSum').map((m) => m.name)).toEqual(
        expect.arrayContaining(['orders', 'total_cents']),
      );
  });

  it('has an auto-compaction config beside it when late changes can reach old days', () => {
    const file = (COMPACTION_SPEC_FILES as Record<string, string>)[ds];
    // Counters and stock movements are written once, at the time they are produced.
    if (ds === 'transformer_stats' || ds === 'stock_movements') return;
    expect(file, `druid-specs/${ds}.compaction.json`).toBeDefined();
    const c = JSON.parse(readFileSync(resolve(REPO_ROOT, file!), 'utf8')) as {
      dataSource: string;
      skipOffsetFromLatest: string;
      granularitySpec: { segmentGranularity: string };
    };
    expect(c.dataSource).toBe(ds);
    expect(c.granularitySpec.segmentGranularity).toBe('DAY');
    expect(c.skipOffsetFromLatest).toMatch(/^PT\d+[HM]$/);
  });
});

describe('compaction filters', () => {
  // A compaction filter drops rows for good: it may drop only rows that add nothing to any sum, i.e. rows whose
  // every metric is zero. The expression must name every metric, so a metric added later cannot be lost.
  it.each(Object.entries(COMPACTION_SPEC_FILES))('%s drops only rows whose every metric is zero', (ds, file) => {
    const c = JSON.parse(readFileSync(resolve(REPO_ROOT, file), 'utf8')) as {
      transformSpec?: { filter: { type: string; expression: string } };
    };
    if (!c.transformSpec) return;
    const spec = readSupervisorSpec(ds as keyof typeof SUPERVISOR_SPEC_FILES);
    const metrics = (spec.spec.dataSchema.metricsSpec ?? []).map((m) => {
      expect(m.type, `${ds}.${m.name}: only sums can drop their zero rows`).toBe('longSum');
      return m.name;
    });
    expect(c.transformSpec.filter.type).toBe('expression');
    const terms = c.transformSpec.filter.expression.split('||').map((t) => t.trim());
    expect(terms.sort()).toEqual(metrics.map((m) => `${m} != 0`).sort());
  });
});

describe('sliding window starts (customer_risk_minute)', () => {
  // The panels group by these multi-value columns: each flagged minute row must carry the starts of exactly the
  // windows that contain it, the row's minute and the minutes−1 before it, and only when it has the measure.
  it.each(Object.entries(WINDOW_STARTS))(
    '%s: one start per minute of its %s window',
    (measure, { column, minutes }) => {
      const ds = readSupervisorSpec('customer_risk_minute').spec
        .dataSchema as KafkaSupervisorSpec['spec']['dataSchema'] & {
        transformSpec: { transforms: { type: string; name: string; expression: string }[] };
      };
      expect(ds.dimensionsSpec.dimensions).toContainEqual({ type: 'string', name: column });
      const offsets = Array.from({ length: minutes }, (_, k) => k).join(',');
      expect(ds.transformSpec.transforms.find((t) => t.name === column)).toEqual({
        type: 'expression',
        name: column,
        expression: `if(${measure} != 0, map((k) -> timestamp_floor(__time, 'PT1M') - k * 60000, [${offsets}]), null)`,
      });
    },
  );
});

describe('retention', () => {
  it('the event datasources, the stock movements and the per-customer minutes, and only they, keep a window (DRUID_EVENT_RETENTION_DAYS) and drop what is older; the other rollups keep everything', () => {
    expect(Object.keys(RETENTION_RULE_FILES).sort()).toEqual([
      'customer_risk_minute',
      'order_items',
      'orders',
      'stock_movements',
      'transformer_stats',
    ]);
    for (const ds of Object.keys(RETENTION_RULE_FILES) as (keyof typeof RETENTION_RULE_FILES)[]) {
      const spec = readRetentionRules(ds);
      expect(spec.dataSource).toBe(ds);
      expect(renderRetentionRules(spec, 30).rules).toEqual([
        { type: 'loadByPeriod', period: 'P30D', includeFuture: true, tieredReplicants: { _default_tier: 1 } },
        { type: 'dropForever' },
      ]);
      expect(renderRetentionRules(spec, 7).rules[0]!.period).toBe('P7D');
    }
    // customer_risk_minute is both: compacted like a rollup, and only kept for the window (per-customer minutes).
    for (const ds of Object.keys(COMPACTION_SPEC_FILES))
      if (ds !== 'customer_risk_minute') expect(Object.keys(RETENTION_RULE_FILES)).not.toContain(ds);
  });
});

describe('every supervisor spec', () => {
  it('publishes at least every 3 minutes: tasks are not restored after an indexer restart, so that bounds what is read again', () => {
    for (const file of Object.values(SUPERVISOR_SPEC_FILES)) {
      const tuning = readSpec(file).spec.tuningConfig as Record<string, unknown>;
      expect(tuning['intermediateHandoffPeriod'], file).toBe('PT3M');
    }
  });

  it('persists in the background every minute, so the checkpoint at each handoff has little left to persist', () => {
    // At a checkpoint the task persists its whole in-memory index synchronously and reads nothing meanwhile
    // (SeekableStreamIndexTaskRunner.maybePersistAndPublishSequences). With the persist period equal to the handoff
    // period that was 10 minutes of rows: a 10.5 s persist of 39,690 `orders` rows, 12.5 s of staleness, measured.
    for (const file of Object.values(SUPERVISOR_SPEC_FILES)) {
      const tuning = readSpec(file).spec.tuningConfig as Record<string, unknown>;
      expect(tuning['intermediatePersistPeriod'], file).toBe('PT1M');
    }
  });
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
    expect(() => renderSupervisorSpec(spec, { kafkaBootstrap: '127.0.0.1:9092', topic: 'bad topic' })).toThrow(
      SupervisorSpecError,
    );
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
