// Stock row change → signed rows for the inventory datasources (docs/dashboards.md, "Inventory"). Pure.
//
// As for orders, the ledger holds the state asserted for each product's stock row; a change retracts it (−1 row,
// byte for byte what was asserted) and asserts the new one (+1 row). Every row of a product is timestamped at
// the instant the row was first seen (`anchored_at`), so the `stock_now` datasource sums, per product, to the
// units PostgreSQL holds now, and compaction folds a product's history into one row: "stock now" is a sum over
// as many rows as there are products, however long the history.
//
// The +1 row also carries what happened at the change's commit instant (`changed_at`): units in and out, and a
// stock-out when the units went from above zero to zero or below. The `stock_movements` datasource reads those
// by `changed_at` (stock-outs per hour, the sales rate behind hours of cover), and only the +1 rows that moved something.
//
// Every row carries its state's class as a dimension (`stock_state`: ok, low, out, negative), so rollup and
// compaction only merge rows of the same class, and a query may filter on it: the rows of one state come as +s and,
// once it is retracted, −s, in the same class. The sum over the rows of the classes low, out and negative is
// therefore the current state if it is in one of them and nothing otherwise: "low stock now" reads the few rows of
// products ever low (a bitmap-indexed filter), not every product.
import type { AssertedStock, StockState } from './ledger.ts';
export type { StockState };
import type { Sign } from './orderDeltas.ts';

/** One row of the `stock_deltas` topic (docs/contracts.md). State measures are sign × the state's value. */
export interface StockDeltaRow {
  anchored_at: string;
  changed_at: string;
  product_id: string;
  delta_id: string;
  sign: Sign;
  store_id: string;
  product_name: string | null;
  store_name: string | null;
  city: string | null;
  country: string | null;
  /** The class of the row's state; a dimension, so only rows of one class roll up together. */
  stock_state: StockClass;
  units: number;
  stock_rows: number;
  /** Units below zero: impossible for a real shelf, so a writer or a manual UPDATE got it wrong. */
  negative_rows: number;
  out_of_stock_rows: number;
  /** At or under the reorder point (and above zero): the next restock tops it up. */
  low_rows: number;
  reorder_point: number;
  target_units: number;
  /** Movements at changed_at, on the +1 row of a change of a known row only (0 on a retraction, 0 at first sight). */
  units_in: number;
  units_out: number;
  stockouts: number;
  /** The units after the change, on the +1 row (null on a retraction): "stock now" beside a movement. */
  stock_after: number | null;
}

export interface StockRollupChange {
  readonly deltas: StockDeltaRow[];
  /** The ledger entry after this change; null when the row is gone. */
  readonly next: AssertedStock | null;
}

export type StockClass = 'ok' | 'low' | 'out' | 'negative';

/** ok above the reorder point; low at or under it; out at zero; negative below (impossible on a shelf). */
export function stockClass(units: number, reorderPoint: number): StockClass {
  return units < 0 ? 'negative' : units === 0 ? 'out' : units <= reorderPoint ? 'low' : 'ok';
}

const sameState = (a: AssertedStock, b: StockState) =>
  a.storeId === b.storeId &&
  a.units === b.units &&
  a.reorderPoint === b.reorderPoint &&
  a.targetUnits === b.targetUnits &&
  a.productName === b.productName &&
  a.storeName === b.storeName &&
  a.city === b.city &&
  a.country === b.country;

function stateRow(productId: string, s: AssertedStock, sign: Sign, deltaId: string, changedAt: string): StockDeltaRow {
  return {
    anchored_at: s.anchoredAt,
    changed_at: changedAt,
    product_id: productId,
    delta_id: deltaId,
    sign,
    store_id: s.storeId,
    product_name: s.productName,
    store_name: s.storeName,
    city: s.city,
    country: s.country,
    stock_state: stockClass(s.units, s.reorderPoint),
    units: sign * s.units,
    stock_rows: sign,
    negative_rows: s.units < 0 ? sign : 0,
    out_of_stock_rows: s.units <= 0 ? sign : 0,
    low_rows: s.units > 0 && s.units <= s.reorderPoint ? sign : 0,
    reorder_point: sign * s.reorderPoint,
    target_units: sign * s.targetUnits,
    units_in: 0,
    units_out: 0,
    stockouts: 0,
    stock_after: null,
  };
}

/**
 * The rows one change of a stock row gives: nothing if it moves nothing a panel uses (a snapshot re-reading the
 * asserted row, an updated_at alone); else −1 of what was asserted and +1 of the new state with its movements.
 * `next` null: the row was deleted (a retraction only).
 */
export function stockRollupChange(
  productId: string,
  deltaId: string,
  previous: AssertedStock | undefined,
  next: StockState | null,
  changedAt: string,
): StockRollupChange {
  if (next && previous && sameState(previous, next)) return { deltas: [], next: previous };
  const deltas: StockDeltaRow[] = [];
  if (previous) deltas.push(stateRow(productId, previous, -1, `${deltaId}:-`, changedAt));
  if (!next) return { deltas, next: null };
  const asserted: AssertedStock = { anchoredAt: previous?.anchoredAt ?? changedAt, ...next };
  const row = stateRow(productId, asserted, 1, `${deltaId}:+`, changedAt);
  row.stock_after = next.units;
  // The first sight of a row (a new product's stock, or every row at the initial snapshot) is a count of what is
  // on the shelf, not a movement: only changes of a row already asserted move units in or out.
  if (!previous) return { deltas: [...deltas, row], next: asserted };
  row.units_in = Math.max(0, next.units - previous.units);
  row.units_out = Math.max(0, previous.units - next.units);
  row.stockouts = previous.units > 0 && next.units <= 0 ? 1 : 0;
  deltas.push(row);
  return { deltas, next: asserted };
}

/** The −1 row of an asserted stock row that a TRUNCATE removed. */
export function stockRetraction(
  productId: string,
  deltaId: string,
  s: AssertedStock,
  changedAt: string,
): StockDeltaRow {
  return stateRow(productId, s, -1, deltaId, changedAt);
}
