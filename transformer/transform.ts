// One consumed CDC record → its outcome: clean events to produce, a deliberate skip (counted by reason),
// or a dead-letter. Pure apart from reading the dimension tables and the dedupe batch it is given.
import { decodeEnvelope, type ChangeRecord, type SourceInfo } from './decode/decodeEnvelope.ts';
import { DecodeError, isDecodeError, type DlqReason } from './decode/errors.ts';
import { decodeId } from './decode/values.ts';
import type { DedupeBatch } from './dedupe.ts';
import type { SourcePosition } from './dedupe.ts';
import { admit } from './admission.ts';
import type { DimensionTables } from './dimensions.ts';
import { toOrderEvent } from './toOrderEvent.ts';
import { toOrderItemEvent } from './toOrderItemEvent.ts';
import { toStockChange, truncateStock } from './toStockChange.ts';
import { requireFullBefore } from './rollup/beforeImage.ts';
import { itemRollupChange } from './rollup/itemDeltas.ts';
import type { LedgerBatch } from './rollup/ledger.ts';
import { orderRollupChange } from './rollup/orderDeltas.ts';
import { truncateTable } from './rollup/truncation.ts';
import type { TransformerTopics } from '../lib/names.ts';

/** Records that are consumed on purpose without an event. Every one is counted by its reason. */
export type SkipReason =
  | 'heartbeat'
  | 'tombstone' // the null-value record after a delete; the delete itself became the event
  | 'truncate' // op t of a table the rollups do not read (orders and order_items are retracted instead)
  | 'logical_message' // op m from pg_logical_emit_message: not an order change
  | 'replayed' // the input record itself was handled by a committed transaction (consumer-group reset)
  | 'duplicate' // at or below the partition's source-position watermark: emitted before
  | 'snapshot_duplicate'; // the same row and version were emitted by an earlier snapshot

/** Unexpected exceptions (bugs) also dead-letter, so one odd record cannot stop the pipeline. */
export type DeadLetterReason = DlqReason | 'internal_error';

export interface InputRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** A TRUNCATE forwarded from another partition of its topic (header FORWARDED_TRUNCATE_HEADER). */
  readonly forwardedTruncate?: boolean;
}

export interface OutputRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string;
  /** Set only where the partition is not the producer's choice (a forwarded TRUNCATE). */
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Marks a TRUNCATE the transformer copied into the other partitions of its CDC topic. Debezium writes a
 * TRUNCATE (no key) into one partition, but every partition's state holds rows of the table: each partition's
 * owner retracts its own rows when the copy reaches it, in order with that partition's changes, in its own
 * transaction (docs/contracts.md, "Transformer state"). Its value: the source `topic/partition/offset`.
 */
export const FORWARDED_TRUNCATE_HEADER = 'pulso.truncate.forwarded-from';

export type Outcome =
  | {
      readonly kind: 'event';
      readonly table: 'orders' | 'order_items' | 'stock_levels';
      readonly eventType: string;
      /** The clean event (orders / order_items topic). */
      readonly outputs: readonly OutputRecord[];
      /** Signed rollup rows and delivery facts for this change (possibly none: nothing a panel uses moved). */
      readonly rollup: readonly OutputRecord[];
      /** The before image disagreed with what the ledger had asserted (an earlier change was missed). */
      readonly ledgerMismatch: boolean;
      readonly sourceTsMs: number;
      readonly isSnapshot: boolean;
      /** The order's store, or its currency's rate at its business date, is not (yet) known: those fields are null. */
      readonly missingStore: boolean;
      readonly missingRate: boolean;
    }
  | { readonly kind: 'skip'; readonly reason: SkipReason }
  | { readonly kind: 'dlq'; readonly reason: DeadLetterReason; readonly error: string };

/** The topics one record's mapping reads or writes (a subset of lib/names.ts' TransformerTopics). */
export type TransformTopics = Pick<
  TransformerTopics,
  | 'cdcOrders'
  | 'cdcOrderItems'
  | 'cdcStock'
  | 'orders'
  | 'orderItems'
  | 'orderDeltas'
  | 'itemDeltas'
  | 'stockDeltas'
  | 'deliveries'
>;

export interface TransformContext {
  readonly dims: DimensionTables;
  readonly dedupe: DedupeBatch;
  readonly ledger: LedgerBatch;
  readonly topics: TransformTopics;
  readonly nowMs: number;
  /** Partitions of an input topic, to forward a TRUNCATE to the others (default 1: nothing to forward). */
  readonly inputPartitions?: (topic: string) => number;
}

/** A mapped change: its clean event and the rollup rows it moves, with what the ledger said of its before image. */
interface Mapped {
  readonly output: OutputRecord;
  readonly eventType: string;
  readonly rollup: OutputRecord[];
  readonly ledgerMismatch: boolean;
  readonly missingStore: boolean;
  readonly missingRate: boolean;
}

const NOTHING_MISSING = { missingStore: false, missingRate: false } as const;

