// Envelope of `pulso.public.order_items` → OrderItemEvent (docs/contracts.md). Pure.
// Deletes under REPLICA IDENTITY DEFAULT carry only the primary key in `before`: the event then says
// which item went away (item_id, is_deleted=1) and leaves the unknown fields null rather than guessing.
import type { ChangeRecord } from './decode/decodeEnvelope.ts';
import { centsToJsonNumber, decimalToJsonNumber, decodeMoney } from './decode/decodeDecimal.ts';
import { DecodeError } from './decode/errors.ts';
import { instantFromEpochMs } from './decode/decodeTemporal.ts';
import { decodeId, decodeInt, decodeString } from './decode/values.ts';
import type { OrderItemEvent, OrderItemEventType } from './events.ts';
import { changeEventId } from './toOrderEvent.ts';

function itemEventType(op: ChangeRecord['op']): OrderItemEventType {
  return op === 'r' ? 'snapshot' : op === 'c' ? 'created' : op === 'd' ? 'deleted' : 'updated';
}

/** A stable fingerprint of an item row: order_items has no version column, so snapshot ids use this. */
export function itemSnapshotVersion(row: Readonly<Record<string, unknown>>): string {
  return `${String(row.quantity)}x${String(row.unit_price)}`;
}

export function toOrderItemEvent(change: ChangeRecord): OrderItemEvent {
  const isDelete = change.op === 'd';
  const row = (isDelete ? change.before! : change.after!).columns;
  const itemId = decodeId(row.id, 'order_items.id');
  // Fields are required on c/u/r; on a key-only delete they are optional.
  const required = !isDelete;
  const opt = <T>(col: string, decode: (v: unknown) => T): T | null => {
    const v = row[col];
    if (v === null || v === undefined) {
      if (required) throw new DecodeError('missing_field', `order_items.${col} is missing`);
      return null;
    }
    return decode(v);
  };
  const unitPrice = opt('unit_price', decodeMoney);
  const lineTotal = opt('line_total', decodeMoney);
  return {
    event_id: changeEventId('order_items', itemId, change, itemSnapshotVersion(row)),
    event_type: itemEventType(change.op),
    item_id: itemId,
    order_id: opt('order_id', (v) => decodeId(v, 'order_items.order_id')),
    product_id: opt('product_id', (v) => decodeId(v, 'order_items.product_id')),
    product_name: opt('product_name', (v) => decodeString(v, 'order_items.product_name')),
    quantity: opt('quantity', (v) => decodeInt(v, 'order_items.quantity')),
    unit_price: unitPrice ? decimalToJsonNumber(unitPrice) : null,
    unit_price_cents: unitPrice ? centsToJsonNumber(unitPrice.cents) : null,
    line_total: lineTotal ? decimalToJsonNumber(lineTotal) : null,
    line_total_cents: lineTotal ? centsToJsonNumber(lineTotal.cents) : null,
    event_time: instantFromEpochMs(change.source.tsMs).iso,
    source_lsn: change.source.lsn,
    source_ts_ms: change.source.tsMs,
    is_deleted: isDelete ? 1 : 0,
  };
}
