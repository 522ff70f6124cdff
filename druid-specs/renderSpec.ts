// Turns a committed supervisor spec (druid-specs/*.supervisor.json) into the exact spec to POST to
// /druid/indexer/v1/supervisor. The committed files carry the placeholder ${KAFKA_BOOTSTRAP} instead of a
// broker address so that one file serves both the local stack (127.0.0.1:9092) and docker compose
// (kafka:29092, the broker's internal listener). Pure: no I/O, the input is never mutated.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PulsoConfig } from '../lib/config.ts';
import { PulsoError } from '../lib/errors.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const KAFKA_BOOTSTRAP_PLACEHOLDER = '${KAFKA_BOOTSTRAP}';

/** The committed supervisor spec files, by datasource. Compose and the local bootstrap both read these. */
export const SUPERVISOR_SPEC_FILES = {
  orders: 'druid-specs/orders.supervisor.json',
  order_items: 'druid-specs/order_items.supervisor.json',
  order_rollup_status: 'druid-specs/order_rollup_status.supervisor.json',
  order_rollup_market: 'druid-specs/order_rollup_market.supervisor.json',
  order_rollup_store: 'druid-specs/order_rollup_store.supervisor.json',
  order_item_rollup: 'druid-specs/order_item_rollup.supervisor.json',
  order_deliveries: 'druid-specs/order_deliveries.supervisor.json',
  order_delivery_sketches: 'druid-specs/order_delivery_sketches.supervisor.json',
  transformer_stats: 'druid-specs/transformer_stats.supervisor.json',
  stock_now: 'druid-specs/stock_now.supervisor.json',
  stock_movements: 'druid-specs/stock_movements.supervisor.json',
  customer_risk_minute: 'druid-specs/customer_risk_minute.supervisor.json',
  customer_risk_day: 'druid-specs/customer_risk_day.supervisor.json',
} as const;

/**
 * Coordinator retention rules (POST /druid/coordinator/v1/rules/<dataSource>) for the event datasources, whose
 * history would otherwise grow forever: segments within the window are loaded, older ones dropped (and later
 * deleted from deep storage by the coordinator's kill duty). The rollups keep everything: a handful of rows a
 * minute, and the truth every panel sums. The files carry ${EVENT_RETENTION}, filled from DRUID_EVENT_RETENTION_DAYS.
 */
export const RETENTION_RULE_FILES = {
  orders: 'druid-specs/orders.retention.json',
  order_items: 'druid-specs/order_items.retention.json',
  transformer_stats: 'druid-specs/transformer_stats.retention.json',
  stock_movements: 'druid-specs/stock_movements.retention.json',
  customer_risk_minute: 'druid-specs/customer_risk_minute.retention.json',
} as const;

export type RetentionDataSource = keyof typeof RETENTION_RULE_FILES;

export const EVENT_RETENTION_PLACEHOLDER = '${EVENT_RETENTION}';

export interface RetentionRules {
  readonly dataSource: string;
  readonly rules: readonly Record<string, unknown>[];
}

/** The committed rules of a datasource with the window filled in (ISO-8601 days). Pure. */
export function renderRetentionRules(spec: RetentionRules, retentionDays: number): RetentionRules {
  const period = `P${retentionDays}D`;
  return {
    dataSource: spec.dataSource,
    rules: spec.rules.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === EVENT_RETENTION_PLACEHOLDER ? period : v])),
    ),
  };
}

export function readRetentionRules(dataSource: RetentionDataSource, root: string = REPO_ROOT): RetentionRules {
  return JSON.parse(readFileSync(resolve(root, RETENTION_RULE_FILES[dataSource]), 'utf8')) as RetentionRules;
}

/**
 * Auto-compaction configs (POST /druid/coordinator/v1/config/compaction) for the rollup datasources:
 * a change to an old order appends a small segment to that order's (old) day; compaction merges them.
 */
export const COMPACTION_SPEC_FILES = {
  order_rollup_status: 'druid-specs/order_rollup_status.compaction.json',
  order_rollup_market: 'druid-specs/order_rollup_market.compaction.json',
  order_rollup_store: 'druid-specs/order_rollup_store.compaction.json',
  order_item_rollup: 'druid-specs/order_item_rollup.compaction.json',
  order_deliveries: 'druid-specs/order_deliveries.compaction.json',
  order_delivery_sketches: 'druid-specs/order_delivery_sketches.compaction.json',
  // Every stock delta lands on the day its product was first seen: compaction (with concurrent locks, as ingestion
  // keeps appending there) folds each product's history into one row, so "stock now" reads one row per product.
  stock_now: 'druid-specs/stock_now.compaction.json',
  // A refund hours after delivery changes its order's (old) day.
  customer_risk_day: 'druid-specs/customer_risk_day.compaction.json',
  customer_risk_minute: 'druid-specs/customer_risk_minute.compaction.json',
} as const;

export type CompactionDataSource = keyof typeof COMPACTION_SPEC_FILES;

/** Which configured topic each supervisor reads (bootstrap substitutes it, so a renamed topic reaches Druid). */
export function supervisorTopic(dataSource: SupervisorDataSource, topics: PulsoConfig['topics']): string {
  switch (dataSource) {
    case 'orders':
      return topics.orders;
    case 'order_items':
      return topics.orderItems;
    case 'order_rollup_status':
    case 'order_rollup_market':
    case 'order_rollup_store':
    case 'customer_risk_minute':
    case 'customer_risk_day':
      return topics.orderDeltas;
    case 'order_item_rollup':
      return topics.itemDeltas;
    case 'order_deliveries':
    case 'order_delivery_sketches':
      return topics.deliveries;
    case 'transformer_stats':
      return topics.stats;
    case 'stock_now':
    case 'stock_movements':
      return topics.stockDeltas;
  }
}

