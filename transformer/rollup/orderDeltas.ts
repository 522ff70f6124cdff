// Order change → signed rollup rows (docs/dashboards.md, "Signed deltas"). Pure.
//
// The rollup datasources hold, per order, exactly one asserted state: a +1 row when the order appeared, and
// for every later change that moves anything a panel groups or sums by, a −1 row carrying the previously
// asserted state (from the ledger, byte for byte what was asserted) and a +1 row with the new state. A
// delete retracts. A change that moves nothing the panels use gives no rows at all. Summing any measure
// by any dimension therefore yields PostgreSQL's current state, in integers.
//
// Delivery facts are the one thing a sum cannot retract: a quantiles sketch. A fact is asserted once when
// the order becomes delivered (its delivery time feeds the sketch); if the order later leaves that state
// (deleted), a −1 fact without a delivery time retracts the exact count, while the sketch keeps the value.
import type { OrderEvent } from '../events.ts';
import type { AssertedOrder } from './ledger.ts';
import { isNewAccount, isSmallCardDecline, riskMeasures } from './riskFlags.ts';
import { PulsoError } from '../../lib/errors.ts';

/** Delivery stages in order; cancelled is not a stage (an order is cancelled from any of them). */
export const STAGE_RANK: Readonly<Record<string, number>> = {
  placed: 1,
  accepted: 2,
  preparing: 3,
  picked_up: 4,
  delivered: 5,
};

export type Sign = 1 | -1;

/** One row of the `order_deltas` topic (docs/contracts.md). Every measure is sign × the state's value. */
export interface OrderDeltaRow {
  created_at: string;
  order_id: string;
  order_version: number;
  delta_id: string;
  sign: Sign;
  status: string;
  payment_status: string | null;
  payment_method: string | null;
  currency: string;
  city: string | null;
  country: string | null;
  store_category: string | null;
  store_id: string;
  store_name: string | null;
  latitude: number | null;
  longitude: number | null;
  furthest_stage: number;
  orders: number;
  live_orders: number;
  delivered_orders: number;
  cancelled_orders: number;
  total_cents: number;
  live_total_cents: number;
  revenue_cents: number;
  subtotal_cents: number;
  delivery_fee_cents: number;
  discount_cents: number;
  tax_cents: number;
  items: number;
  /** USD measures (transformer/reportingCurrency.ts): the order's total in USD cents, when its date has a rate. */
  usd_total_cents: number;
  usd_live_total_cents: number;
  /** Non-cancelled orders that have a USD amount: the average ticket's denominator. */
  usd_live_orders: number;
  /** Orders whose currency has no rate for their business date: flowing in local currency only. */
  usd_missing_orders: number;
  /** Sales lost to a stock-out: orders cancelled with reason out_of_stock, their total and its USD amount. */
  lost_orders: number;
  lost_total_cents: number;
  lost_usd_cents: number;
  /** The customer, for the per-customer risk datasources (null: asserted before the pipeline kept it). */
  customer_id: string | null;
  /** Risk flags of the order's state as signed counts (riskFlags.ts). */
  failed_payment_orders: number;
  small_card_declines: number;
  refunded_orders: number;
  paid_cancelled_orders: number;
  high_ticket_orders: number;
  new_account_orders: number;
  new_account_high_ticket_orders: number;
}

/** One row of the `order_deliveries` topic: +1 when an order is delivered, −1 (no minutes) if that is undone. */
export interface DeliveryFactRow {
  created_at: string;
  order_id: string;
  delta_id: string;
  sign: Sign;
  delivered_at: string;
  /** Exact delivery time in minutes (2 decimals); null on a retraction so the sketch is not fed twice. */
  delivery_minutes: number | null;
  /** The whole minute the delivery time rounds up to: the exact histogram's bucket. */
  delivery_minute: number;
  currency: string;
  city: string | null;
  country: string | null;
  store_category: string | null;
  deliveries: Sign;
}

export interface OrderRollupChange {
  readonly deltas: OrderDeltaRow[];
  readonly deliveries: DeliveryFactRow[];
  /** The ledger entry after this change; null when the order is gone. */
  readonly next: AssertedOrder | null;
}

