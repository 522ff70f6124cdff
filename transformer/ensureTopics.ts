// The output topics the transformer needs before it consumes (bootstrap's, created here only on a bare
// broker), as lib/topicSpecs.ts declares them. Warns about CDC topics the connector has not created yet.
// The state topic follows the CDC topics' partitions: state/openState.ts creates it.
import type { Admin } from 'kafkajs';
import type { PulsoConfig } from '../lib/config.ts';
import type { Logger } from '../lib/log.ts';
import type { TransformerTopics } from '../lib/names.ts';
import { topicSpecs, type TopicSpec } from '../lib/topicSpecs.ts';
import { createMissingTopics } from '../lib/topicAdmin.ts';

/** Output topics are bootstrap's, created here only on a bare broker, as lib/topicSpecs.ts declares them (partitions, retention, compaction): one spec for both. */
export async function ensureTopics(
  cfg: PulsoConfig,
  admin: Admin,
  topics: TransformerTopics,
  log: Logger,
): Promise<Set<string>> {
  const existing = new Set(await admin.listTopics());
  const specs = new Map(topicSpecs(cfg).map((s) => [s.topic, s]));
  const declared = (topic: string, fallback: TopicSpec) => ({ ...(specs.get(topic) ?? fallback), topic });
  const outputs = [
    topics.orders,
    topics.orderItems,
    topics.orderDeltas,
    topics.itemDeltas,
    topics.stockDeltas,
    topics.deliveries,
    topics.stats,
    topics.dlq,
  ].map((t) => declared(t, { topic: '', partitions: 1, config: {}, why: 'output' }));
  await createMissingTopics(admin, outputs);
  for (const t of [topics.cdcOrders, topics.cdcOrderItems, topics.cdcStock, ...Object.values(topics.dimensions)]) {
    if (!existing.has(t))
      log.warn('CDC topic does not exist yet; waiting for the connector to create it', { topic: t });
  }
  return existing;
}
