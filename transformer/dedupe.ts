// De-duplication of Debezium's at-least-once output (reference §2.10). After a connector crash, changes are
// re-emitted from the last flushed offset; they carry the same source position as the first time.
//
// Streaming changes: per input topic-partition, a watermark on the source position
//   (sequence[0] = last commit LSN before the change's transaction, lsn = the change's own LSN, op rank).
// pgoutput delivers transactions in commit order and a transaction's changes in LSN order, so this triple
// only grows along one partition; anything at or below the watermark has been emitted already. The change
// LSN alone is NOT monotonic across concurrent transactions (reference §1.2), hence commit LSN first.
// The op rank orders the delete+create pair that a primary-key update emits at one LSN.
//
// Snapshot reads (op r) all share the snapshot's LSN, so a watermark cannot tell them apart. A re-run
// snapshot (crash mid-snapshot, or a signalled re-snapshot) repeats rows; those are recognised by a ledger
// of (table, pk) → the version last emitted from a snapshot.
//
// Replays of the input itself (a consumer-group reset, or the offsets lost) are recognised first, by input
// offset: per topic-partition, the last offset whose transaction committed. A re-read record at or below it
// was fully handled already, whatever it was (a change, a snapshot row at an older version, a dead letter):
// the source-position watermark alone cannot tell an old snapshot row from a new one.
//
// The state is changed only through a batch, which the I/O loop commits after its Kafka transaction
// committed; an aborted batch leaves the state untouched. The batch also yields the state records that the
// loop writes to the compacted state topic inside the same transaction, so a restart resumes exactly.
import type { ChangeOp, ChangeRecord } from './decode/decodeEnvelope.ts';
import {
  checkDedupeRecord,
  OFFSET_PREFIX,
  parseOffset,
  parseSnapshot,
  parseTruncation,
  parseWatermark,
  SNAPSHOT_PREFIX,
  topicPartitionKey,
  TRUNCATE_PREFIX,
  WATERMARK_PREFIX,
} from './dedupeRecords.ts';
import { MemoryStateTable, type StateTable } from './state/stateTable.ts';

export interface SourcePosition {
  readonly commitLsn: bigint;
  readonly lsn: bigint;
  readonly rank: number;
}

const OP_RANK: Record<ChangeOp, number> = { d: 0, c: 1, u: 1, r: 1 };

/**
 * A streamed change's position, or undefined when the envelope lacks part of it. Never a guessed 0: a change
 * at "position 0" would sit below every watermark and be skipped as a duplicate without a trace.
 */
export function positionOf(change: ChangeRecord): SourcePosition | undefined {
  if (change.source.commitLsn === null || change.source.lsn === null) return undefined;
  return { commitLsn: BigInt(change.source.commitLsn), lsn: BigInt(change.source.lsn), rank: OP_RANK[change.op] };
}

/**
 * How far below a partition's watermark a re-emitted change can legitimately be. Debezium re-emits from its
 * last flushed offset after a crash: seconds of WAL. A change a whole GiB of WAL behind is no replay; the
 * source database was reset or restored from a backup while the transformer's state survived.
 */
export const LSN_REWIND_LIMIT = 1n << 30n;

export function comparePositions(a: SourcePosition, b: SourcePosition): number {
  if (a.commitLsn !== b.commitLsn) return a.commitLsn < b.commitLsn ? -1 : 1;
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  return a.rank - b.rank;
}

export interface StateRecord {
  readonly key: string;
  readonly value: string;
}

export { checkDedupeRecord, topicPartitionKey } from './dedupeRecords.ts';

/**
 * The dedupe state of one state partition (every key it holds belongs to one input partition's records),
 * read through its table: memory in tests, the local LMDB store in the transformer.
 */
export class DedupeState {
  constructor(private readonly table: StateTable = new MemoryStateTable()) {}

