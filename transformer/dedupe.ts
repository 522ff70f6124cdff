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

const WATERMARK_PREFIX = 'wm|';
const OFFSET_PREFIX = 'off|';
const SNAPSHOT_PREFIX = 'snap|';
const TRUNCATE_PREFIX = 'trunc|';

export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}|${partition}`;
}

export class DedupeState {
  private readonly watermarks = new Map<string, SourcePosition>();
  private readonly snapshotLedger = new Map<string, string>();
  private readonly offsets = new Map<string, bigint>();
  /** Per table, the source position of its last TRUNCATE: streamed changes committed before it are gone. */
  private readonly truncations = new Map<string, SourcePosition>();

  /** Restores one record of the state topic (read from the beginning at start). */
  loadStateRecord(key: string, value: string | null): void {
    if (key.startsWith(WATERMARK_PREFIX)) {
      const tp = key.slice(WATERMARK_PREFIX.length);
      if (value === null) this.watermarks.delete(tp);
      else {
        const v = JSON.parse(value) as { commit_lsn: string; lsn: string; rank: number };
        this.watermarks.set(tp, { commitLsn: BigInt(v.commit_lsn), lsn: BigInt(v.lsn), rank: v.rank });
      }
    } else if (key.startsWith(OFFSET_PREFIX)) {
      const tp = key.slice(OFFSET_PREFIX.length);
      if (value === null) this.offsets.delete(tp);
      else this.offsets.set(tp, BigInt((JSON.parse(value) as { offset: string }).offset));
    } else if (key.startsWith(TRUNCATE_PREFIX)) {
      const table = key.slice(TRUNCATE_PREFIX.length);
      if (value === null) this.truncations.delete(table);
      else {
        const v = JSON.parse(value) as { commit_lsn: string; lsn: string };
        this.truncations.set(table, { commitLsn: BigInt(v.commit_lsn), lsn: BigInt(v.lsn), rank: 0 });
      }
    } else if (key.startsWith(SNAPSHOT_PREFIX)) {
      const id = key.slice(SNAPSHOT_PREFIX.length);
      if (value === null) this.snapshotLedger.delete(id);
      else this.snapshotLedger.set(id, (JSON.parse(value) as { version: string }).version);
    }
  }

  watermark(topic: string, partition: number): SourcePosition | undefined {
    return this.watermarks.get(topicPartitionKey(topic, partition));
  }

  /** The last input offset of this topic-partition whose transaction committed. */
  offsetWatermark(topic: string, partition: number): bigint | undefined {
    return this.offsets.get(topicPartitionKey(topic, partition));
  }

  /** Every topic-partition with an offset watermark, for the start-up check against the partitions' ends. */
  offsetWatermarks(): { topic: string; partition: number; offset: bigint }[] {
    return [...this.offsets].map(([tp, offset]) => {
      const at = tp.lastIndexOf('|');
      return { topic: tp.slice(0, at), partition: Number(tp.slice(at + 1)), offset };
    });
  }

  /** Forgets an offset watermark that cannot be right (the topic was recreated); returns its state record. */
  dropOffsetWatermark(topic: string, partition: number): { key: string; value: null } {
    this.offsets.delete(topicPartitionKey(topic, partition));
    return { key: OFFSET_PREFIX + topicPartitionKey(topic, partition), value: null };
  }

  /** True if this input record was already handled by a committed transaction (the input is being replayed). */
  isReplayed(topic: string, partition: number, offset: string): boolean {
    const wm = this.offsets.get(topicPartitionKey(topic, partition));
    return wm !== undefined && BigInt(offset) <= wm;
  }

  truncatedAt(table: string): SourcePosition | undefined {
    return this.truncations.get(table);
  }

  snapshotVersion(table: string, pk: string): string | undefined {
    return this.snapshotLedger.get(`${table}|${pk}`);
  }

  clear(): void {
    this.watermarks.clear();
    this.snapshotLedger.clear();
    this.offsets.clear();
    this.truncations.clear();
  }

  size(): { watermarks: number; snapshotRows: number } {
    return { watermarks: this.watermarks.size, snapshotRows: this.snapshotLedger.size };
  }

  beginBatch(): DedupeBatch {
    return new DedupeBatch(this);
  }

  /** Applies a batch whose Kafka transaction committed. */
  commit(batch: DedupeBatch): void {
    for (const [tp, pos] of batch.pendingWatermarks) this.watermarks.set(tp, pos);
    for (const [id, version] of batch.pendingSnapshots) this.snapshotLedger.set(id, version);
    for (const [tp, offset] of batch.pendingOffsets) this.offsets.set(tp, offset);
    for (const [table, pos] of batch.pendingTruncations) this.truncations.set(table, pos);
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
  behindWatermark(topic: string, partition: number, pos: SourcePosition): { bytes: bigint; watermark: SourcePosition | undefined } {
    const tp = topicPartitionKey(topic, partition);
    const wm = this.pendingWatermarks.get(tp) ?? this.state.watermark(topic, partition);
    return { bytes: wm !== undefined && pos.commitLsn < wm.commitLsn ? wm.commitLsn - pos.commitLsn : 0n, watermark: wm };
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
    for (const [id, version] of this.pendingSnapshots) out.push({ key: SNAPSHOT_PREFIX + id, value: JSON.stringify({ version }) });
    for (const [tp, offset] of this.pendingOffsets) out.push({ key: OFFSET_PREFIX + tp, value: JSON.stringify({ offset: offset.toString() }) });
    for (const [table, p] of this.pendingTruncations) out.push({ key: TRUNCATE_PREFIX + table, value: JSON.stringify({ commit_lsn: p.commitLsn.toString(), lsn: p.lsn.toString() }) });
    return out;
  }
}
