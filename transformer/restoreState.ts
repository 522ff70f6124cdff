// What the transformer brings up to date before it consumes: after each consumer-group join, the local state
// store's partitions of the inputs it was assigned (once it owns their transactional ids); at start, the
// dimension tables from their compacted CDC topics (then kept current in the background).
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import { DIMENSION_TABLES, type DimensionTable, type TransformerTopics } from '../lib/names.ts';
import { decodeEnvelope } from './decode/decodeEnvelope.ts';
import { isDecodeError } from './decode/errors.ts';
import { DedupeState } from './dedupe.ts';
import type { DimensionTables } from './dimensions.ts';
import type { Assignment, PartitionProducers } from './partitionProducers.ts';
import type { StateStore } from './state/localStore.ts';
import { restorePartitions, type RestoreResult } from './state/restorePartitions.ts';
import { statePartitionOf, type StateLayout } from './state/stateLayout.ts';
import type { RestoreProgress } from './restoreProgress.ts';
import { startTopicReader, type TopicReader } from './topicReader.ts';

/**
 * An offset watermark at or past its partition's end means the topic was deleted and recreated (or the
 * broker reset while the state topic survived): trusting it would skip every new record as a replay.
 * Returns the tombstones that forget such watermarks.
 */
async function impossibleOffsetWatermarks(admin: Admin, dedupe: DedupeState, log: Logger): Promise<StaleWatermark[]> {
  const stale: StaleWatermark[] = [];
  for (const w of dedupe.offsetWatermarks()) {
    const ends = new Map(
      (await admin.fetchTopicOffsets(w.topic).catch(() => [])).map((p) => [p.partition, BigInt(p.high)]),
    );
    const end = ends.get(w.partition);
    if (end !== undefined && w.offset < end) continue;
    log.warn(
      'offset watermark beyond the end of its partition: the topic was recreated; forgetting it (source-position dedupe still applies)',
      {
        topic: w.topic,
        partition: w.partition,
        watermark: w.offset.toString(),
        partitionEnd: end?.toString() ?? 'no such partition',
      },
    );
    stale.push({ topic: w.topic, partition: w.partition, tombstone: dedupe.dropOffsetWatermark(w.topic, w.partition) });
  }
  return stale;
}

/** A tombstone for the state topic that forgets one partition's impossible offset watermark. */
export interface StaleWatermark {
  readonly topic: string;
  readonly partition: number;
  readonly tombstone: { key: string; value: null };
}

/**
 * After each join: producers for the assigned partitions first (starting them fences every earlier owner),
 * then the local store's partitions of those inputs brought up to the state topic, which no earlier owner
 * can change any more: only the tail after each checkpoint (a partition kept across the rebalance reads
 * nothing new; one that moved here reads what its earlier owner wrote since this store last held it); then
 * the tombstones of impossible offset watermarks, each through its partition's producer. `heartbeat` keeps
 * the membership alive while a partition is rebuilt from the start.
 */
export async function takeOverAssignment(deps: {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly stateTopic: string;
  readonly store: StateStore;
  readonly layout: StateLayout;
  readonly maxCheckpointAgeMs: number;
  readonly log: Logger;
  readonly producers: PartitionProducers;
  readonly assignment: Assignment;
  readonly heartbeat: () => Promise<void>;
  /** Told when the re-read starts, how far it got, and when it ended (the transformer's metrics). */
  readonly progress: Pick<RestoreProgress, 'started' | 'progressed' | 'ended'>;
}): Promise<RestoreResult> {
  const beat = setInterval(() => void deps.heartbeat().catch(() => undefined), 3000);
  deps.progress.started();
  try {
    await deps.producers.reassign(deps.assignment);
    const inputs = Object.entries(deps.assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition, part: statePartitionOf(deps.layout, topic, partition) })),
    );
    const started = Date.now();
    const result = await restorePartitions({
      ...deps,
      parts: inputs.map((i) => i.part),
      onProgress: (p) => deps.progress.progressed(p),
    });
    deps.log.info('state partitions restored', {
      ms: Date.now() - started,
      read: Object.fromEntries(result.readByPartition),
      rebuilt: result.plans.filter((p) => p.rebuild).map((p) => p.part),
      rows: Object.fromEntries(inputs.map((i) => [i.part, deps.store.rows(i.part)])),
      unreadable: result.unreadable,
    });
    for (const input of inputs) {
      const stale = await impossibleOffsetWatermarks(
        deps.admin,
        new DedupeState(deps.store.table(input.part)),
        deps.log,
      );
      for (const s of stale.filter((w) => deps.producers.owns(w.topic, w.partition)))
        await writeTombstone(deps, input.part, s);
    }
    return result;
  } finally {
    clearInterval(beat);
    deps.progress.ended();
  }
}

/** One tombstone in a transaction of its own, then in the local store with the checkpoint after it. */
async function writeTombstone(
  deps: { readonly producers: PartitionProducers; readonly stateTopic: string; readonly store: StateStore },
  part: number,
  s: StaleWatermark,
): Promise<void> {
  const tx = await deps.producers.get(s.topic, s.partition).transaction();
  try {
    const [meta] = await tx.send({ topic: deps.stateTopic, messages: [{ ...s.tombstone, partition: part }] });
    await tx.commit();
    deps.store.write(part, [s.tombstone], BigInt(meta!.baseOffset!) + 1n);
  } catch (e) {
    await tx.abort().catch(() => undefined);
    throw e;
  }
}

/**
 * Replays the dimension topics that exist into `dims`, then keeps following them. Undefined when none
 * exists yet (a bare broker): orders then carry null store fields.
 */
export async function startDimensionReader(deps: {
  readonly kafka: Kafka;
  readonly topics: Pick<TransformerTopics, 'dimensions'>;
  readonly existingTopics: ReadonlySet<string>;
  readonly dims: DimensionTables;
  readonly log: Logger;
}): Promise<TopicReader | undefined> {
  const { dims, log } = deps;
  const topicToTable = new Map<string, DimensionTable>(DIMENSION_TABLES.map((t) => [deps.topics.dimensions[t], t]));
  const present = [...topicToTable.keys()].filter((t) => deps.existingTopics.has(t));
  if (present.length === 0) return undefined;
  const reader = await startTopicReader(deps.kafka, {
    name: 'dimensions',
    topics: present,
    log,
    onMessage: (topic, _p, m) => {
      try {
        const record = decodeEnvelope({ topic, key: m.key, value: m.value });
        dims.apply(topicToTable.get(topic)!, record);
        if (record.kind === 'truncate') {
          log.warn(
            'TRUNCATE of a dimension table: it is empty now; orders of its stores carry null store, city and country fields until rows come back',
            { table: topicToTable.get(topic), offset: m.offset },
          );
        }
      } catch (e) {
        // A dimension row we cannot read is logged, not fatal: orders still flow with that row missing.
        log.warn('skipping unreadable dimension record', {
          topic,
          offset: m.offset,
          error: isDecodeError(e) ? `${e.reason}: ${e.message}` : String(e),
        });
      }
    },
  });
  await reader.caughtUp;
  return reader;
}
