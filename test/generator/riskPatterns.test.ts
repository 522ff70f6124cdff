// Injected suspicious behaviour in the pure event stream: each episode has the shape its pattern promises, the
// honest marketplace draws the same orders with or without injection, and a share of 0 injects nothing.
import { describe, expect, it } from 'vitest';
import { EventStream, type GenEvent, type LiveOrder } from '../../generator/eventStream.ts';
import { syntheticWorld } from './syntheticWorld.ts';

const START = Date.UTC(2025, 2, 14, 15, 0);
const run = (riskShare: number, hours = 8) => {
  const world = syntheticWorld('risk');
  const stream = new EventStream(world, {
    seed: 'r',
    startMs: START,
    ordersPerSimSecond: 1,
    curve: 'flat',
    riskShare,
  });
  return { world, stream, events: stream.take(START + hours * 3600_000) };
};
const ordersOf = (events: GenEvent[], pred: (o: LiveOrder) => boolean) =>
  events.flatMap((e) => (e.kind === 'create' && pred(e.order) ? [e.order] : []));
const declinedOrders = (events: GenEvent[]) =>
  new Set(events.flatMap((e) => (e.kind === 'step' && e.to.paymentStatus === 'failed' ? [e.order] : [])));

describe('risk patterns in the event stream', () => {
  const { world, stream, events } = run(0.01);
  // Episodes that started at least an hour before the end of the run have all their orders in it.
  const injected = stream.risk.injected.filter((r) => r.atMs < START + 7 * 3600_000);
  const declined = declinedOrders(events);

  it('injects every pattern, and some stores misbehave', () => {
    const patterns = new Set(injected.map((r) => r.pattern));
    expect(patterns).toEqual(new Set(['card_testing', 'refund_abuse', 'new_account', 'store_cancellations']));
  });

  it('card testing: a burst of 8 or more declined payments within 10 minutes', () => {
    for (const r of injected.filter((x) => x.pattern === 'card_testing')) {
      const episode = (o: LiveOrder) =>
        o.pattern === 'card_testing' &&
        o.customer === r.customer &&
        o.createdAtMs >= r.atMs &&
        o.createdAtMs < r.atMs + 15 * 60_000;
      const burst = ordersOf(events, episode).filter((o) => declined.has(o));
      expect(burst.length).toBeGreaterThanOrEqual(8);
      const span = Math.max(...burst.map((o) => o.createdAtMs)) - Math.min(...burst.map((o) => o.createdAtMs));
      expect(span).toBeLessThanOrEqual(10 * 60_000);
      // One unit of the cheapest product of the city's stores that were open then (stores pause and reopen, so
      // the check is against the city's cheapest at all and every store's own cheapest): a small charge.
      const city = world.cities[r.store!.cityIndex]!;
      const cheapestOf = (ps: readonly { priceCents: number }[]) => Math.min(...ps.map((p) => p.priceCents));
      const storeCheapest = city.stores.map((s) => cheapestOf(s.products)).sort((a, b) => a - b);
      const bought = new Set(burst.flatMap((o) => o.lines.map((l) => `${l.product.priceCents}×${l.quantity}`)));
      expect(bought.size).toBe(1);
      const price = burst[0]!.lines[0]!.product.priceCents;
      expect(bought).toEqual(new Set([`${price}×1`]));
      expect(price).toBe(cheapestOf(r.store!.products));
      expect(price).toBeGreaterThanOrEqual(storeCheapest[0]!);
      expect(price).toBeLessThanOrEqual(storeCheapest[Math.floor(storeCheapest.length / 2)]!);
    }
  });

  it('new accounts sign up before their first order, then place high tickets minutes apart', () => {
    for (const r of injected.filter((x) => x.pattern === 'new_account')) {
      const signUp = events.findIndex((e) => e.kind === 'customer_create' && e.customer === r.customer);
      const first = events.findIndex((e) => e.kind === 'create' && e.order.customer === r.customer);
      expect(signUp).toBeGreaterThanOrEqual(0);
      expect(first).toBeGreaterThan(signUp);
      expect(ordersOf(events, (o) => o.customer === r.customer).length).toBeGreaterThanOrEqual(5);
    }
  });

  it('starts episodes in a city whose stores have all paused (it has arrivals all the same)', () => {
    const world = syntheticWorld('closed');
    for (const s of world.cities[0]!.stores) s.isActive = false;
    const stream = new EventStream(world, {
      seed: 'c',
      startMs: START,
      ordersPerSimSecond: 2,
      curve: 'flat',
      riskShare: 0.2,
    });
    expect(() => stream.take(START + 3600_000)).not.toThrow();
  });

  it('a share of 0 injects nothing and leaves the honest marketplace as it was', () => {
    const quiet = run(0, 2);
    const honest = run(0.01, 2);
    expect(quiet.stream.risk.injected).toEqual([]);
    expect(quiet.events.some((e) => e.kind === 'customer_create')).toBe(false);
    // The same customers order in the same minutes: injection draws from its own random stream.
    const key = (evs: GenEvent[]) =>
      evs.flatMap((e) =>
        e.kind === 'create' && e.order.customer.index >= 0 ? [`${e.atMs}:${e.order.customer.index}`] : [],
      );
    const honestKeys = new Set(key(honest.events));
    const quietKeys = key(quiet.events);
    expect(quietKeys.filter((k) => honestKeys.has(k)).length).toBeGreaterThan(quietKeys.length * 0.9);
  });
});
