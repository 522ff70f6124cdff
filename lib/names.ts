// Every name the pipeline shares between its parts, derived from the configuration in one place: CDC
// topics, output topics, the transformer's consumer group, state topic and transactional ids, the
// replication slot, the publication and the connector. The stack, bootstrap, transformer, status,
// benchmarks and tests all ask here; none of them builds a name itself.
//
// TOPIC_PREFIX isolates a whole pipeline (default pulso → CDC topics `pulso.public.<table>`, group
// `pulso-transformer`, state topic `pulso.transformer.state.partitioned`, transactional ids `pulso-transformer-<input topic>-<partition>`),
// so a test or a benchmark on the same broker works under a prefix of its own.
import type { PulsoConfig } from './config.ts';

/** The Debezium connector's name: connect/pulso-postgres.json declares it (a static test checks they agree). */
export const CONNECTOR_NAME = 'pulso-postgres';
/** Kafka Connect's worker group (`group.id` in stack/conf/connect/connect-distributed.properties). */
export const CONNECT_WORKER_GROUP = 'pulso-connect';
/** Replication slot and publication of the connector (connect/pulso-postgres.json, sql/002_cdc.sql). */
export const REPLICATION_SLOT = 'pulso_slot';
export const PUBLICATION = 'pulso_pub';

/** The tables whose CDC topics the transformer reads for dimensions (replayed at every start). */
export const DIMENSION_TABLES = ['countries', 'cities', 'stores', 'fx_rates', 'products', 'customers'] as const;
export type DimensionTable = (typeof DIMENSION_TABLES)[number];

/** Every topic the transformer reads or writes. */
export interface TransformerTopics {
  /** CDC topic of the orders table, e.g. pulso.public.orders. */
  readonly cdcOrders: string;
  readonly cdcOrderItems: string;
  /** CDC topic of stock_levels (sql/007_inventory.sql): the third input, with a ledger of its own. */
  readonly cdcStock: string;
  readonly dimensions: Readonly<Record<DimensionTable, string>>;
  readonly orders: string;
  readonly orderItems: string;
  readonly orderDeltas: string;
  readonly itemDeltas: string;
  readonly stockDeltas: string;
  readonly deliveries: string;
  readonly stats: string;
  readonly dlq: string;
  /** The transformer's compacted dedupe / ledger state, written in its transactions. */
  readonly state: string;
}

type TopicConfig = PulsoConfig['topics'];

/** `<prefix>.public.<table>`: the topic Debezium writes a captured table's changes to. */
export function cdcTopic(topics: Pick<TopicConfig, 'prefix'>, table: string): string {
  return `${topics.prefix}.public.${table}`;
}

/** True for a topic Debezium writes captured-table changes to (see cdcTopic). */
export function isCdcTopic(topics: Pick<TopicConfig, 'prefix'>, topic: string): boolean {
  return topic.startsWith(cdcTopic(topics, ''));
}

export function transformerGroupId(topics: Pick<TopicConfig, 'prefix'>): string {
  return `${topics.prefix}-transformer`;
}

/**
 * One transactional id per consumer group and input topic-partition, whichever instance owns it: the instance
 * that is assigned the partition initialises this id and so fences every earlier owner in its group (crashed,
 * or a paused zombie that has not noticed the rebalance), whose transactions can then never commit. kafkajs
 * sends no group generation with its transactional offset commits (KIP-447), so fencing by partition is what
 * makes scale-out exact. The group is part of the id because two groups reading the same CDC topics are two
 * pipelines (a replay job beside the live transformer, say): with one id per input partition alone, starting
 * one fenced the other, which stalled until its consumer restarted and rejoined (≈ 20–40 s). The default
 * group, `<prefix>-transformer`, keeps the ids it always had.
 */
export function transformerTransactionalId(groupId: string, inputTopic: string, partition: number): string {
  return `${groupId}-${inputTopic}-${partition}`;
}

/**
 * The transformer's state topic: one partition per input partition (transformer/state/stateLayout.ts). The
 * name changed with that layout; the single-partition topic of earlier versions is migrated once
 * (legacyTransformerStateTopic).
 */
export function transformerStateTopic(topics: Pick<TopicConfig, 'prefix'>): string {
  return `${topics.prefix}.transformer.state.partitioned`;
}

/** The single-partition state topic of versions before the partitioned layout (read once, to migrate it). */
export function legacyTransformerStateTopic(stateTopic: string): string {
  return stateTopic.replace(/\.partitioned$/, '');
}

export function transformerTopics(topics: TopicConfig): TransformerTopics {
  return {
    cdcOrders: cdcTopic(topics, 'orders'),
    cdcOrderItems: cdcTopic(topics, 'order_items'),
    cdcStock: cdcTopic(topics, 'stock_levels'),
    dimensions: {
      countries: cdcTopic(topics, 'countries'),
      cities: cdcTopic(topics, 'cities'),
      stores: cdcTopic(topics, 'stores'),
      fx_rates: cdcTopic(topics, 'fx_rates'),
      products: cdcTopic(topics, 'products'),
      customers: cdcTopic(topics, 'customers'),
    },
    orders: topics.orders,
    orderItems: topics.orderItems,
    orderDeltas: topics.orderDeltas,
    itemDeltas: topics.itemDeltas,
    stockDeltas: topics.stockDeltas,
    deliveries: topics.deliveries,
    stats: topics.stats,
    dlq: topics.dlq,
    state: transformerStateTopic(topics),
  };
}

/** Where Debezium writes its heartbeat records (heartbeat.topics.prefix defaults to __debezium-heartbeat). */
export function debeziumHeartbeatTopic(topics: Pick<TopicConfig, 'prefix'>): string {
  return `__debezium-heartbeat.${topics.prefix}`;
}

/**
 * The variables that move a whole pipeline's topics under `prefix` (CDC, outputs, state, group): a test or a
 * benchmark loads its config with these and shares a broker with the running pipeline without touching it.
 */
export function isolatedTopicEnv(prefix: string): Record<string, string> {
  return {
    TOPIC_PREFIX: prefix,
    ORDERS_TOPIC: `${prefix}.orders`,
    ORDER_ITEMS_TOPIC: `${prefix}.order_items`,
    DLQ_TOPIC: `${prefix}.dlq`,
    ORDER_DELTAS_TOPIC: `${prefix}.order_deltas`,
    ORDER_ITEM_DELTAS_TOPIC: `${prefix}.order_item_deltas`,
    STOCK_DELTAS_TOPIC: `${prefix}.stock_deltas`,
    DELIVERIES_TOPIC: `${prefix}.order_deliveries`,
    TRANSFORMER_STATS_TOPIC: `${prefix}.transformer_stats`,
  };
}