export type SupervisorDataSource = keyof typeof SUPERVISOR_SPEC_FILES;

export interface DimensionSpec {
  readonly type: 'string' | 'long' | 'double' | 'float';
  readonly name: string;
}

/** The subset of a Druid Kafka supervisor spec that Pulso relies on (the rest passes through untouched). */
export interface KafkaSupervisorSpec {
  readonly type: 'kafka';
  readonly spec: {
    readonly dataSchema: {
      readonly dataSource: string;
      readonly timestampSpec: { readonly column: string; readonly format: string };
      readonly dimensionsSpec: { readonly useSchemaDiscovery?: boolean; readonly dimensions: readonly DimensionSpec[] };
      readonly metricsSpec?: readonly {
        readonly type: string;
        readonly name: string;
        readonly fieldName: string;
        readonly [key: string]: unknown;
      }[];
      readonly granularitySpec: {
        readonly type?: string;
        readonly segmentGranularity: string;
        readonly queryGranularity: string;
        readonly rollup: boolean;
      };
    };
    readonly ioConfig: {
      readonly type: 'kafka';
      readonly topic: string;
      readonly inputFormat: { readonly type: string };
      readonly consumerProperties: Readonly<Record<string, string>>;
      readonly useEarliestOffset: boolean;
      readonly taskCount: number;
      readonly replicas: number;
      readonly [key: string]: unknown;
    };
    readonly tuningConfig: { readonly type: 'kafka'; readonly [key: string]: unknown };
  };
}

export interface RenderOptions {
  /** Comma-separated host:port list as Druid's Kafka consumer must reach it (compose: kafka:29092). */
  readonly kafkaBootstrap: string;
  /** Overrides ioConfig.topic, for a non-default ORDERS_TOPIC / ORDER_ITEMS_TOPIC. */
  readonly topic?: string;
}

export class SupervisorSpecError extends PulsoError {}

const HOST_PORT = /^[A-Za-z0-9._-]+:\d{1,5}$/;

function validateBootstrap(kafkaBootstrap: string): string {
  const servers = kafkaBootstrap.split(',').map((s) => s.trim());
  if (servers.length === 0 || servers.some((s) => !HOST_PORT.test(s))) {
    throw new SupervisorSpecError(
      `kafkaBootstrap=${JSON.stringify(kafkaBootstrap)} is not a host:port list (example: 127.0.0.1:9092 or kafka:29092).`,
    );
  }
  return servers.join(',');
}

function substitute(value: unknown, bootstrap: string, path: string): unknown {
  if (typeof value === 'string') {
    const out = value.split(KAFKA_BOOTSTRAP_PLACEHOLDER).join(bootstrap);
    const leftover = /\$\{[A-Za-z0-9_]+\}/.exec(out);
    if (leftover) {
      throw new SupervisorSpecError(
        `${path} has the unknown placeholder ${leftover[0]}; only ${KAFKA_BOOTSTRAP_PLACEHOLDER} is substituted.`,
      );
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, bootstrap, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, bootstrap, `${path}.${k}`);
    return out;
  }
  return value;
}

/**
 * Returns a copy of `spec` with every ${KAFKA_BOOTSTRAP} replaced by `kafkaBootstrap` (and the topic
 * overridden when asked). Throws SupervisorSpecError on a malformed bootstrap list, on any other ${...}
 * placeholder left in the spec, or when the spec has no bootstrap.servers at all.
 */
export function renderSupervisorSpec<T extends KafkaSupervisorSpec>(spec: T, options: RenderOptions): T {
  const bootstrap = validateBootstrap(options.kafkaBootstrap);
  const rendered = substitute(spec, bootstrap, 'spec') as T;
  if (!rendered.spec?.ioConfig?.consumerProperties?.['bootstrap.servers']) {
    throw new SupervisorSpecError('spec.ioConfig.consumerProperties["bootstrap.servers"] is missing.');
  }
  if (options.topic === undefined) return rendered;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(options.topic)) {
    throw new SupervisorSpecError(`topic=${JSON.stringify(options.topic)} is not a valid Kafka topic name.`);
  }
  return { ...rendered, spec: { ...rendered.spec, ioConfig: { ...rendered.spec.ioConfig, topic: options.topic } } };
}

/** Reads a committed spec file (not pure: for callers such as the bootstrap; tests use the JSON directly). */
export function readSupervisorSpec(dataSource: SupervisorDataSource, root: string = REPO_ROOT): KafkaSupervisorSpec {
  return JSON.parse(readFileSync(resolve(root, SUPERVISOR_SPEC_FILES[dataSource]), 'utf8')) as KafkaSupervisorSpec;
}

/** Reads a committed compaction config file. */
export function readCompactionSpec(
  dataSource: CompactionDataSource,
  root: string = REPO_ROOT,
): { dataSource: string; [key: string]: unknown } {
  return JSON.parse(readFileSync(resolve(root, COMPACTION_SPEC_FILES[dataSource]), 'utf8')) as { dataSource: string };
}
