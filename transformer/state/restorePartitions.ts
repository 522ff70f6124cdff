// Brings the local store's partitions up to the state topic before the loop consumes them: for each state
// partition this instance is assigned, only the topic's tail after the store's checkpoint (or the whole
// partition when the store cannot be trusted for it), applied one fetched batch per LMDB transaction with the
// offset after it as the new checkpoint. No time limit: progress is reported.
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../lib/log.ts';
import { checkDedupeRecord } from '../dedupe.ts';
import { checkLedgerRecord } from '../rollup/ledger.ts';
import { startTopicReader } from '../topicReader.ts';
import type { Checkpoint, StateStore } from './localStore.ts';
import type { StateWrite } from './stateTable.ts';
import { PulsoError } from '../../lib/errors.ts';

export interface RestorePlan {
  readonly part: number;
  /** The first state-topic offset to read. */
  readonly from: bigint;
  /** The partition's local records are dropped first (read from the topic's start). */
  readonly rebuild: boolean;
  /** Why a rebuild, for the log; undefined for a tail read. */
  readonly reason?: string;
}

/** Pure: from where a partition is read, given its checkpoint and the topic partition's offsets. */
export function planRestore(args: {
  part: number;
  checkpoint: Checkpoint | undefined;
  low: bigint;
  high: bigint;
  nowMs: number;
  maxCheckpointAgeMs: number;
}): RestorePlan {
  const { part, checkpoint: cp, low, high } = args;
  const rebuild = (reason: string): RestorePlan => ({ part, from: low, rebuild: true, reason });
  if (!cp) return rebuild('no local state for this partition');
  if (cp.offset > high)
    return rebuild(
      `the checkpoint (${cp.offset}) is beyond the end of the partition (${high}): the state topic was recreated`,
    );
  if (cp.offset < low)
    return rebuild(`the checkpoint (${cp.offset}) is before the first record the partition still holds (${low})`);
  if (args.nowMs - cp.atMs > args.maxCheckpointAgeMs) {
    return rebuild(
      `the checkpoint is ${Math.round((args.nowMs - cp.atMs) / 3_600_000)} h old, older than the state topic keeps tombstones (delete.retention.ms): deletes after it may be gone`,
    );
  }
  return { part, from: cp.offset, rebuild: false };
}

/** One fetched batch → the records worth keeping (an unreadable one is reported and skipped) and the offset after it. */
export function batchWrites(
  messages: readonly KafkaMessage[],
  onUnreadable: (m: KafkaMessage, error: string) => void,
): StateWrite[] {
  const out: StateWrite[] = [];
  for (const m of messages) {
    if (!m.key) continue;
    const key = m.key.toString();
    const value = m.value ? m.value.toString() : null;
    try {
      if (checkLedgerRecord(key, value) || checkDedupeRecord(key, value)) out.push({ key, value });
    } catch (e) {
      // Written by hand, or by another version: reported where it is and skipped, never a crash loop. The
      // key's row is then as if never asserted; the next change of it re-asserts it.
      onUnreadable(m, (e as Error).message);
    }
  }
  return out;
}

export interface RestoreResult {
  /** Records read from the topic, per state partition. */
  readonly readByPartition: ReadonlyMap<number, number>;
  readonly unreadable: number;
  readonly plans: readonly RestorePlan[];
}

export interface RestoreDeps {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly stateTopic: string;
  readonly store: StateStore;
  readonly parts: readonly number[];
  readonly maxCheckpointAgeMs: number;
  readonly log: Logger;
  readonly onProgress?: (p: { read: number; total: number }) => void;
}

type PartitionOffsets = Map<number, { low: bigint; high: bigint }>;

/** What to do per partition (planRestore), with the partitions to rebuild dropped from the store. */
function planAll(deps: RestoreDeps, offsets: PartitionOffsets) {
  const { store, stateTopic } = deps;
  const plans = deps.parts.map((part) => {
    const o = offsets.get(part);
    if (!o)
      throw new PulsoError(
        `state topic ${stateTopic} has no partition ${part}; it needs one per input partition (docs/contracts.md, "Transformer state")`,
      );
    const checkpoint = store.checkpoint(part);
    return planRestore({ part, checkpoint, ...o, nowMs: Date.now(), maxCheckpointAgeMs: deps.maxCheckpointAgeMs });
  });
  for (const p of plans.filter((x) => x.rebuild)) {
    deps.log.info('rebuilding a state partition from the state topic', { partition: p.part, reason: p.reason });
    store.dropPartition(p.part);
  }
  return plans;
}

/** Reads each partition's tail into the store, one LMDB transaction per fetched batch; counts what it read. */
async function readTails(deps: RestoreDeps, from: Map<string, bigint>) {
  const { store, log, stateTopic } = deps;
  const readByPartition = new Map<number, number>(deps.parts.map((p) => [p, 0]));
  let unreadable = 0;
  const skipUnreadable = (partition: number) => (m: KafkaMessage, error: string) => {
    unreadable++;
    const key = m.key?.toString().slice(0, 200);
    log.error('skipping an unreadable state record', { topic: stateTopic, partition, offset: m.offset, key, error });
  };
  const reader = await startTopicReader(deps.kafka, {
    name: 'state',
    topics: [stateTopic],
    from,
    // A tail is often only a commit marker: do not let the broker hold an empty fetch for its default 5 s.
    maxWaitTimeInMs: 100,
    log,
    onProgress: (p) => {
      deps.onProgress?.(p);
      const percent = p.total ? Math.floor((100 * p.read) / p.total) : 100;
      if (p.read < p.total) log.info('restoring state', { read: p.read, of: p.total, percent });
    },
    onBatch: (_topic, partition, messages) => {
      if (!messages.length) return;
      const writes = batchWrites(messages, skipUnreadable(partition));
      store.write(partition, writes, BigInt(messages[messages.length - 1]!.offset) + 1n);
      readByPartition.set(partition, (readByPartition.get(partition) ?? 0) + messages.length);
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  return { readByPartition, unreadable };
}

export async function restorePartitions(deps: RestoreDeps): Promise<RestoreResult> {
  const { store, stateTopic } = deps;
  const offsets: PartitionOffsets = new Map(
    (await deps.admin.fetchTopicOffsets(stateTopic)).map((p) => [
      p.partition,
      { low: BigInt(p.low), high: BigInt(p.high) },
    ]),
  );
  const plans = planAll(deps, offsets);
  const toRead = plans.filter((p) => p.from < offsets.get(p.part)!.high);
  if (!toRead.length) {
    deps.onProgress?.({ read: 0, total: 0 });
    return { readByPartition: new Map(deps.parts.map((p) => [p, 0])), unreadable: 0, plans };
  }
  const { readByPartition, unreadable } = await readTails(
    deps,
    new Map(toRead.map((p) => [`${stateTopic}/${p.part}`, p.from])),
  );
  // Everything committed below each high watermark is in the store now (the earlier owners are fenced, so no
  // transaction is open below it): the checkpoint moves past the trailing commit markers too.
  for (const p of toRead) store.write(p.part, [], offsets.get(p.part)!.high);
  return { readByPartition, unreadable, plans };
}
