// Order-item change → signed rows of the product rollup (`order_item_deltas`). Pure. Same scheme as
// orderDeltas.ts: −1 with the asserted state, +1 with the new one, nothing when no panel number moves.
import type { OrderItemEvent } from '../events.ts';
import type { AssertedItem } from './ledger.ts';
import type { Sign } from './orderDeltas.ts';
import { PulsoError } from '../../lib/errors.ts';

export interface ItemDeltaRow {
  /** The item's first-seen time (its insert's commit time); retractions repeat it exactly. */
  first_seen: string;
  item_id: string;
  order_id: string | null;
  delta_id: string;
  sign: Sign;
  product_id: string;
  product_name: string;
  items: Sign;
  units: number;
  line_total_cents: number;
}

export interface ItemRollupChange {
  readonly deltas: ItemDeltaRow[];
  readonly next: AssertedItem | null;
}

function itemRow(itemId: string, s: AssertedItem, sign: Sign, deltaId: string): ItemDeltaRow {
  return {
    first_seen: s.firstSeen,
    item_id: itemId,
    order_id: s.orderId,
    delta_id: deltaId,
    sign,
    product_id: s.productId,
    product_name: s.productName,
    items: sign,
    units: sign * s.quantity,
    line_total_cents: sign * s.lineTotalCents,
  };
}

/** The state to assert for an item event (c/u/r); the first-seen time survives updates. */
export function assertedItem(event: OrderItemEvent, previous: AssertedItem | undefined): AssertedItem {
  if (
    event.product_id === null ||
    event.product_name === null ||
    event.quantity === null ||
    event.line_total_cents === null
  ) {
    throw new PulsoError(`order item ${event.item_id} lacks product, quantity or line total`);
  }
  return {
    firstSeen: previous?.firstSeen ?? event.event_time,
    orderId: event.order_id,
    productId: event.product_id,
    productName: event.product_name,
    quantity: event.quantity,
    lineTotalCents: event.line_total_cents,
  };
}

function same(a: AssertedItem, b: AssertedItem): boolean {
  return (
    a.firstSeen === b.firstSeen &&
    a.productId === b.productId &&
    a.productName === b.productName &&
    a.quantity === b.quantity &&
    a.lineTotalCents === b.lineTotalCents
  );
}

/** The −1 row that retracts an asserted item (a TRUNCATE of order_items). */
export function itemRetraction(itemId: string, eventId: string, asserted: AssertedItem): ItemDeltaRow {
  return itemRow(itemId, asserted, -1, `${eventId}:-`);
}

/** `event` is the item's event; a delete (is_deleted = 1) retracts whatever is asserted. */
export function itemRollupChange(
  itemId: string,
  eventId: string,
  previous: AssertedItem | undefined,
  event: OrderItemEvent,
): ItemRollupChange {
  const next = event.is_deleted === 1 ? null : assertedItem(event, previous);
  if (previous && next && same(previous, next)) return { deltas: [], next };
  const deltas: ItemDeltaRow[] = [];
  if (previous) deltas.push(itemRow(itemId, previous, -1, `${eventId}:-`));
  if (next) deltas.push(itemRow(itemId, next, 1, `${eventId}:+`));
  return { deltas, next };
}