  /** Restores one record of the state topic (a key outside the dedupe state is ignored; a bad value throws). */
  loadStateRecord(key: string, value: string | null): void {
    if (checkDedupeRecord(key, value)) this.table.apply([{ key, value }]);
  }

  watermark(topic: string, partition: number): SourcePosition | undefined {
    const key = WATERMARK_PREFIX + topicPartitionKey(topic, partition);
    const raw = this.table.get(key);
    if (raw === undefined) return undefined;
    const v = parseWatermark(key, raw);
    return { commitLsn: BigInt(v.commit_lsn), lsn: BigInt(v.lsn), rank: v.rank };
  }

  /** The last input offset of this topic-partition whose transaction committed. */
  offsetWatermark(topic: string, partition: number): bigint | undefined {
    const key = OFFSET_PREFIX + topicPartitionKey(topic, partition);
    const raw = this.table.get(key);
    return raw === undefined ? undefined : BigInt(parseOffset(key, raw).offset);
  }

  /** Every topic-partition with an offset watermark, for the start-up check against the partitions' ends. */
  offsetWatermarks(): { topic: string; partition: number; offset: bigint }[] {
    return [...this.table.scan(OFFSET_PREFIX)].map(([key, raw]) => {
      const tp = key.slice(OFFSET_PREFIX.length);
      const at = tp.lastIndexOf('|');
      return {
        topic: tp.slice(0, at),
        partition: Number(tp.slice(at + 1)),
        offset: BigInt(parseOffset(key, raw).offset),
      };
    });
  }

  /** The tombstone that forgets an offset watermark that cannot be right (the topic was recreated). */
  dropOffsetWatermark(topic: string, partition: number): { key: string; value: null } {
    return { key: OFFSET_PREFIX + topicPartitionKey(topic, partition), value: null };
  }

  /** True if this input record was already handled by a committed transaction (the input is being replayed). */
  isReplayed(topic: string, partition: number, offset: string): boolean {
    const wm = this.offsetWatermark(topic, partition);
    return wm !== undefined && BigInt(offset) <= wm;
  }

  truncatedAt(table: string): SourcePosition | undefined {
    const key = TRUNCATE_PREFIX + table;
    const raw = this.table.get(key);
    if (raw === undefined) return undefined;
    const v = parseTruncation(key, raw);
    return { commitLsn: BigInt(v.commit_lsn), lsn: BigInt(v.lsn), rank: 0 };
  }

  snapshotVersion(table: string, pk: string): string | undefined {
    const key = `${SNAPSHOT_PREFIX}${table}|${pk}`;
    const raw = this.table.get(key);
    return raw === undefined ? undefined : parseSnapshot(key, raw).version;
  }

  /** Counted by scanning: for tests and benchmarks, not the hot path. */
  size(): { watermarks: number; snapshotRows: number } {
    let watermarks = 0;
    let snapshotRows = 0;
    for (const _ of this.table.scan(WATERMARK_PREFIX)) watermarks++;
    for (const _ of this.table.scan(SNAPSHOT_PREFIX)) snapshotRows++;
    return { watermarks, snapshotRows };
  }

  beginBatch(): DedupeBatch {
    return new DedupeBatch(this);
  }

  /** Applies a batch whose Kafka transaction committed (the transformer writes its records with a checkpoint instead). */
  commit(batch: DedupeBatch): void {
    this.table.apply(batch.stateRecords());
  }
}

export class DedupeBatch {
  readonly pendingWatermarks = new Map<string, SourcePosition>();
  readonly pendingSnapshots = new Map<string, string>();
  readonly pendingOffsets = new Map<string, bigint>();
  readonly pendingTruncations = new Map<string, SourcePosition>();
  constructor(private readonly state: DedupeState) {}

  /**
   * True when a streamed change was committed before the table's last TRUNCATE: the row it describes is gone.
   * The input has several partitions, so such a change can arrive after the truncate was handled.
   */
  isBeforeTruncate(table: string, pos: SourcePosition): boolean {
    const t = this.pendingTruncations.get(table) ?? this.state.truncatedAt(table);
    return t !== undefined && pos.commitLsn < t.commitLsn;
  }

