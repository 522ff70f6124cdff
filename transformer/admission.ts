// Whether a CDC change is new or a repeat of one already emitted, from the partition's dedupe state: a snapshot
// row by its version, a streamed change by its source position (commit LSN, LSN). Pure apart from the batch.
import type { ChangeRecord } from './decode/decodeEnvelope.ts';
import { DecodeError } from './decode/errors.ts';
import { LSN_REWIND_LIMIT, positionOf, type SourcePosition } from './dedupe.ts';
import type { InputRecord, SkipReason, TransformContext } from './transform.ts';
import { itemSnapshotVersion } from './toOrderItemEvent.ts';

/** Where a change stands against what was emitted: a duplicate to skip, or its position (streamed) or version. */
export type Admission =
  | { readonly skip: SkipReason }
  | { readonly skip?: undefined; readonly position?: SourcePosition; readonly snapshotVersion: string };

export function admit(
  rec: InputRecord,
  change: ChangeRecord,
  ctx: TransformContext,
  table: string,
  pk: string,
): Admission {
  const { dedupe } = ctx;
  if (change.isSnapshot) {
    // A stock row re-read by a snapshot asserts what the ledger holds already: no rows, so nothing to remember.
    if (table === 'stock_levels') return { snapshotVersion: '' };
    const snapshotVersion =
      table === 'orders' ? String(change.after!.columns.version) : itemSnapshotVersion(change.after!.columns);
    return dedupe.isSnapshotDuplicate(table, pk, snapshotVersion)
      ? { skip: 'snapshot_duplicate' }
      : { snapshotVersion };
  }
  const position = positionOf(change);
  if (!position) {
    throw new DecodeError(
      'source_position_missing',
      `${table} ${change.op} of id ${pk} has no source position (commit LSN ${change.source.commitLsn ?? 'null'}, LSN ${change.source.lsn ?? 'null'}), so it cannot be told from a re-emitted duplicate; dead-lettered instead of guessed. Debezium's PostgreSQL connector sets source.sequence and source.lsn on every streamed change: check that no SMT strips them.`,
    );
  }
  if (!dedupe.isDuplicate(rec.topic, rec.partition, position)) return { position, snapshotVersion: '' };
  const { bytes: behind, watermark: wm } = dedupe.behindWatermark(rec.topic, rec.partition, position);
  if (behind > LSN_REWIND_LIMIT) {
    throw new DecodeError(
      'source_position_rewound',
      `${table} ${change.op} of id ${pk} is at commit LSN ${position.commitLsn}, ${behind / 1048576n} MiB of WAL below the last change emitted from ${rec.topic}[${rec.partition}] (${wm?.commitLsn}): no crash replay goes back that far, so the source database was most likely reset or restored while the transformer's state survived. Dead-lettered, not skipped. If the database was rebuilt on purpose, stop the transformer, delete its state topic and consumer group, and replay.`,
    );
  }
  return { skip: 'duplicate' };
}
