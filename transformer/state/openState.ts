// Before the transformer consumes: its state layout (from the CDC topics' partitions), a state topic with one
// partition per input partition, the single-partition state topic of earlier versions migrated into it once,
// and the local store opened (or rebuilt) for this instance.
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { legacyTransformerStateTopic, type TransformerTopics } from '../../lib/names.ts';
import type { Logger } from '../../lib/log.ts';
import { pollUntil, sleep } from '../../lib/poll.ts';
import { STATE_DELETE_RETENTION_MS, STATE_TOPIC_CONFIG } from '../../lib/topicSpecs.ts';
import { LmdbStateStore, MemoryStateStore, type StateStore } from './localStore.ts';
import { migrateLegacyState } from './migrateLegacyState.ts';
import { stateLayout, type StateLayout } from './stateLayout.ts';
import { PulsoError } from '../../lib/errors.ts';

/**
 * A checkpoint is trusted up to this age: the state topic's tombstone retention, less a margin for clocks and
 * cleaner lag. Older, its partition may have missed deletes compaction has since removed, and is rebuilt.
 */
export const MAX_CHECKPOINT_AGE_MS = STATE_DELETE_RETENTION_MS - 24 * 3600 * 1000;

async function partitionsOf(admin: Admin, topic: string): Promise<number | undefined> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
  return meta?.topics[0]?.partitions.length;
}

/** The CDC inputs, in state-layout order: a new input is appended, so the partitions of earlier ones keep their place. */
const inputTopics = (topics: TransformerTopics) => [topics.cdcOrders, topics.cdcOrderItems, topics.cdcStock];

async function waitForPartitions(admin: Admin, topic: string, log: Logger): Promise<number> {
  let n: number | undefined;
  await pollUntil(
    async () =>
      (n = (await admin.listTopics()).includes(topic) ? await partitionsOf(admin, topic) : undefined) !== undefined,
    {
      what: `CDC topic ${topic} (created by bootstrap or the connector)`,
      timeoutMs: Infinity,
      intervalMs: 2000,
      progressEveryMs: 30_000,
      onProgress: () => log.warn('waiting for a CDC topic: the state layout follows its partitions', { topic }),
    },
  );
  return n!;
}

/** Adds the partitions of a new input to the state topic; refused is fine when another instance grew it since. */
async function growStateTopic(admin: Admin, topic: string, from: number, to: number, log: Logger): Promise<void> {
  log.info('the state topic grows for a new input', { from, to });
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count: to }] });
  } catch (e) {
    if ((await partitionsOf(admin, topic)) !== to)
      throw new PulsoError(`could not grow the state topic ${topic} to ${to} partitions`, {
        cause: e,
        retriable: true,
      });
  }
}

/**
 * The CDC inputs' partitions (waiting for the connector to create them), and the state topic to match. A state
 * topic with fewer partitions than the layout, whose partitions all belong to inputs that come before the new
 * one(s), grew an input (stock_levels, sql/007_inventory.sql): its partitions are added at the end, where the new
 * input's state lives, and every earlier partition keeps its records.
 */
export async function prepareStateTopic(admin: Admin, topics: TransformerTopics, log: Logger): Promise<StateLayout> {
  const inputs: { topic: string; partitions: number }[] = [];
  for (const topic of inputTopics(topics))
    inputs.push({ topic, partitions: await waitForPartitions(admin, topic, log) });
  const layout = stateLayout(inputs);
  let existing = await partitionsOf(admin, topics.state);
  // Another instance may be creating the topic right now: its metadata shows fewer partitions for a moment.
  if (existing !== undefined && existing !== layout.statePartitions) {
    await sleep(1000);
    existing = await partitionsOf(admin, topics.state);
  }
  const prefixSums = inputs.map((_, i) => inputs.slice(0, i + 1).reduce((n, x) => n + x.partitions, 0));
  if (existing === undefined) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: topics.state,
          numPartitions: layout.statePartitions,
          configEntries: Object.entries(STATE_TOPIC_CONFIG).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  } else if (existing < layout.statePartitions && prefixSums.includes(existing)) {
    await growStateTopic(admin, topics.state, existing, layout.statePartitions, log);
  } else if (existing !== layout.statePartitions) {
    const parts = inputs.map((i) => `${i.partitions} of ${i.topic}`).join(' + ');
    throw new PulsoError(
      `state topic ${topics.state} has ${existing} partitions, but the inputs have ${layout.statePartitions} (${parts}): each input partition keeps its state in its own state partition. ` +
        'The CDC topics were re-partitioned: stop the transformer, delete its state topic and consumer group, and replay.',
    );
  }
  return layout;
}

/** Layout, state topic (migrated from the legacy layout if that holds the state) and local store. */
export async function openState(deps: {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topics: TransformerTopics;
  readonly groupId: string;
  readonly instanceId: string;
  readonly stateDir: string | null;
  readonly log: Logger;
}): Promise<{ layout: StateLayout; store: StateStore }> {
  const { admin, topics, log } = deps;
  const layout = await prepareStateTopic(admin, topics, log);
  const legacy = legacyTransformerStateTopic(topics.state);
  if (legacy !== topics.state && (await admin.listTopics()).includes(legacy))
    await migrateLegacyState({ ...deps, layout, legacyTopic: legacy });
  const identity = { stateTopic: topics.state, groupId: deps.groupId, statePartitions: layout.statePartitions };
  const store =
    deps.stateDir === null
      ? new MemoryStateStore()
      : LmdbStateStore.open(join(deps.stateDir, deps.instanceId), identity, log);
  return { layout, store };
}
