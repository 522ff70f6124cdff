// Determinism for a seed, the per-country payment mix and money invariants on the generated stream
// (pure: a synthetic marketplace, no database).
import { describe, expect, it } from 'vitest';
import { EventStream, type GenEvent } from '../../generator/eventStream.ts';
import { syntheticWorld } from './syntheticWorld.ts';
import { PAYMENT_MIX } from '../../generator/paymentMix.ts';

const START = Date.UTC(2025, 2, 14, 15, 0); // a Friday, lunch time in most of LatAm
const describeEvent = (e: GenEvent) => {
  switch (e.kind) {
    case 'create':
      return `${e.atMs} create #${e.order.seq} ${e.order.store.dbId} ${e.order.customer.dbId} ${e.order.payment.method} ${e.order.totals.totalCents} ${e.order.lines.map((l) => `${l.product.dbId}x${l.quantity}`).join(',')}`;
    case 'step':
      return `${e.atMs} step #${e.order.seq} ${e.events.join('+')} → ${e.to.status}/${e.to.paymentStatus}`;
    case 'customer_update':
      return `${e.atMs} customer ${e.customer.dbId} ${e.email} ${e.phone}`;
    case 'store_update':
      return `${e.atMs} store ${e.store.dbId} ${e.rating} ${e.isActive}`;
    case 'price_update':
      return `${e.atMs} price ${e.product.dbId} ${e.priceCents}`;
    case 'purge':
      return `${e.atMs} purge #${e.order.seq}`;
    case 'restock':
      return `${e.atMs} restock ${e.store.dbId} ${e.stock.map((m) => `${m.product.dbId}+${m.delta}`).join(',')}`;
  }
};
const run = (seed: string, slices: number[]) => {
  const stream = new EventStream(syntheticWorld('w'), { seed, startMs: START, ordersPerSimSecond: 2, curve: 'daily' });
  return slices.flatMap((until) => stream.take(START + until)).map(describeEvent);
};

describe('EventStream', () => {
  it('is deterministic for a seed, however time is sliced', () => {
    const whole = run('seed-a', [3_600_000]);
    const sliced = run('seed-a', [1, 999, 60_000, 61_000, 600_000, 1_234_567, 3_600_000]);
    expect(whole.length).toBeGreaterThan(5000);
    expect(sliced).toEqual(whole);
  });

  it('differs for another seed', () => {
    expect(run('seed-b', [600_000]).slice(0, 100)).not.toEqual(run('seed-a', [600_000]).slice(0, 100));
  });

  it('keeps time order, and every order’s steps come after its creation', () => {
    const stream = new EventStream(syntheticWorld('w'), {
      seed: 's',
      startMs: START,
      ordersPerSimSecond: 2,
      curve: 'flat',
    });
    const events = stream.take(START + 7_200_000);
    const created = new Set<number>();
    let last = -Infinity;
    for (const e of events) {
      expect(e.atMs).toBeGreaterThanOrEqual(last);
      last = e.atMs;
      if (e.kind === 'create') created.add(e.order.seq);
      if (e.kind === 'step' || e.kind === 'purge') expect(created.has(e.order.seq)).toBe(true);
    }
    expect(events.some((e) => e.kind === 'customer_update')).toBe(true);
    expect(events.some((e) => e.kind === 'price_update')).toBe(true);
  });

  it('arrives at the asked mean rate with a flat curve, and stops after maxOrders, then drains', () => {
    const stream = new EventStream(syntheticWorld('w'), {
      seed: 'r',
      startMs: START,
      ordersPerSimSecond: 5,
      curve: 'flat',
      maxOrders: 3000,
      riskShare: 0, // the marketplace's own arrivals only (injected episodes come on top of maxOrders)
    });
    const firstHalf = stream.take(START + 300_000).filter((e) => e.kind === 'create').length; // 5/s × 300 s = 1500
    expect(firstHalf).toBeGreaterThan(1350);
    expect(firstHalf).toBeLessThan(1650);
    stream.take(START + 10 * 86_400_000);
    expect(stream.ordersCreated).toBe(3000);
    expect(stream.exhausted).toBe(true);
    expect(stream.inLifecycle).toBe(0);
  });

  it('follows the daily curve: far more orders at dinner than before dawn', () => {
    const count = (startUtcHour: number) => {
      const s = new EventStream(syntheticWorld('w'), {
        seed: 'c',
        startMs: Date.UTC(2025, 2, 12, startUtcHour),
        ordersPerSimSecond: 1,
        curve: 'daily',
      });
      return s.take(Date.UTC(2025, 2, 12, startUtcHour + 1)).filter((e) => e.kind === 'create').length;
    };
    // 23:00–24:00 UTC is 20:00 in São Paulo/Buenos Aires, 18:00 in Bogotá/Lima; 08:00 UTC is 03:00–05:00 local.
    expect(count(23)).toBeGreaterThan(5 * count(8));
  });

  it('uses each country’s currency and payment methods, with totals that add up', () => {
    const world = syntheticWorld('w');
    const stream = new EventStream(world, {
      seed: 'm',
      startMs: START,
      ordersPerSimSecond: 5,
      curve: 'flat',
      maxOrders: 20_000,
    });
    const orders = stream.take(START + 86_400_000).flatMap((e) => (e.kind === 'create' ? [e.order] : []));
    const methodsBy = new Map<string, Set<string>>();
    for (const o of orders) {
      const country = world.cities[o.store.cityIndex]!.city.countryCode;
      const expectedCurrency = { BR: 'BRL', MX: 'MXN', CO: 'COP', PE: 'PEN', CL: 'CLP', AR: 'ARS' }[country];
      expect(o.currency).toBe(expectedCurrency);
      if (!methodsBy.has(country)) methodsBy.set(country, new Set());
      methodsBy.get(country)!.add(o.payment.method);
      const t = o.totals;
      expect(t.subtotalCents).toBe(o.lines.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0));
      expect(t.totalCents).toBe(t.subtotalCents + t.deliveryFeeCents - t.discountCents + t.taxCents);
      if (country === 'CL' || country === 'CO') expect(t.totalCents % 100).toBe(0); // whole pesos
    }
    for (const [country, methods] of methodsBy)
      expect([...methods].sort()).toEqual(Object.keys(PAYMENT_MIX[country as 'BR']).sort());
    expect(methodsBy.get('BR')!.has('pix')).toBe(true);
    expect(methodsBy.get('MX')!.has('oxxo')).toBe(true);
    expect(methodsBy.get('CO')!.has('nequi')).toBe(true);
    expect(methodsBy.get('PE')!.has('yape')).toBe(true);
  });

  it('keeps ids beyond 2^53 exact', () => {
    const stream = new EventStream(syntheticWorld('w'), {
      seed: 'ids',
      startMs: START,
      ordersPerSimSecond: 1,
      curve: 'flat',
      maxOrders: 50,
    });
    const ids = stream
      .take(START + 3_600_000)
      .flatMap((e) => (e.kind === 'create' ? [e.order.store.dbId, e.order.customer.dbId, e.order.addressId] : []));
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      expect(BigInt(id)).toBeGreaterThan(2n ** 53n);
      expect(String(BigInt(id))).toBe(id);
    }
  });
});