  /** True when this partition has handled the table's TRUNCATE at `pos`, or a later one (a forwarded copy seen again). */
  isTruncatedSince(table: string, pos: SourcePosition): boolean {
    const t = this.pendingTruncations.get(table) ?? this.state.truncatedAt(table);
    return t !== undefined && (t.commitLsn > pos.commitLsn || (t.commitLsn === pos.commitLsn && t.lsn >= pos.lsn));
  }

  markTruncated(table: string, pos: SourcePosition): void {
    this.pendingTruncations.set(table, pos);
  }

  /**
   * The batch handles input up to this offset (set once per chunk by the I/O loop). Never lowers the
   * watermark: during a replay the chunks re-read offsets below it, and all of the replay must be recognised.
   */
  markConsumed(topic: string, partition: number, offset: string): void {
    const tp = topicPartitionKey(topic, partition);
    const current = this.pendingOffsets.get(tp) ?? this.state.offsetWatermark(topic, partition);
    const next = BigInt(offset);
    if (current === undefined || next > current) this.pendingOffsets.set(tp, next);
  }

  /** True if a streaming change at this position was already emitted from this topic-partition. */
  isDuplicate(topic: string, partition: number, pos: SourcePosition): boolean {
    const tp = topicPartitionKey(topic, partition);
    const wm = this.pendingWatermarks.get(tp) ?? this.state.watermark(topic, partition);
    return wm !== undefined && comparePositions(pos, wm) <= 0;
  }

  /** How far (bytes of WAL, by commit LSN) a position is below this partition's watermark (0n if not below), and the watermark. */
  behindWatermark(
    topic: string,
    partition: number,
    pos: SourcePosition,
  ): { bytes: bigint; watermark: SourcePosition | undefined } {
    const tp = topicPartitionKey(topic, partition);
    const wm = this.pendingWatermarks.get(tp) ?? this.state.watermark(topic, partition);
    return {
      bytes: wm !== undefined && pos.commitLsn < wm.commitLsn ? wm.commitLsn - pos.commitLsn : 0n,
      watermark: wm,
    };
  }

  markEmitted(topic: string, partition: number, pos: SourcePosition): void {
    this.pendingWatermarks.set(topicPartitionKey(topic, partition), pos);
  }

  /** True if a snapshot already emitted this row at this version. */
  isSnapshotDuplicate(table: string, pk: string, version: string): boolean {
    const id = `${table}|${pk}`;
    return (this.pendingSnapshots.get(id) ?? this.state.snapshotVersion(table, pk)) === version;
  }

  markSnapshotEmitted(table: string, pk: string, version: string): void {
    this.pendingSnapshots.set(`${table}|${pk}`, version);
  }

  /** Records for the compacted state topic, written in the batch's transaction. */
  stateRecords(): StateRecord[] {
    const out: StateRecord[] = [];
    for (const [tp, p] of this.pendingWatermarks) {
      out.push({
        key: WATERMARK_PREFIX + tp,
        value: JSON.stringify({ commit_lsn: p.commitLsn.toString(), lsn: p.lsn.toString(), rank: p.rank }),
      });
    }
    for (const [id, version] of this.pendingSnapshots)
      out.push({ key: SNAPSHOT_PREFIX + id, value: JSON.stringify({ version }) });
    for (const [tp, offset] of this.pendingOffsets)
      out.push({ key: OFFSET_PREFIX + tp, value: JSON.stringify({ offset: offset.toString() }) });
    for (const [table, p] of this.pendingTruncations)
      out.push({
        key: TRUNCATE_PREFIX + table,
        value: JSON.stringify({ commit_lsn: p.commitLsn.toString(), lsn: p.lsn.toString() }),
      });
    return out;
  }
}
