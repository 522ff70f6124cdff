// A TRUNCATE of orders or order_items → the exact retraction of everything the ledger asserted for that table.
// Pure. Debezium carries a truncate as one record without rows (op t), but the rollup ledger knows every row
// the rollups hold, so each is retracted with its own −1 row (byte for byte what was asserted, as a delete
// would), and each gets a `truncated` event in the event topic, so the event datasource marks it too. After
// it, Druid's rollups equal the empty table; later inserts assert as usual.
import type { OrderEvent, OrderItemEvent } from '../events.ts';
import type { OutputRecord } from '../transform.ts';
import type { TransformTopics } from '../transform.ts';
import { itemRetraction } from './itemDeltas.ts';
import type { AssertedItem, AssertedOrder, LedgerBatch } from './ledger.ts';
import { orderRollupChange } from './orderDeltas.ts';

export interface TruncateSource {
  readonly commitLsn: string;
  readonly lsn: string;
  readonly txId: string | null;
  readonly tsMs: number;
}

/** Cents as the decimal number the event topics carry (exact for every amount that passed decoding). */
function amount(cents: number): number {
  const negative = cents < 0;
  const digits = String(Math.abs(cents)).padStart(3, '0');
  return Number(`${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`);
}

function truncatedOrderEvent(
  orderId: string,
  o: AssertedOrder,
  eventId: string,
  src: TruncateSource,
  nowMs: number,
): OrderEvent {
  return {
    event_id: eventId,
    event_type: 'truncated',
    order_id: orderId,
    order_version: o.version,
    status: o.status,
    previous_status: o.status,
    payment_status: o.paymentStatus,
    payment_method: o.paymentMethod,
    currency: o.currency,
    subtotal: amount(o.subtotalCents),
    delivery_fee: amount(o.deliveryFeeCents),
    discount: amount(o.discountCents),
    tax: amount(o.taxCents),
    total: amount(o.totalCents),
    subtotal_cents: o.subtotalCents,
    delivery_fee_cents: o.deliveryFeeCents,
    discount_cents: o.discountCents,
    tax_cents: o.taxCents,
    total_cents: o.totalCents,
    // The ledger keeps the USD amount it asserted, not the date and rate behind it.
    business_date: null,
    usd_per_unit: null,
    total_usd: o.totalUsdCents === null || o.totalUsdCents === undefined ? null : o.totalUsdCents / 100,
    total_usd_cents: o.totalUsdCents ?? null,
    item_count: o.items,
    customer_id: o.customerId ?? null,
    customer_since: null,
    store_id: o.storeId,
    city_id: null,
    store_name: o.storeName,
    store_category: o.storeCategory,
    city: o.city,
    country: o.country,
    latitude: o.latitude,
    longitude: o.longitude,
    event_time: new Date(src.tsMs).toISOString(),
    created_at: o.createdAt,
    delivered_at: o.delivery?.deliveredAt ?? null,
    delivery_minutes: o.delivery?.minutes ?? null,
    is_deleted: 1,
    source_lsn: src.lsn,
    source_commit_lsn: src.commitLsn,
    source_tx_id: src.txId,
    source_ts_ms: src.tsMs,
    transformed_at_ms: nowMs,
  };
}

function truncatedItemEvent(itemId: string, i: AssertedItem, eventId: string, src: TruncateSource): OrderItemEvent {
  return {
    event_id: eventId,
    event_type: 'truncated',
    item_id: itemId,
    order_id: i.orderId,
    product_id: i.productId,
    product_name: i.productName,
    quantity: i.quantity,
    unit_price: null,
    unit_price_cents: null,
    line_total: amount(i.lineTotalCents),
    line_total_cents: i.lineTotalCents,
    event_time: new Date(src.tsMs).toISOString(),
    source_lsn: src.lsn,
    source_ts_ms: src.tsMs,
    is_deleted: 1,
  };
}

export interface Truncation {
  readonly outputs: OutputRecord[];
  readonly rollup: OutputRecord[];
  /** Rows retracted. */
  readonly retracted: number;
}

/** Retracts every asserted row of `table` in `ledger` (the batch records the ledger tombstones). */
export function truncateTable(
  table: 'orders' | 'order_items',
  ledger: LedgerBatch,
  src: TruncateSource,
  topics: TransformTopics,
  nowMs: number,
): Truncation {
  const outputs: OutputRecord[] = [];
  const rollup: OutputRecord[] = [];
  // Only what was committed before the truncate: through another partition, a row inserted after it can have
  // been asserted before the truncate reached this partition (a forwarded copy).
  const before = (e: { readonly commitLsn?: string }) =>
    e.commitLsn === undefined || BigInt(e.commitLsn) < BigInt(src.commitLsn);
  const asserted = ledger.asserted(table).filter(([, e]) => before(e));
  for (const [pk, entry] of asserted) {
    const eventId = `${table}:${pk}:${src.commitLsn}:${src.lsn}:truncated`;
    if (table === 'orders') {
      const order = entry as AssertedOrder;
      outputs.push({
        topic: topics.orders,
        key: pk,
        value: JSON.stringify(truncatedOrderEvent(pk, order, eventId, src, nowMs)),
      });
      const change = orderRollupChange(pk, eventId, order, null);
      for (const d of change.deltas) rollup.push({ topic: topics.orderDeltas, key: pk, value: JSON.stringify(d) });
      for (const d of change.deliveries) rollup.push({ topic: topics.deliveries, key: pk, value: JSON.stringify(d) });
      ledger.setOrder(pk, null);
    } else {
      const item = entry as AssertedItem;
      const key = item.orderId ?? pk;
      outputs.push({
        topic: topics.orderItems,
        key,
        value: JSON.stringify(truncatedItemEvent(pk, item, eventId, src)),
      });
      rollup.push({ topic: topics.itemDeltas, key, value: JSON.stringify(itemRetraction(pk, eventId, item)) });
      ledger.setItem(pk, null);
    }
  }
  return { outputs, rollup, retracted: asserted.length };
}
