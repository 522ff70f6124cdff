// One-time move of the single-partition state topic of earlier versions into the partitioned one: every
// record goes to the state partition of the input partition it belongs to (a row's partition is the one Kafka
// Connect puts its changes in: murmur2 of Debezium's key, stateLayout.inputPartitionOfRow). Written in one
// transaction, then the legacy topic is deleted. A whole-topic read, once per upgrade, before the consumer
// joins its group; an interrupted migration (nothing committed to the new topic) is redone at the next start.
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { TransformerTopics } from '../../lib/names.ts';
import type { Logger } from '../../lib/log.ts';
import { pollUntil } from '../../lib/poll.ts';
import { startTopicReader } from '../topicReader.ts';
import { inputPartitionOfRow, statePartitionOf, statePartitionsOfTopic, type StateLayout } from './stateLayout.ts';

const { Partitioners } = kafkajs;

/** Pure: the state partitions a legacy record belongs in (none: it concerns no input of this layout). */
export function routeLegacyRecord(
  layout: StateLayout,
  topics: Pick<TransformerTopics, 'cdcOrders' | 'cdcOrderItems'>,
  key: string,
): number[] {
  const [prefix, ...rest] = key.split('|');
  const topicOfTable = (table: string | undefined) =>
    table === 'orders' ? topics.cdcOrders : table === 'order_items' ? topics.cdcOrderItems : undefined;
  const partitionsOf = (topic: string) => layout.inputs.find((i) => i.topic === topic)?.partitions ?? 0;
  if (prefix === 'wm' || prefix === 'off') {
    const tp = rest.join('|');
    const at = tp.lastIndexOf('|');
    const topic = tp.slice(0, at);
    const partition = Number(tp.slice(at + 1));
    return Number.isInteger(partition) && partition >= 0 && partition < partitionsOf(topic)
      ? [statePartitionOf(layout, topic, partition)]
      : [];
  }
  if (prefix === 'trunc') {
    const topic = topicOfTable(rest[0]);
    return topic ? statePartitionsOfTopic(layout, topic) : [];
  }
  if (prefix === 'snap' || prefix === 'rollup') {
    const topic = topicOfTable(rest[0]);
    const pk = rest.slice(1).join('|');
    if (!topic || !/^-?\d+$/.test(pk)) return [];
    return [statePartitionOf(layout, topic, inputPartitionOfRow(pk, partitionsOf(topic)))];
  }
  return [];
}

/** True once the partitioned topic holds a committed record (a finished migration, or state written since). */
async function holdsCommittedState(kafka: Kafka, topic: string, log: Logger): Promise<boolean> {
  let found = false;
  let done = false;
  const reader = await startTopicReader(kafka, {
    name: 'state-check',
    topics: [topic],
    log,
    onBatch: (_t, _p, m) => void (found ||= m.length > 0),
  });
  void reader.caughtUp.then(
    () => void (done = true),
    () => void (done = true),
  );
  try {
    await pollUntil(() => found || done, {
      what: `a committed record in ${topic}`,
      timeoutMs: Infinity,
      intervalMs: 50,
    });
  } finally {
    await reader.stop();
  }
  return found;
}

export async function migrateLegacyState(deps: {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topics: TransformerTopics;
  readonly groupId: string;
  readonly layout: StateLayout;
  readonly legacyTopic: string;
  readonly log: Logger;
}): Promise<void> {
  const { kafka, admin, topics, log, legacyTopic } = deps;
  if (await holdsCommittedState(kafka, topics.state, log)) {
    log.warn('the legacy state topic is still there after its migration; deleting it', { legacyTopic });
    await admin.deleteTopics({ topics: [legacyTopic] });
    return;
  }
  log.warn('migrating the single-partition state topic of an earlier version into the partitioned one (once)', {
    from: legacyTopic,
    to: topics.state,
  });
  const latest = new Map<string, string | null>();
  const reader = await startTopicReader(kafka, {
    name: 'legacy-state',
    topics: [legacyTopic],
    log,
    onMessage: (_t, _p, m) => void (m.key && latest.set(m.key.toString(), m.value ? m.value.toString() : null)),
    onProgress: (p) => log.info('reading the legacy state topic', { read: p.read, of: p.total }),
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  const messages = [...latest].flatMap(([key, value]) =>
    value === null ? [] : routeLegacyRecord(deps.layout, topics, key).map((partition) => ({ key, value, partition })),
  );
  // One transaction: all of it or nothing (a long one: the broker allows 15 minutes by default).
  const producer = kafka.producer({
    transactionalId: `${deps.groupId}-state-migration`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 900_000,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const tx = await producer.transaction();
  try {
    for (let i = 0; i < messages.length; i += 5000)
      await tx.send({ topic: topics.state, messages: messages.slice(i, i + 5000) });
    await tx.commit();
  } catch (e) {
    await tx.abort().catch(() => undefined);
    throw e;
  } finally {
    await producer.disconnect();
  }
  await admin.deleteTopics({ topics: [legacyTopic] });
  log.warn('legacy state migrated; its topic deleted', { records: messages.length, keys: latest.size, legacyTopic });
}
