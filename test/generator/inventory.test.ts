// Stock in the generator's model: acceptance reserves, a cancel after it returns, a short item rejects the order
// (cancel_reason out_of_stock), the schedule restocks; the moves it writes add up to the model's units.
import { describe, expect, it } from 'vitest';
import { EventStream, type GenEvent } from '../../generator/eventStream.ts';
import { acceptanceOutcome, restockMoves } from '../../generator/inventory.ts';
import type { ProductModel } from '../../generator/world.ts';
import { syntheticWorld } from './syntheticWorld.ts';

const START = Date.UTC(2025, 2, 14, 15, 0);

function product(units: number, reorderPoint = 2, targetUnits = 10): ProductModel {
  return { dbId: '1', name: 'Arepa', priceCents: 500, stock: { units, reorderPoint, targetUnits } };
}

describe('inventory rules', () => {
  it('reserves every line when all are in stock, and rejects without reserving when one is short', () => {
    const a = product(5);
    const b = product(1);
    const ok = acceptanceOutcome([{ product: a, quantity: 2 }], ['accept'], {
      status: 'placed',
      paymentStatus: 'paid',
    });
    expect(ok).toMatchObject({ rejected: false, events: ['accept'] });
    expect(a.stock!.units).toBe(3);
    const short = acceptanceOutcome(
      [
        { product: a, quantity: 1 },
        { product: b, quantity: 2 },
      ],
      ['payment_confirmed', 'accept'],
      { status: 'placed', paymentStatus: 'pending' },
    );
    // The payment still confirms, then the order is cancelled and refunded; nothing is reserved.
    expect(short).toMatchObject({
      rejected: true,
      cancelReason: 'out_of_stock',
      events: ['payment_confirmed', 'cancel', 'refund'],
      stock: [],
    });
    expect([a.stock!.units, b.stock!.units]).toEqual([3, 1]);
  });

  it('restocks only what is at or under its reorder point, up to target', () => {
    const low = product(2, 2, 10);
    const fine = product(3, 2, 10);
    const negative = product(-4, 2, 10); // a manual UPDATE went below zero: the restock still reaches target
    expect(restockMoves([low, fine, negative]).map((m) => m.delta)).toEqual([8, 14]);
    expect([low.stock!.units, fine.stock!.units, negative.stock!.units]).toEqual([10, 3, 10]);
  });
});

describe('inventory in the event stream', () => {
  it('never oversells, rejects when short, restocks, and its moves add up to the model', () => {
    const world = syntheticWorld('stock', (rng) => {
      const target = rng.int(3, 12);
      return { units: target, reorderPoint: Math.floor(target / 4), targetUnits: target };
    });
    const initial = new Map(world.products.map((p) => [p, p.stock!.units]));
    const stream = new EventStream(world, { seed: 's', startMs: START, ordersPerSimSecond: 3, curve: 'flat' });
    const events: GenEvent[] = stream.take(START + 6 * 3600_000);
    const moved = new Map<ProductModel, number>();
    let rejected = 0;
    let restocks = 0;
    for (const ev of events) {
      if (ev.kind !== 'step' && ev.kind !== 'restock') continue;
      for (const m of ev.stock) moved.set(m.product, (moved.get(m.product) ?? 0) + m.delta);
      if (ev.kind === 'restock') restocks++;
      if (ev.kind === 'step' && ev.cancelReason === 'out_of_stock') {
        rejected++;
        expect(ev.to.status).toBe('cancelled');
        expect(ev.stock).toEqual([]);
      }
    }
    expect(rejected).toBeGreaterThan(0);
    expect(restocks).toBeGreaterThan(0);
    for (const p of world.products) {
      expect(p.stock!.units).toBeGreaterThanOrEqual(0);
      expect(initial.get(p)! + (moved.get(p) ?? 0)).toBe(p.stock!.units);
    }
    // A rejected order has no later step.
    const rejectedAt = new Map<unknown, number>();
    events.forEach((e, i) => {
      if (e.kind === 'step' && e.cancelReason === 'out_of_stock') rejectedAt.set(e.order, i);
    });
    const after = events.filter((e, i) => e.kind === 'step' && (rejectedAt.get(e.order) ?? Infinity) < i);
    expect(after).toEqual([]);
  });
});
