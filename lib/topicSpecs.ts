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
/** Stock rows change a few times an hour each: one partition keeps every product's changes in order. */
const CDC_STOCK_PARTITIONS = 1;

const keep = (days: number) => ({ 'cleanup.policy': 'delete', 'retention.ms': String(days * DAY_MS) });
// Dimension tables are replayed from the beginning at every transformer start: compaction keeps
// exactly the latest row per key (and drops deleted keys) so that replay stays small forever.
const DIMENSION = {
  'cleanup.policy': 'compact',
  'min.compaction.lag.ms': '60000',
  'delete.retention.ms': String(DAY_MS),
};
const spec = (topic: string, partitions: number, config: Readonly<Record<string, string>>, why: string): TopicSpec => ({
  topic,
  partitions,
  config,
  why,
});

/** The topics Debezium writes (one per captured table, its heartbeats and signals). */
function cdcTopicSpecs(cfg: PulsoConfig): TopicSpec[] {
  const cdc = (table: string) => cdcTopic(cfg.topics, table);
  return [
    spec(
      cdc('orders'),
      CDC_ORDERS_PARTITIONS,
      keep(7),
      'order changes; 3 partitions keyed by order id keep per-order order',
    ),
    spec(cdc('order_items'), CDC_ORDER_ITEMS_PARTITIONS, keep(7), 'order item changes'),
    spec(
      cdc('stock_levels'),
      CDC_STOCK_PARTITIONS,
      keep(7),
      'stock changes per product (reservations, returns, restocks)',
    ),
    spec(cdc('payments'), 1, keep(7), 'payment changes (audit; not transformed)'),
    spec(cdc('order_status_history'), 1, keep(7), 'status history (audit; not transformed)'),
    spec(cdc('countries'), 1, DIMENSION, 'dimension, replayed at start'),
    spec(cdc('cities'), 1, DIMENSION, 'dimension, replayed at start'),
    spec(cdc('stores'), 1, DIMENSION, 'dimension, replayed at start'),
    spec(cdc('fx_rates'), 1, DIMENSION, 'exchange rates to USD per date (6 rows a day), replayed at start'),
    spec(cdc('customers'), 1, DIMENSION, 'customer changes, latest per key'),
    spec(cdc('products'), 1, DIMENSION, 'product/price changes, latest per key'),
    spec(cdc('dbz_heartbeat'), 1, keep(1), 'heartbeat row updates: keeps the slot moving'),
    spec(cdc('debezium_signal'), 1, keep(1), 'incremental snapshot watermarks'),
    spec(debeziumHeartbeatTopic(cfg.topics), 1, keep(1), 'Debezium heartbeat records'),
  ];
}

/** The topics the transformer writes: events, deltas, facts, counters, dead letters and its state. */
function transformerTopicSpecs(cfg: PulsoConfig): TopicSpec[] {
  const t = cfg.topics;
  return [
    spec(t.orders, 3, keep(30), 'clean order events for Druid and other consumers'),
    spec(t.orderItems, 3, keep(30), 'clean order item events'),
    spec(t.orderDeltas, 3, keep(30), 'signed order deltas (−1 old state, +1 new state) for the rollup datasources'),
    spec(t.itemDeltas, 3, keep(30), 'signed order-item deltas for the product rollup'),
    spec(t.stockDeltas, 1, keep(30), 'signed stock deltas and stock-out facts for the inventory datasources'),
    spec(t.deliveries, 1, keep(30), 'one delivery fact per delivered order (delivery-time sketches)'),
    spec(t.stats, 1, keep(30), 'per-transaction transformer counters for the pipeline-health dashboard'),
    spec(t.dlq, 1, keep(30), 'records the transformer could not decode, with the reason in headers'),
    spec(
      transformerStateTopic(t),
      CDC_ORDERS_PARTITIONS + CDC_ORDER_ITEMS_PARTITIONS + CDC_STOCK_PARTITIONS,
      STATE_TOPIC_CONFIG,
      "transformer's dedupe state and rollup ledger, one partition per CDC input partition, written in its transactions",
    ),
  ];
}

export function topicSpecs(cfg: PulsoConfig): TopicSpec[] {
  return [...cdcTopicSpecs(cfg), ...transformerTopicSpecs(cfg)];
}
