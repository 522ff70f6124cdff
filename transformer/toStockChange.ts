// Envelope of `pulso.public.stock_levels` → signed rows for the inventory datasources (rollup/stockDeltas.ts).
// Stock has no clean-event topic: the rows are the product of the change. Pure apart from the dimension tables,
// the dedupe batch and the ledger batch it is given.
import type { ChangeRecord } from './decode/decodeEnvelope.ts';
import { DecodeError } from './decode/errors.ts';
import { decodeZonedTimestamp, instantFromEpochMs } from './decode/decodeTemporal.ts';
import { decodeId, decodeInt } from './decode/values.ts';
import { admit } from './admission.ts';
import type { DimensionTables } from './dimensions.ts';
import type { AssertedStock, LedgerBatch } from './rollup/ledger.ts';
import { stockRetraction, stockRollupChange, type StockState } from './rollup/stockDeltas.ts';
import type { InputRecord, Outcome, OutputRecord, TransformContext } from './transform.ts';

function stockState(change: ChangeRecord, dims: DimensionTables, productId: string): StockState {
  const row = change.after!.columns;
  const int = (col: string) => {
    const v = row[col];
    if (v === null || v === undefined) throw new DecodeError('missing_field', `stock_levels.${col} is missing`);
    return decodeInt(v, `stock_levels.${col}`);
  };
  const storeId = decodeId(row.store_id, 'stock_levels.store_id');
  const store = dims.store(storeId);
  const city = store?.cityId ? dims.city(store.cityId) : undefined;
  return {
    storeId,
    units: int('units'),
    reorderPoint: int('reorder_point'),
    targetUnits: int('target_units'),
    productName: dims.productName(productId),
    storeName: store?.name ?? null,
    city: city?.name ?? null,
    country: city?.countryCode ?? null,
  };
}

/**
 * When the change happened: the row's updated_at (the writer's instant, so a backfilled history lands on its
 * simulated hours as orders do), else the commit time (a delete, or a row without it). A manual UPDATE that leaves
 * updated_at alone is counted at the row's previous updated_at.
 */
function changeInstant(change: ChangeRecord): string {
  const v = change.after?.columns.updated_at;
  if (typeof v === 'string') {
    try {
      return decodeZonedTimestamp(v).iso;
    } catch {
      // not a timestamp: fall back to the commit time
    }
  }
  return instantFromEpochMs(change.source.tsMs).iso;
}

/** One change of a stock row: its signed rows on the stock_deltas topic, or a counted skip if it is a repeat. */
export function toStockChange(rec: InputRecord, change: ChangeRecord, ctx: TransformContext): Outcome {
  const row = (change.op === 'd' ? change.before! : change.after!).columns;
  const pk = decodeId(row.product_id ?? change.key?.product_id, 'stock_levels.product_id');
  const admission = admit(rec, change, ctx, 'stock_levels', pk);
  if (admission.skip) return { kind: 'skip', reason: admission.skip };
  const { position } = admission;
  const changedAt = changeInstant(change);
  const deltaId = `stock_levels:${pk}:${position ? `${position.commitLsn}:${position.lsn}` : `r${change.source.tsMs}`}`;
  const previous = ctx.ledger.stock(pk);
  const ledgerMismatch =
    !!previous && !!change.before && String(previous.units) !== String(change.before.columns.units);
  const next = change.op === 'd' ? null : stockState(change, ctx.dims, pk);
  const delta = stockRollupChange(pk, deltaId, previous, next, changedAt);
  ctx.ledger.setStock(
    pk,
    delta.next && position ? { ...delta.next, commitLsn: position.commitLsn.toString() } : delta.next,
  );
  if (position) ctx.dedupe.markEmitted(rec.topic, rec.partition, position);
  return {
    kind: 'event',
    table: 'stock_levels',
    eventType:
      change.op === 'r' ? 'snapshot' : change.op === 'c' ? 'created' : change.op === 'd' ? 'deleted' : 'updated',
    outputs: [],
    rollup: delta.deltas.map((d) => ({ topic: ctx.topics.stockDeltas, key: pk, value: JSON.stringify(d) })),
    ledgerMismatch,
    sourceTsMs: change.source.tsMs,
    isSnapshot: change.isSnapshot,
    missingStore: next !== null && next.storeName === null,
    missingRate: false,
  };
}

/** TRUNCATE of stock_levels: every stock row asserted before it is retracted (−1 each). */
export function truncateStock(
  ledger: LedgerBatch,
  src: { commitLsn: string; lsn: string; tsMs: number },
  topics: Pick<TransformContext['topics'], 'stockDeltas'>,
): OutputRecord[] {
  const changedAt = instantFromEpochMs(src.tsMs).iso;
  const before = (e: AssertedStock) => e.commitLsn === undefined || BigInt(e.commitLsn) < BigInt(src.commitLsn);
  const out: OutputRecord[] = [];
  for (const [pk, entry] of ledger.asserted('stock_levels')) {
    const stock = entry as AssertedStock;
    if (!before(stock)) continue;
    const row = stockRetraction(pk, `stock_levels:${pk}:${src.commitLsn}:${src.lsn}:truncated`, stock, changedAt);
    out.push({ topic: topics.stockDeltas, key: pk, value: JSON.stringify(row) });
    ledger.setStock(pk, null);
  }
  return out;
}
