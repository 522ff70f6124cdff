// Envelope of `pulso.public.orders` + dimension tables → OrderEvent (docs/contracts.md). Pure.
import type { ChangeRecord } from './decode/decodeEnvelope.ts';
import { centsToJsonNumber, decimalToJsonNumber, decodeMoney, type Money } from './decode/decodeDecimal.ts';
import { DecodeError } from './decode/errors.ts';
import { decodeDateDays, decodeZonedTimestamp, instantFromEpochMs, type Instant } from './decode/decodeTemporal.ts';
import { decodeId, decodeInt, decodeOptionalString, decodeString } from './decode/values.ts';
import type { DimensionTables } from './dimensions.ts';
import type { OrderEvent, OrderEventType } from './events.ts';
import { usdAmount, type UsdAmount } from './reportingCurrency.ts';

/** Columns of `orders` that the contract maps explicitly; any other column is passed through. */
const KNOWN_ORDER_COLUMNS = new Set([
  'id',
  'customer_id',
  'store_id',
  'address_id',
  'status',
  'payment_method',
  'payment_status',
  'currency',
  'subtotal',
  'delivery_fee',
  'discount',
  'tax',
  'total',
  'item_count',
  'business_date',
  'created_at',
  'updated_at',
  'delivered_at',
  'version',
  'notes',
]);
const MONEY_COLUMNS = ['subtotal', 'delivery_fee', 'discount', 'tax', 'total'] as const;

/** Stable event id: `<table>:<pk>:<commit_lsn>:<lsn>`, snapshot rows `<table>:<pk>:snapshot:<version>`. */
export function changeEventId(table: string, pk: string, change: ChangeRecord, snapshotVersion: string): string {
  if (change.isSnapshot) return `${table}:${pk}:snapshot:${snapshotVersion}`;
  return `${table}:${pk}:${change.source.commitLsn ?? '0'}:${change.source.lsn ?? '0'}`;
}

function money(row: Readonly<Record<string, unknown>>, col: string): Money {
  const v = row[col];
  if (v === null || v === undefined) throw new DecodeError('missing_field', `orders.${col} is missing`);
  return decodeMoney(v);
}

function optionalInstant(v: unknown): Instant | null {
  return v === null || v === undefined ? null : decodeZonedTimestamp(v);
}

/**
 * Which business change an update is. A status change wins over a payment change in the same update
 * (the status is the order's lifecycle; payment_status is still in the event). Without a `before`
 * (replica identity not FULL) nothing can be compared, so it is a plain `updated`.
 */
export function orderEventType(change: ChangeRecord): OrderEventType {
  switch (change.op) {
    case 'r':
      return 'snapshot';
    case 'c':
      return 'created';
    case 'd':
      return 'deleted';
    case 'u': {
      const before = change.before?.columns;
      const after = change.after!.columns;
      if (!before || before.status === undefined) return 'updated';
      if (before.status !== after.status) return 'status_changed';
      if (before.payment_status !== after.payment_status) {
        if (after.payment_status === 'paid') return 'paid';
        if (after.payment_status === 'refunded') return 'refunded';
      }
      return 'updated';
    }
  }
}

/**
 * The order's business date (the store's local date, orders.business_date) and its USD amount at that date's
 * rate. An order without a business date, or whose currency has no rate for it, has no USD amount: it still
 * flows in its own currency and the rollups count it as missing a rate (never guessed, never dropped).
 */
function businessDateAndUsd(
  row: Readonly<Record<string, unknown>>,
  currency: string,
  totalCents: bigint,
  dims: DimensionTables,
): { businessDate: string | null; usd: UsdAmount } {
  const raw = row.business_date;
  if (raw === null || raw === undefined || typeof raw !== 'number')
    return { businessDate: null, usd: usdAmount(totalCents, undefined) };
  return { businessDate: decodeDateDays(raw), usd: usdAmount(totalCents, dims.usdPerUnit(currency, raw)) };
}

/** The extra-column name used for a column the contract does not know (never shadows a contract field). */
function passThroughName(col: string, event: Record<string, unknown>): string {
  return col in event ? `src_${col}` : col;
}