/** The state to assert for an order event; `previous` carries the furthest stage reached so far. */
export function assertedOrder(event: OrderEvent, previous: AssertedOrder | undefined): AssertedOrder {
  if (event.created_at === null)
    throw new PulsoError(`order ${event.order_id} has no created_at; the rollup is keyed by it`);
  const stage = STAGE_RANK[event.status] ?? 0;
  const delivered = event.status === 'delivered' && event.delivered_at !== null && event.delivery_minutes !== null;
  return {
    version: event.order_version,
    createdAt: event.created_at,
    status: event.status,
    paymentStatus: event.payment_status,
    paymentMethod: event.payment_method,
    currency: event.currency,
    storeId: event.store_id,
    storeName: event.store_name,
    storeCategory: event.store_category,
    city: event.city,
    country: event.country,
    latitude: event.latitude,
    longitude: event.longitude,
    furthestStage: Math.max(previous?.furthestStage ?? 0, stage),
    totalCents: event.total_cents,
    subtotalCents: event.subtotal_cents,
    deliveryFeeCents: event.delivery_fee_cents,
    discountCents: event.discount_cents,
    taxCents: event.tax_cents,
    items: event.item_count,
    totalUsdCents: event.total_usd_cents,
    cancelReason: typeof event.cancel_reason === 'string' ? event.cancel_reason : null,
    customerId: event.customer_id,
    newAccount: isNewAccount(event.created_at, event.customer_since),
    smallCardDecline: isSmallCardDecline(event.payment_status, event.payment_method, event.total_usd_cents),
    delivery: delivered ? { deliveredAt: event.delivered_at!, minutes: event.delivery_minutes! } : null,
  };
}

/** True when two asserted states put the same numbers in the same rollup groups (the version aside). */
export function sameRollupRow(a: AssertedOrder, b: AssertedOrder): boolean {
  return (
    a.createdAt === b.createdAt &&
    a.status === b.status &&
    a.paymentStatus === b.paymentStatus &&
    a.paymentMethod === b.paymentMethod &&
    a.currency === b.currency &&
    a.storeId === b.storeId &&
    a.storeName === b.storeName &&
    a.storeCategory === b.storeCategory &&
    a.city === b.city &&
    a.country === b.country &&
    a.latitude === b.latitude &&
    a.longitude === b.longitude &&
    a.furthestStage === b.furthestStage &&
    a.totalCents === b.totalCents &&
    a.subtotalCents === b.subtotalCents &&
    a.deliveryFeeCents === b.deliveryFeeCents &&
    a.discountCents === b.discountCents &&
    a.taxCents === b.taxCents &&
    a.items === b.items &&
    a.totalUsdCents === b.totalUsdCents &&
    a.cancelReason === b.cancelReason &&
    a.customerId === b.customerId &&
    a.newAccount === b.newAccount &&
    a.smallCardDecline === b.smallCardDecline
  );
}

export function orderDeltaRow(orderId: string, s: AssertedOrder, sign: Sign, deltaId: string): OrderDeltaRow {
  const live = s.status !== 'cancelled';
  const delivered = s.status === 'delivered';
  return {
    created_at: s.createdAt,
    order_id: orderId,
    order_version: s.version,
    delta_id: deltaId,
    sign,
    status: s.status,
    payment_status: s.paymentStatus,
    payment_method: s.paymentMethod,
    currency: s.currency,
    city: s.city,
    country: s.country,
    store_category: s.storeCategory,
    store_id: s.storeId,
    store_name: s.storeName,
    latitude: s.latitude,
    longitude: s.longitude,
    furthest_stage: s.furthestStage,
    orders: sign,
    live_orders: live ? sign : 0,
    delivered_orders: delivered ? sign : 0,
    cancelled_orders: live ? 0 : sign,
    total_cents: sign * s.totalCents,
    live_total_cents: live ? sign * s.totalCents : 0,
    revenue_cents: delivered ? sign * s.totalCents : 0,
    subtotal_cents: sign * s.subtotalCents,
    delivery_fee_cents: sign * s.deliveryFeeCents,
    discount_cents: sign * s.discountCents,
    tax_cents: sign * s.taxCents,
    items: sign * s.items,
    ...usdMeasures(s, sign, live),
    ...lostSaleMeasures(s, sign),
    customer_id: s.customerId ?? null,
    ...riskMeasures(s, sign),
  };
}

