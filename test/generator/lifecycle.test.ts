// The order lifecycle state machine and the planner that draws each order's path.
import { describe, expect, it } from 'vitest';
import {
  INITIAL_STATE,
  InvalidTransitionError,
  isTerminal,
  nextLifecycleState,
  planLifecycle,
  type LifecycleEvent,
  type LifecycleState,
} from '../../generator/lifecycle.ts';
import { PAYMENT_PROFILES } from '../../generator/paymentMix.ts';
import { STORE_CATEGORIES } from '../../generator/catalog.ts';
import { Rng } from '../../generator/random.ts';

const S = (status: LifecycleState['status'], paymentStatus: LifecycleState['paymentStatus']): LifecycleState => ({
  status,
  paymentStatus,
});

describe('nextLifecycleState', () => {
  it('walks the happy path placed → accepted → preparing → picked_up → delivered', () => {
    let s = INITIAL_STATE;
    const path: LifecycleEvent[] = ['payment_confirmed', 'accept', 'start_preparing', 'pick_up', 'deliver'];
    const seen = path.map((e) => (s = nextLifecycleState(s, e)));
    expect(seen).toEqual([
      S('placed', 'paid'),
      S('accepted', 'paid'),
      S('preparing', 'paid'),
      S('picked_up', 'paid'),
      S('delivered', 'paid'),
    ]);
    expect(isTerminal(s)).toBe(true);
  });

  it('lets cash be collected at delivery', () => {
    let s = INITIAL_STATE;
    for (const e of ['accept', 'start_preparing', 'pick_up', 'deliver', 'payment_confirmed'] as const)
      s = nextLifecycleState(s, e);
    expect(s).toEqual(S('delivered', 'paid'));
  });

  it('cancels only before pick-up, and refunds only paid, finished orders', () => {
    expect(nextLifecycleState(S('preparing', 'paid'), 'cancel')).toEqual(S('cancelled', 'paid'));
    expect(nextLifecycleState(S('cancelled', 'paid'), 'refund')).toEqual(S('cancelled', 'refunded'));
    expect(nextLifecycleState(S('delivered', 'paid'), 'refund')).toEqual(S('delivered', 'refunded'));
    expect(() => nextLifecycleState(S('picked_up', 'paid'), 'cancel')).toThrow(InvalidTransitionError);
    expect(() => nextLifecycleState(S('delivered', 'paid'), 'cancel')).toThrow(InvalidTransitionError);
    expect(() => nextLifecycleState(S('preparing', 'paid'), 'refund')).toThrow(InvalidTransitionError);
    expect(() => nextLifecycleState(S('cancelled', 'pending'), 'refund')).toThrow(InvalidTransitionError);
  });

  it('rejects skipping steps, going backwards and acting on failed payments', () => {
    expect(() => nextLifecycleState(INITIAL_STATE, 'deliver')).toThrow(/cannot deliver an order that is placed/);
    expect(() => nextLifecycleState(S('accepted', 'paid'), 'pick_up')).toThrow(InvalidTransitionError);
    expect(() => nextLifecycleState(S('preparing', 'paid'), 'accept')).toThrow(InvalidTransitionError);
    expect(() => nextLifecycleState(S('placed', 'failed'), 'accept')).toThrow(InvalidTransitionError);
    expect(() => nextLifecycleState(S('accepted', 'pending'), 'payment_failed')).toThrow(InvalidTransitionError);
    expect(() => nextLifecycleState(S('placed', 'paid'), 'payment_confirmed')).toThrow(InvalidTransitionError);
  });
});

describe('planLifecycle', () => {
  const rng = new Rng('plans');
  const methods = Object.values(PAYMENT_PROFILES);
  const plans = Array.from({ length: 40_000 }, (_, i) => {
    const payment = methods[i % methods.length]!;
    const category = STORE_CATEGORIES[i % STORE_CATEGORIES.length]!;
    return { payment, category, steps: planLifecycle(rng, payment, category) };
  });
  const replay = (steps: { events: readonly LifecycleEvent[] }[]) =>
    steps.reduce((s, step) => step.events.reduce(nextLifecycleState, s), INITIAL_STATE);

  it('always plans valid transitions, in increasing time, ending in a terminal state', () => {
    for (const p of plans) {
      const end = replay(p.steps); // throws on any invalid transition
      expect(isTerminal(end)).toBe(true);
      for (let i = 1; i < p.steps.length; i++) expect(p.steps[i]!.afterMs).toBeGreaterThan(p.steps[i - 1]!.afterMs);
    }
  });

  it('cancels a few percent of orders and refunds paid cancellations', () => {
    const ends = plans.map((p) => replay(p.steps));
    const cancelled = ends.filter((e) => e.status === 'cancelled').length / ends.length;
    const delivered = ends.filter((e) => e.status === 'delivered').length / ends.length;
    expect(cancelled).toBeGreaterThan(0.03);
    expect(cancelled).toBeLessThan(0.12);
    expect(delivered).toBeGreaterThan(0.88);
    expect(ends.some((e) => e.status === 'cancelled' && e.paymentStatus === 'paid')).toBe(false); // every paid cancellation is refunded
    const refundedDeliveries =
      ends.filter((e) => e.status === 'delivered' && e.paymentStatus === 'refunded').length / ends.length;
    expect(refundedDeliveries).toBeGreaterThan(0.005);
    expect(refundedDeliveries).toBeLessThan(0.03);
  });

  it('takes realistic times: delivered within about 15–90 minutes, restaurants slower than liquor stores', () => {
    const deliveryMinutes = (category: string) =>
      plans
        .filter((p) => p.category === category)
        .map((p) => p.steps.find((s) => s.events.includes('deliver'))?.afterMs)
        .filter((ms): ms is number => ms !== undefined)
        .map((ms) => ms / 60_000)
        .sort((a, b) => a - b);
    const restaurant = deliveryMinutes('restaurant');
    const liquor = deliveryMinutes('liquor');
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    expect(median(restaurant)).toBeGreaterThan(20);
    expect(median(restaurant)).toBeLessThan(50);
    expect(median(liquor)).toBeLessThan(median(restaurant));
    expect(restaurant[0]!).toBeGreaterThan(5);
  });

  it('confirms online payments before acceptance and collects cash at the door', () => {
    for (const p of plans.slice(0, 5000)) {
      const events = p.steps.flatMap((s) => s.events);
      if (p.payment.settlement === 'on_delivery' && events.includes('deliver')) {
        expect(p.steps.find((s) => s.events.includes('deliver'))!.events).toEqual(['deliver', 'payment_confirmed']);
      }
      if (p.payment.settlement === 'online' && events.includes('accept')) {
        expect(events.indexOf('payment_confirmed')).toBeLessThan(events.indexOf('accept'));
      }
    }
  });
});