const withLsn = <T extends object>(next: T | null, position: SourcePosition | undefined) =>
  next && position ? { ...next, commitLsn: position.commitLsn.toString() } : next;

function mapOrder(change: ChangeRecord, ctx: TransformContext, pk: string, position?: SourcePosition): Mapped {
  const { topics, ledger } = ctx;
  const event = toOrderEvent(change, ctx.dims, ctx.nowMs);
  const previous = ledger.order(pk);
  const ledgerMismatch =
    !!previous && !!change.before && String(previous.version) !== String(change.before.columns.version);
  const delta = orderRollupChange(pk, event.event_id, previous, change.op === 'd' ? null : event);
  ledger.setOrder(pk, withLsn(delta.next, position));
  return {
    output: { topic: topics.orders, key: event.order_id, value: JSON.stringify(event) },
    eventType: event.event_type,
    rollup: [
      ...delta.deltas.map((d) => ({ topic: topics.orderDeltas, key: pk, value: JSON.stringify(d) })),
      ...delta.deliveries.map((d) => ({ topic: topics.deliveries, key: pk, value: JSON.stringify(d) })),
    ],
    ledgerMismatch,
    // A dimension row the order joins is not known yet: its store, or its customer's sign-up (new-account flag).
    missingStore:
      (event.store_name === null && event.store_category === null) ||
      (event.customer_id !== null && event.customer_since === null && change.op !== 'd'),
    missingRate: event.usd_per_unit === null && change.op !== 'd',
  };
}

function mapItem(change: ChangeRecord, ctx: TransformContext, pk: string, position?: SourcePosition): Mapped {
  const { topics, ledger } = ctx;
  const event = toOrderItemEvent(change);
  const previous = ledger.item(pk);
  const ledgerMismatch =
    !!previous && !!change.before && String(previous.quantity) !== String(change.before.columns.quantity);
  const delta = itemRollupChange(pk, event.event_id, previous, event);
  ledger.setItem(pk, withLsn(delta.next, position));
  return {
    output: { topic: topics.orderItems, key: event.order_id, value: JSON.stringify(event) },
    eventType: event.event_type,
    rollup: delta.deltas.map((d) => ({ topic: topics.itemDeltas, key: event.order_id, value: JSON.stringify(d) })),
    ledgerMismatch,
    ...NOTHING_MISSING,
  };
}

function toEvent(rec: InputRecord, change: ChangeRecord, ctx: TransformContext): Outcome {
  const isOrders = rec.topic === ctx.topics.cdcOrders;
  const table = isOrders ? 'orders' : 'order_items';
  const row = (change.op === 'd' ? change.before! : change.after!).columns;
  const pk = decodeId(row.id ?? change.key?.id, `${table}.id`);
  const admission = admit(rec, change, ctx, table, pk);
  if (admission.skip) return { kind: 'skip', reason: admission.skip };
  const { position, snapshotVersion } = admission;
  requireFullBefore(change, table, pk);
  // Committed before its table's last TRUNCATE, arriving after it through another input partition: the row is
  // gone. Its event is written (every change has one, whatever the partitions' interleaving) with a
  // `truncated` marker after it, and nothing is asserted in the rollups.
  if (position && ctx.dedupe.isBeforeTruncate(table, position))
    return lateForTruncate(rec, change, ctx, table, position);
  const mapped = isOrders ? mapOrder(change, ctx, pk, position) : mapItem(change, ctx, pk, position);
  // Marked only once the event exists: a record that dead-letters does not move the watermark.
  if (change.isSnapshot) ctx.dedupe.markSnapshotEmitted(table, pk, snapshotVersion);
  else ctx.dedupe.markEmitted(rec.topic, rec.partition, position!);
  return {
    kind: 'event',
    table,
    eventType: mapped.eventType,
    outputs: [mapped.output],
    rollup: mapped.rollup,
    ledgerMismatch: mapped.ledgerMismatch,
    sourceTsMs: change.source.tsMs,
    isSnapshot: change.isSnapshot,
    missingStore: mapped.missingStore,
    missingRate: mapped.missingRate,
  };
}

function lateForTruncate(
  rec: InputRecord,
  change: ChangeRecord,
  ctx: TransformContext,
  table: 'orders' | 'order_items',
  position: SourcePosition,
): Outcome {
  const event: { event_id: string; event_type: string; order_id: string | null } =
    table === 'orders' ? toOrderEvent(change, ctx.dims, ctx.nowMs) : toOrderItemEvent(change);
  const topic = table === 'orders' ? ctx.topics.orders : ctx.topics.orderItems;
  const marker = { ...event, event_id: `${event.event_id}:truncated`, event_type: 'truncated', is_deleted: 1 };
  ctx.dedupe.markEmitted(rec.topic, rec.partition, position);
  return {
    kind: 'event',
    table,
    eventType: event.event_type,
    outputs: [
      { topic, key: event.order_id, value: JSON.stringify(event) },
      { topic, key: event.order_id, value: JSON.stringify(marker) },
    ],
    rollup: [],
    ledgerMismatch: false,
    sourceTsMs: change.source.tsMs,
    isSnapshot: false,
    ...NOTHING_MISSING,
  };
}

