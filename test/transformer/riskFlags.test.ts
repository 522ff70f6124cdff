// Per-order risk flags: what an order's state counts for, and that a later change moves the count exactly.
import { describe, expect, it } from 'vitest';
import type { AssertedOrder } from '../../transformer/rollup/ledger.ts';
import { orderDeltaRow } from '../../transformer/rollup/orderDeltas.ts';
import { assertedOrder } from '../../transformer/rollup/orderDeltas.ts';
import {
  HIGH_TICKET_USD_CENTS,
  isNewAccount,
  isSmallCardDecline,
  riskMeasures,
  SMALL_CARD_DECLINE_USD_CENTS,
} from '../../transformer/rollup/riskFlags.ts';
import type { OrderEvent } from '../../transformer/events.ts';

const base: AssertedOrder = {
  version: 1,
  createdAt: '2026-12-07T10:00:00.000Z',
  status: 'placed',
  paymentStatus: 'pending',
  paymentMethod: 'credit_card',
  currency: 'BRL',
  storeId: '42',
  storeName: 'Padaria',
  storeCategory: 'restaurant',
  city: 'São Paulo',
  country: 'BR',
  latitude: null,
  longitude: null,
  furthestStage: 1,
  totalCents: 10_000,
  subtotalCents: 10_000,
  deliveryFeeCents: 0,
  discountCents: 0,
  taxCents: 0,
  items: 1,
  totalUsdCents: 1_900,
  cancelReason: null,
  customerId: '501',
  newAccount: false,
  delivery: null,
};

describe('risk flags', () => {
  it('a new account is one that signed up less than a day before the order', () => {
    expect(isNewAccount('2026-12-07T10:00:00Z', '2026-12-07T09:00:00Z')).toBe(true);
    expect(isNewAccount('2026-12-07T10:00:00Z', '2026-12-06T10:00:00Z')).toBe(false);
    expect(isNewAccount('2026-12-07T10:00:00Z', null)).toBe(false);
    expect(isNewAccount('2026-12-07T10:00:00Z', '2026-12-08T10:00:00Z')).toBe(false); // signed up after: not trusted
  });

  it('counts declines, refunded deliveries, cancellations after payment and high tickets of new accounts', () => {
    expect(riskMeasures({ ...base, paymentStatus: 'failed', status: 'cancelled' }, 1)).toMatchObject({
      failed_payment_orders: 1,
      paid_cancelled_orders: 0,
    });
    expect(riskMeasures({ ...base, status: 'delivered', paymentStatus: 'refunded' }, 1).refunded_orders).toBe(1);
    expect(riskMeasures({ ...base, status: 'cancelled', paymentStatus: 'refunded' }, -1)).toMatchObject({
      paid_cancelled_orders: -1,
      refunded_orders: 0,
    });
    const big = { ...base, totalUsdCents: HIGH_TICKET_USD_CENTS, newAccount: true };
    expect(riskMeasures(big, 1)).toMatchObject({
      high_ticket_orders: 1,
      new_account_orders: 1,
      new_account_high_ticket_orders: 1,
    });
    expect(riskMeasures({ ...big, totalUsdCents: HIGH_TICKET_USD_CENTS - 1 }, 1).high_ticket_orders).toBe(0);
  });

  it('an entry asserted before the flags existed retracts none, and a refund moves one count exactly', () => {
    const { customerId: _c, newAccount: _n, ...legacy } = { ...base, paymentStatus: 'failed' };
    expect(Object.values(riskMeasures(legacy, -1)).every((v) => v === 0)).toBe(true);
    const delivered = { ...base, status: 'delivered', paymentStatus: 'paid' };
    const refunded = { ...delivered, paymentStatus: 'refunded' };
    const minus = orderDeltaRow('1', delivered, -1, 'a');
    const plus = orderDeltaRow('1', refunded, 1, 'b');
    expect(minus.refunded_orders + plus.refunded_orders).toBe(1);
    expect(minus.customer_id).toBe('501');
  });

  it('a small card decline is a declined credit or debit card payment under 10 USD, and nothing else', () => {
    const under = SMALL_CARD_DECLINE_USD_CENTS - 1;
    expect(isSmallCardDecline('failed', 'credit_card', under)).toBe(true);
    expect(isSmallCardDecline('failed', 'debit_card', 0)).toBe(true);
    expect(isSmallCardDecline('failed', 'credit_card', SMALL_CARD_DECLINE_USD_CENTS)).toBe(false); // 10 USD is not small
    expect(isSmallCardDecline('failed', 'pix', under)).toBe(false); // not a card
    expect(isSmallCardDecline('paid', 'credit_card', under)).toBe(false);
    expect(isSmallCardDecline('failed', 'credit_card', null)).toBe(false); // no rate at the business date
    expect(isSmallCardDecline('failed', null, under)).toBe(false);
  });

  it('a small card decline is decided when asserted, so its retraction moves exactly what was asserted', () => {
    const event = {
      order_id: '9',
      order_version: 2,
      created_at: base.createdAt,
      status: 'cancelled',
      payment_status: 'failed',
      payment_method: 'credit_card',
      total_usd_cents: 350,
      customer_since: null,
      customer_id: '501',
      delivered_at: null,
      delivery_minutes: null,
    } as unknown as OrderEvent;
    const declined = assertedOrder(event, undefined);
    expect(declined.smallCardDecline).toBe(true);
    expect(orderDeltaRow('9', declined, 1, 'a').small_card_declines).toBe(1);
    expect(orderDeltaRow('9', declined, -1, 'b').small_card_declines).toBe(-1);
    // Asserted by a transformer that did not know the measure: it asserted none, so its retraction takes none.
    const { smallCardDecline: _s, ...legacy } = declined;
    expect(riskMeasures(legacy, -1).small_card_declines).toBe(0);
    expect(riskMeasures(legacy, -1).failed_payment_orders).toBe(-1);
  });
});