export function toOrderEvent(change: ChangeRecord, dims: DimensionTables, transformedAtMs: number): OrderEvent {
  const image = change.op === 'd' ? change.before! : change.after!;
  const row = image.columns;
  const orderId = decodeId(row.id, 'orders.id');
  const version = decodeInt(row.version, 'orders.version');
  const storeId = decodeId(row.store_id, 'orders.store_id');
  const eventType = orderEventType(change);
  const amounts = {
    subtotal: money(row, 'subtotal'),
    delivery_fee: money(row, 'delivery_fee'),
    discount: money(row, 'discount'),
    tax: money(row, 'tax'),
    total: money(row, 'total'),
  } satisfies Record<(typeof MONEY_COLUMNS)[number], Money>;
  const createdAt = optionalInstant(row.created_at);
  const deliveredAt = optionalInstant(row.delivered_at);
  const eventTime = change.isSnapshot
    ? decodeZonedTimestamp(row.updated_at ?? row.created_at ?? null)
    : instantFromEpochMs(change.source.tsMs);
  const store = dims.store(storeId);
  const city = store?.cityId ? dims.city(store.cityId) : undefined;
  const previousStatus =
    change.op === 'u' ? decodeOptionalString(change.before?.columns.status, 'before.status') : null;
  const currency = decodeString(row.currency, 'orders.currency');
  const customerId =
    row.customer_id === null || row.customer_id === undefined ? null : decodeId(row.customer_id, 'orders.customer_id');
  const { businessDate, usd } = businessDateAndUsd(row, currency, amounts.total.cents, dims);

  const event: OrderEvent = {
    event_id: changeEventId('orders', orderId, change, String(version)),
    event_type: eventType,
    order_id: orderId,
    order_version: version,
    status: decodeString(row.status, 'orders.status'),
    previous_status: previousStatus,
    payment_status: decodeOptionalString(row.payment_status, 'orders.payment_status'),
    payment_method: decodeOptionalString(row.payment_method, 'orders.payment_method'),
    currency,
    subtotal: decimalToJsonNumber(amounts.subtotal),
    delivery_fee: decimalToJsonNumber(amounts.delivery_fee),
    discount: decimalToJsonNumber(amounts.discount),
    tax: decimalToJsonNumber(amounts.tax),
    total: decimalToJsonNumber(amounts.total),
    subtotal_cents: centsToJsonNumber(amounts.subtotal.cents),
    delivery_fee_cents: centsToJsonNumber(amounts.delivery_fee.cents),
    discount_cents: centsToJsonNumber(amounts.discount.cents),
    tax_cents: centsToJsonNumber(amounts.tax.cents),
    total_cents: centsToJsonNumber(amounts.total.cents),
    business_date: businessDate,
    usd_per_unit: usd.usdPerUnit,
    total_usd: usd.totalUsdCents === null ? null : Number(usd.totalUsdCents) / 100,
    total_usd_cents: usd.totalUsdCents === null ? null : centsToJsonNumber(usd.totalUsdCents),
    item_count: decodeInt(row.item_count, 'orders.item_count'),
    customer_id: customerId,
    customer_since: customerId === null ? null : (dims.customerSince(customerId) ?? null),
    store_id: storeId,
    city_id: store?.cityId ?? null,
    store_name: store?.name ?? null,
    store_category: store?.category ?? null,
    city: city?.name ?? null,
    country: city?.countryCode ?? null,
    latitude: store?.latitude ?? null,
    longitude: store?.longitude ?? null,
    event_time: eventTime.iso,
    created_at: createdAt?.iso ?? null,
    delivered_at: deliveredAt?.iso ?? null,
    delivery_minutes:
      createdAt && deliveredAt ? Math.round(((deliveredAt.epochMs - createdAt.epochMs) / 60_000) * 100) / 100 : null,
    is_deleted: change.op === 'd' ? 1 : 0,
    source_lsn: change.source.lsn,
    source_commit_lsn: change.source.commitLsn,
    source_tx_id: change.source.txId,
    source_ts_ms: change.source.tsMs,
    transformed_at_ms: transformedAtMs,
  };
  for (const col in row) {
    if (!KNOWN_ORDER_COLUMNS.has(col)) event[passThroughName(col, event)] = row[col];
  }
  return event;
}
