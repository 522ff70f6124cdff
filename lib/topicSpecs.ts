// The Kafka topics the bootstrap creates, with their partitions, retention and compaction, as data.
import type { PulsoConfig } from './config.ts';
import { cdcTopic, debeziumHeartbeatTopic, transformerStateTopic } from './names.ts';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly config: Readonly<Record<string, string>>;
  readonly why: string;
}

const DAY_MS = 24 * 3600 * 1000;

/** How long the transformer's state topic keeps tombstones: a local store's checkpoint is trusted for a day less. */
export const STATE_DELETE_RETENTION_MS = 7 * DAY_MS;
export const STATE_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'delete.retention.ms': String(STATE_DELETE_RETENTION_MS),
};
const CDC_ORDERS_PARTITIONS = 3;
const CDC_ORDER_ITEMS_PARTITIONS = 3;

export function topicSpecs(cfg: PulsoConfig): TopicSpec[] {
  const keep = (days: number) => ({ 'cleanup.policy': 'delete', 'retention.ms': String(days * DAY_MS) });
  // Dimension tables are replayed from the beginning at every transformer start: compaction keeps
  // exactly the latest row per key (and drops deleted keys) so that replay stays small forever.
  const dimension = {
    'cleanup.policy': 'compact',
    'min.compaction.lag.ms': '60000',
    'delete.retention.ms': String(DAY_MS),
  };
  return [
    {
      topic: cdcTopic(cfg.topics, 'orders'),
      partitions: CDC_ORDERS_PARTITIONS,
      config: keep(7),
      why: 'order changes; 3 partitions keyed by order id keep per-order order',
    },
    {
      topic: cdcTopic(cfg.topics, 'order_items'),
      partitions: CDC_ORDER_ITEMS_PARTITIONS,
      config: keep(7),
      why: 'order item changes',
    },
    {
      topic: cdcTopic(cfg.topics, 'payments'),
      partitions: 1,
      config: keep(7),
      why: 'payment changes (audit; not transformed)',
    },
    {
      topic: cdcTopic(cfg.topics, 'order_status_history'),
      partitions: 1,
      config: keep(7),
      why: 'status history (audit; not transformed)',
    },
    { topic: cdcTopic(cfg.topics, 'countries'), partitions: 1, config: dimension, why: 'dimension, replayed at start' },
    { topic: cdcTopic(cfg.topics, 'cities'), partitions: 1, config: dimension, why: 'dimension, replayed at start' },
    { topic: cdcTopic(cfg.topics, 'stores'), partitions: 1, config: dimension, why: 'dimension, replayed at start' },
    {
      topic: cdcTopic(cfg.topics, 'customers'),
      partitions: 1,
      config: dimension,
      why: 'customer changes, latest per key',
    },
    {
      topic: cdcTopic(cfg.topics, 'products'),
      partitions: 1,
      config: dimension,
      why: 'product/price changes, latest per key',
    },
    {
      topic: cdcTopic(cfg.topics, 'dbz_heartbeat'),
      partitions: 1,
      config: keep(1),
      why: 'heartbeat row updates: keeps the slot moving',
    },
    {
      topic: cdcTopic(cfg.topics, 'debezium_signal'),
      partitions: 1,
      config: keep(1),
      why: 'incremental snapshot watermarks',
    },
    { topic: debeziumHeartbeatTopic(cfg.topics), partitions: 1, config: keep(1), why: 'Debezium heartbeat records' },
    {
      topic: cfg.topics.orders,
      partitions: 3,
      config: keep(30),
      why: 'clean order events for Druid and other consumers',
    },
    { topic: cfg.topics.orderItems, partitions: 3, config: keep(30), why: 'clean order item events' },
    {
      topic: cfg.topics.orderDeltas,
      partitions: 3,
      config: keep(30),
      why: 'signed order deltas (−1 old state, +1 new state) for the rollup datasources',
    },
    {
      topic: cfg.topics.itemDeltas,
      partitions: 3,
      config: keep(30),
      why: 'signed order-item deltas for the product rollup',
    },
    {
      topic: cfg.topics.deliveries,
      partitions: 1,
      config: keep(30),
      why: 'one delivery fact per delivered order (delivery-time sketches)',
    },
    {
      topic: cfg.topics.stats,
      partitions: 1,
      config: keep(30),
      why: 'per-transaction transformer counters for the pipeline-health dashboard',
    },
    {
      topic: cfg.topics.dlq,
      partitions: 1,
      config: keep(30),
      why: 'records the transformer could not decode, with the reason in headers',
    },
    {
      topic: transformerStateTopic(cfg.topics),
      partitions: CDC_ORDERS_PARTITIONS + CDC_ORDER_ITEMS_PARTITIONS,
      config: STATE_TOPIC_CONFIG,
      why: "transformer's dedupe state and rollup ledger, one partition per CDC input partition, written in its transactions",
    },
  ];
}
