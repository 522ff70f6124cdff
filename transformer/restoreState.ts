// What the transformer rebuilds before it consumes: after each consumer-group join, the dedupe state and the
// rollup ledger from its compacted state topic (once it owns its partitions' transactional ids); at start,
// the dimension tables from their compacted CDC topics (then kept current in the background).
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import { DIMENSION_TABLES, type DimensionTable, type TransformerTopics } from '../lib/names.ts';
import { decodeEnvelope } from './decode/decodeEnvelope.ts';
import { isDecodeError } from './decode/errors.ts';
import type { DedupeState } from './dedupe.ts';
import type { DimensionTables } from './dimensions.ts';
import type { Assignment, PartitionProducers } from './partitionProducers.ts';
import type { RollupLedger } from './rollup/ledger.ts';
import type { RestoreProgress } from './restoreProgress.ts';
import { startTopicReader, type TopicReader } from './topicReader.ts';

/**
 * An offset watermark at or past its partition's end means the topic was deleted and recreated (or the
 * broker reset while the state topic survived): trusting it would skip every new record as a replay.
 * Returns the tombstones that forget such watermarks, each to be written in a transaction of its own.
 */
async function impossibleOffsetWatermarks(admin: Admin, dedupe: DedupeState, log: Logger): Promise<StaleWatermark[]> {
  const stale: StaleWatermark[] = [];
  const byTopic = new Map<string, { partition: number; offset: bigint }[]>();
  for (const w of dedupe.offsetWatermarks()) byTopic.set(w.topic, [...(byTopic.get(w.topic) ?? []), w]);
  for (const [topic, marks] of byTopic) {
    const ends = new Map((await admin.fetchTopicOffsets(topic).catch(() => [])).map((p) => [p.partition, BigInt(p.high)]));
    for (const w of marks) {
      const end = ends.get(w.partition);
      if (end !== undefined && w.offset < end) continue;
      log.warn('offset watermark beyond the end of its partition: the topic was recreated; forgetting it (source-position dedupe still applies)', {
        topic, partition: w.partition, watermark: w.offset.toString(), partitionEnd: end?.toString() ?? 'no such partition',
      });
      stale.push({ topic, partition: w.partition, tombstone: dedupe.dropOffsetWatermark(topic, w.partition) });
    }
  }
  return stale;
}

/** A tombstone for the state topic that forgets one partition's impossible offset watermark. */
export interface StaleWatermark {
  readonly topic: string;
  readonly partition: number;
  readonly tombstone: { key: string; value: null };
}

/** One state-topic record into whichever state owns its key (the ledger's keys have their own prefix). */
export function applyStateRecord(dedupe: DedupeState, ledger: RollupLedger, key: string, value: string | null): void {
  if (!ledger.loadStateRecord(key, value)) dedupe.loadStateRecord(key, value);
}

/**
 * Reads the state topic to its end into `dedupe` and `ledger` (both cleared first). Returns the impossible
 * offset watermarks it forgot: the loop writes their tombstones through the producer of each partition it
 * owns (a partition owned elsewhere is its owner's to clean).
 */
export async function restoreState(deps: {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly stateTopic: string;
  readonly dedupe: DedupeState;
  readonly ledger: RollupLedger;
  readonly log: Logger;
  /** Records read of those to read, about every 5 s and at the end (no time limit: progress tells busy from stuck). */
  readonly onProgress?: (p: { read: number; total: number }) => void;
}): Promise<StaleWatermark[]> {
  const { dedupe, ledger, log } = deps;
  dedupe.clear();
  ledger.clear();
  let unreadable = 0;
  const reader = await startTopicReader(deps.kafka, {
    name: 'state',
    topics: [deps.stateTopic],
    log,
    onProgress: (p) => {
      deps.onProgress?.(p);
      if (p.read < p.total) log.info('restoring state', { read: p.read, of: p.total, percent: p.total ? Math.floor((100 * p.read) / p.total) : 100 });
    },
    onMessage: (topic, partition, m) => {
      if (!m.key) return;
      try {
        applyStateRecord(dedupe, ledger, m.key.toString(), m.value ? m.value.toString() : null);
      } catch (e) {
        // Written by hand, or by another version: reported where it is and skipped, never a crash loop. The
        // key's row is then as if never asserted; the next change of it re-asserts it.
        unreadable++;
        log.error('skipping an unreadable state record', { topic, partition, offset: m.offset, key: m.key.toString().slice(0, 200), error: (e as Error).message });
      }
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  log.info('dedupe state and rollup ledger loaded', { ...dedupe.size(), ledgerRows: ledger.size(), unreadable });
  return impossibleOffsetWatermarks(deps.admin, dedupe, log);
}

/**
 * After each join: producers for the assigned partitions first (starting them fences every earlier owner),
 * then the state, which no earlier owner can change any more; then the tombstones of the impossible
 * watermarks of the partitions this instance owns, each through that partition's producer.
 * Re-reading the state takes as long as the history is big (~1 M ledger rows: tens of seconds on a loaded
 * box), so `heartbeat` keeps the membership alive meanwhile; otherwise the session expires, the group drops
 * this member, and the rejoin asks for the same re-read again.
 */
export async function takeOverAssignment(
  deps: Parameters<typeof restoreState>[0] & {
    readonly producers: PartitionProducers;
    readonly assignment: Assignment;
    readonly heartbeat: () => Promise<void>;
    /** Told when the re-read starts, how far it got, and when it ended (the transformer's metrics). */
    readonly progress: Pick<RestoreProgress, 'started' | 'progressed' | 'ended'>;
  },
): Promise<void> {
  const beat = setInterval(() => void deps.heartbeat().catch(() => undefined), 3000);
  deps.progress.started();
  try {
    await deps.producers.reassign(deps.assignment);
    const stale = await restoreState({ ...deps, onProgress: (p) => deps.progress.progressed(p) });
    for (const s of stale.filter((w) => deps.producers.owns(w.topic, w.partition))) {
      const tx = await deps.producers.get(s.topic, s.partition).transaction();
      try {
        await tx.send({ topic: deps.stateTopic, messages: [s.tombstone] });
        await tx.commit();
      } catch (e) {
        await tx.abort().catch(() => undefined);
        throw e;
      }
    }
  } finally {
    clearInterval(beat);
    deps.progress.ended();
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
          log.warn('TRUNCATE of a dimension table: it is empty now; orders of its stores carry null store, city and country fields until rows come back', { table: topicToTable.get(topic), offset: m.offset });
        }
      } catch (e) {
        // A dimension row we cannot read is logged, not fatal: orders still flow with that row missing.
        log.warn('skipping unreadable dimension record', { topic, offset: m.offset, error: isDecodeError(e) ? `${e.reason}: ${e.message}` : String(e) });
      }
    },
  });
  await reader.caughtUp;
  return reader;
}
