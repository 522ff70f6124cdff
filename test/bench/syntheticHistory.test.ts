// The bench's synthetic history split into parts (one process each): together the parts must be one marketplace.
// Before, every part simulated every store, so "stock now" summed each product's stock over the parts.
import { describe, expect, it } from 'vitest';
import { buildHistory, type HistorySink } from '../../bench/panel-queries/syntheticHistory.ts';

type Row = Readonly<Record<string, unknown>>;

async function part(index: number, count: number): Promise<{ stock: Row[]; orderDeltas: number }> {
  const stock: Row[] = [];
  let orderDeltas = 0;
  const sink: HistorySink = {
    orderDelta: () => void orderDeltas++,
    itemDelta: () => undefined,
    delivery: () => undefined,
    stockDelta: (row) => void stock.push(row),
    stats: () => undefined,
    progress: () => undefined,
  };
  await buildHistory({
    orders: 1500,
    startMs: Date.parse('2026-11-02T00:00:00Z'),
    spanMs: 3600_000,
    seed: 'bench-parts',
    sink,
    part: { index, count },
  });
  return { stock, orderDeltas };
}

describe('buildHistory in parts', () => {
  it("moves each product's stock in one part only, so the parts sum to one stock row per product", async () => {
    const [a, b] = [await part(0, 2), await part(1, 2)];
    expect(a.orderDeltas).toBeGreaterThan(0);
    expect(b.orderDeltas).toBeGreaterThan(0);
    const productsOf = (rows: Row[]) => new Set(rows.map((r) => r.product_id as string));
    const [pa, pb] = [productsOf(a.stock), productsOf(b.stock)];
    expect(pa.size).toBeGreaterThan(1000);
    expect(pb.size).toBeGreaterThan(1000);
    expect([...pa].filter((p) => pb.has(p))).toEqual([]);
    // Every product's signed stock rows sum to exactly 1 over both parts, and its units to its last asserted units.
    const rows = new Map<string, number>();
    for (const r of [...a.stock, ...b.stock])
      rows.set(r.product_id as string, (rows.get(r.product_id as string) ?? 0) + (r.stock_rows as number));
    expect(new Set(rows.values())).toEqual(new Set([1]));
    const moved = a.stock.filter((r) => (r.units_out as number) > 0).length;
    expect(moved, 'orders took units off the shelves of part 0').toBeGreaterThan(0);
  }, 120_000);
});