/**
 * TRUNCATE of orders or order_items: every row this partition's ledger asserted for the table before the
 * truncate committed is retracted (−1 each, and a `truncated` event each), and the truncate's position is
 * kept, so that changes of the table committed before it, still on their way through this partition, are not
 * asserted again. The original (Debezium's) is copied into the topic's other partitions, whose owners do the
 * same for their rows; a copy is recognised by its header and dedupes on the partition's truncate position
 * (the source-position watermark of its partition may be past it already).
 */
function toTruncation(rec: InputRecord, source: SourceInfo, ctx: TransformContext): Outcome {
  if (rec.topic === ctx.topics.cdcStock) return toStockTruncation(rec, source, ctx);
  const table = rec.topic === ctx.topics.cdcOrders ? 'orders' : 'order_items';
  if (source.commitLsn === null || source.lsn === null) {
    throw new DecodeError(
      'source_position_missing',
      `TRUNCATE of ${table} has no source position (commit LSN ${source.commitLsn ?? 'null'}, LSN ${source.lsn ?? 'null'}), so it cannot be told from a re-emitted duplicate`,
    );
  }
  const position: SourcePosition = { commitLsn: BigInt(source.commitLsn), lsn: BigInt(source.lsn), rank: 1 };
  if (
    rec.forwardedTruncate
      ? ctx.dedupe.isTruncatedSince(table, position)
      : ctx.dedupe.isDuplicate(rec.topic, rec.partition, position)
  )
    return { kind: 'skip', reason: 'duplicate' };
  const truncation = truncateTable(
    table,
    ctx.ledger,
    { commitLsn: source.commitLsn, lsn: source.lsn, txId: source.txId, tsMs: source.tsMs },
    ctx.topics,
    ctx.nowMs,
  );
  ctx.dedupe.markTruncated(table, position);
  const outputs = [...truncation.outputs];
  if (!rec.forwardedTruncate) {
    ctx.dedupe.markEmitted(rec.topic, rec.partition, position);
    const partitions = ctx.inputPartitions?.(rec.topic) ?? 1;
    for (let p = 0; p < partitions; p++) {
      if (p === rec.partition) continue;
      outputs.push({
        topic: rec.topic,
        partition: p,
        key: rec.key?.toString() ?? null,
        value: rec.value!.toString(),
        headers: { [FORWARDED_TRUNCATE_HEADER]: `${rec.topic}/${rec.partition}/${rec.offset}` },
      });
    }
  }
  return {
    kind: 'event',
    table,
    eventType: 'truncated',
    outputs,
    rollup: truncation.rollup,
    ledgerMismatch: false,
    sourceTsMs: source.tsMs,
    isSnapshot: false,
    ...NOTHING_MISSING,
  };
}

/** TRUNCATE of stock_levels (one partition, nothing to forward): every asserted stock row retracted. */
function toStockTruncation(rec: InputRecord, source: SourceInfo, ctx: TransformContext): Outcome {
  if (source.commitLsn === null || source.lsn === null)
    throw new DecodeError('source_position_missing', 'TRUNCATE of stock_levels has no source position');
  const position: SourcePosition = { commitLsn: BigInt(source.commitLsn), lsn: BigInt(source.lsn), rank: 1 };
  if (ctx.dedupe.isDuplicate(rec.topic, rec.partition, position)) return { kind: 'skip', reason: 'duplicate' };
  const rollup = truncateStock(
    ctx.ledger,
    { commitLsn: source.commitLsn, lsn: source.lsn, tsMs: source.tsMs },
    ctx.topics,
  );
  ctx.dedupe.markEmitted(rec.topic, rec.partition, position);
  const rest = { ledgerMismatch: false, sourceTsMs: source.tsMs, isSnapshot: false, ...NOTHING_MISSING };
  return { kind: 'event', table: 'stock_levels', eventType: 'truncated', outputs: [], rollup, ...rest };
}

export function transformRecord(rec: InputRecord, ctx: TransformContext): Outcome {
  try {
    const decoded = decodeEnvelope(rec);
    switch (decoded.kind) {
      case 'heartbeat':
        return { kind: 'skip', reason: 'heartbeat' };
      case 'tombstone':
        return { kind: 'skip', reason: 'tombstone' };
      case 'truncate':
        if ([ctx.topics.cdcOrders, ctx.topics.cdcOrderItems, ctx.topics.cdcStock].includes(rec.topic))
          return toTruncation(rec, decoded.source, ctx);
        return { kind: 'skip', reason: 'truncate' };
      case 'message':
        return { kind: 'skip', reason: 'logical_message' };
      case 'change':
        return rec.topic === ctx.topics.cdcStock ? toStockChange(rec, decoded, ctx) : toEvent(rec, decoded, ctx);
    }
  } catch (e) {
    if (isDecodeError(e)) return { kind: 'dlq', reason: e.reason, error: e.message };
    return { kind: 'dlq', reason: 'internal_error', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}