/** A sale lost to a stock-out (cancel_reason out_of_stock); an entry without the reason asserted none. */
function lostSaleMeasures(
  s: AssertedOrder,
  sign: Sign,
): Pick<OrderDeltaRow, 'lost_orders' | 'lost_total_cents' | 'lost_usd_cents'> {
  const lost = s.cancelReason === 'out_of_stock';
  return {
    lost_orders: lost ? sign : 0,
    lost_total_cents: lost ? sign * s.totalCents : 0,
    lost_usd_cents: lost && typeof s.totalUsdCents === 'number' ? sign * s.totalUsdCents : 0,
  };
}

/** An entry asserted before USD reporting (totalUsdCents absent) asserted no USD measure, so it retracts none. */
function usdMeasures(
  s: AssertedOrder,
  sign: Sign,
  live: boolean,
): Pick<OrderDeltaRow, 'usd_total_cents' | 'usd_live_total_cents' | 'usd_live_orders' | 'usd_missing_orders'> {
  const usd = s.totalUsdCents;
  const priced = usd !== null && usd !== undefined;
  return {
    usd_total_cents: priced ? sign * usd : 0,
    usd_live_total_cents: priced && live ? sign * usd : 0,
    usd_live_orders: priced && live ? sign : 0,
    usd_missing_orders: usd === null ? sign : 0,
  };
}

function deliveryFact(orderId: string, s: AssertedOrder, sign: Sign, deltaId: string): DeliveryFactRow {
  const d = s.delivery!;
  return {
    created_at: s.createdAt,
    order_id: orderId,
    delta_id: deltaId,
    sign,
    delivered_at: d.deliveredAt,
    delivery_minutes: sign === 1 ? d.minutes : null,
    delivery_minute: Math.ceil(d.minutes),
    currency: s.currency,
    city: s.city,
    country: s.country,
    store_category: s.storeCategory,
    deliveries: sign,
  };
}

function sameDelivery(a: AssertedOrder, b: AssertedOrder): boolean {
  if (a.delivery === null || b.delivery === null) return a.delivery === b.delivery;
  return (
    a.delivery.deliveredAt === b.delivery.deliveredAt &&
    a.delivery.minutes === b.delivery.minutes &&
    a.createdAt === b.createdAt &&
    a.currency === b.currency &&
    a.city === b.city &&
    a.country === b.country &&
    a.storeCategory === b.storeCategory
  );
}

/**
 * The rows one order change produces. `previous` is the ledger's asserted state (undefined: nothing is
 * asserted for this order yet); `event` is the change's order event, null for a delete.
 */
export function orderRollupChange(
  orderId: string,
  eventId: string,
  previous: AssertedOrder | undefined,
  event: OrderEvent | null,
): OrderRollupChange {
  const next = event === null ? null : assertedOrder(event, previous);
  const deltas: OrderDeltaRow[] = [];
  const deliveries: DeliveryFactRow[] = [];
  if (!(previous && next && sameRollupRow(previous, next))) {
    if (previous) deltas.push(orderDeltaRow(orderId, previous, -1, `${eventId}:-`));
    if (next) deltas.push(orderDeltaRow(orderId, next, 1, `${eventId}:+`));
  }
  const before = previous?.delivery ? previous : null;
  const after = next?.delivery ? next : null;
  if (!(before && after && sameDelivery(before, after))) {
    if (before) deliveries.push(deliveryFact(orderId, before, -1, `${eventId}:-`));
    if (after) deliveries.push(deliveryFact(orderId, after, 1, `${eventId}:+`));
  }
  return { deltas, deliveries, next };
}
