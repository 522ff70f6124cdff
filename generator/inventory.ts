// Stock in the marketplace model (sql/007_inventory.sql). Pure: it decides, from the model's stock, what an
// acceptance, a cancel or a restock does to it. The writer applies the same moves to stock_levels as increments
// (units = units + delta), so the database follows the model, and a manual change in the database stays in it.
import { nextLifecycleState, type LifecycleEvent, type LifecycleState } from './lifecycle.ts';
import type { ProductModel } from './world.ts';

export type CancelReason = 'out_of_stock' | 'customer';

/** Units a step or a restock adds to (positive) or takes from (negative) one product's stock. */
export interface StockMove {
  readonly product: ProductModel;
  readonly delta: number;
}

interface Line {
  readonly product: ProductModel;
  readonly quantity: number;
}

export interface StepStock {
  /** The lifecycle events the step applies (a rejection replaces the acceptance with a cancel). */
  readonly events: readonly LifecycleEvent[];
  /** True: an item is short, the order is cancelled with reason out_of_stock and its lifecycle ends. */
  readonly rejected: boolean;
  readonly cancelReason: CancelReason;
  readonly stock: readonly StockMove[];
}

/** Whether every line is in stock (a product without a stock row always is). */
export function inStock(lines: readonly Line[]): boolean {
  return lines.every((l) => l.product.stock === null || l.product.stock.units >= l.quantity);
}

/**
 * The store accepts: each line's quantity is reserved. Short of any item, the order is rejected instead: the
 * events before the acceptance (a payment confirmation) still happen, then a cancel, and a refund if it was paid.
 */
export function acceptanceOutcome(
  lines: readonly Line[],
  events: readonly LifecycleEvent[],
  state: LifecycleState,
): StepStock {
  if (inStock(lines)) {
    const stock: StockMove[] = [];
    for (const l of lines) {
      if (l.product.stock === null) continue;
      l.product.stock.units -= l.quantity;
      stock.push({ product: l.product, delta: -l.quantity });
    }
    return { events, rejected: false, cancelReason: 'customer', stock };
  }
  const before = events.slice(0, events.indexOf('accept'));
  let s = state;
  for (const e of before) s = nextLifecycleState(s, e);
  const rejection: LifecycleEvent[] = [...before, 'cancel', ...(s.paymentStatus === 'paid' ? ['refund' as const] : [])];
  return { events: rejection, rejected: true, cancelReason: 'out_of_stock', stock: [] };
}

/** An accepted order is cancelled: what it reserved goes back on the shelf. */
export function returnedStock(lines: readonly Line[]): StockMove[] {
  const stock: StockMove[] = [];
  for (const l of lines) {
    if (l.product.stock === null) continue;
    l.product.stock.units += l.quantity;
    stock.push({ product: l.product, delta: l.quantity });
  }
  return stock;
}

/** The scheduled restock: every product at or under its reorder point goes back to its target. */
export function restockMoves(products: readonly ProductModel[]): StockMove[] {
  const stock: StockMove[] = [];
  for (const p of products) {
    if (p.stock === null || p.stock.units > p.stock.reorderPoint) continue;
    const delta = p.stock.targetUnits - p.stock.units;
    p.stock.units = p.stock.targetUnits;
    stock.push({ product: p, delta });
  }
  return stock;
}
