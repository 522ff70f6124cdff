// The distributions and the daily curve the generator draws from, checked statistically with fixed seeds.
import { describe, expect, it } from 'vitest';
import { AliasTable, Rng } from '../../generator/random.ts';
import { demandShape, localTime, MAX_DEMAND_SHAPE, zoneOffsetMs } from '../../generator/dailyCurve.ts';

const N = 100_000;
const stats = (xs: number[]) => {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
  return { mean, variance };
};
const draw = (f: () => number) => Array.from({ length: N }, f);

describe('Rng', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = new Rng('seed-1'),
      b = new Rng('seed-1'),
      c = new Rng('seed-2');
    const sa = draw(() => a.nextUint32()).slice(0, 50);
    expect(draw(() => b.nextUint32()).slice(0, 50)).toEqual(sa);
    expect(draw(() => c.nextUint32()).slice(0, 50)).not.toEqual(sa);
  });

  it('draws uniform [0,1) with mean 1/2 and variance 1/12', () => {
    const rng = new Rng(1);
    const xs = draw(() => rng.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const { mean, variance } = stats(xs);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(variance).toBeCloseTo(1 / 12, 2);
  });

  it('draws integers in the inclusive range, each about equally often', () => {
    const rng = new Rng(2);
    const counts = new Map<number, number>();
    for (let i = 0; i < 60_000; i++) {
      const k = rng.int(1, 6);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('draws normals with the asked mean and standard deviation', () => {
    const rng = new Rng(3);
    const { mean, variance } = stats(draw(() => rng.normal(10, 2)));
    expect(mean).toBeCloseTo(10, 1);
    expect(Math.sqrt(variance)).toBeCloseTo(2, 1);
  });

  it('draws log-normals around the asked median, right-skewed', () => {
    const rng = new Rng(4);
    const xs = draw(() => rng.lognormal(15, 0.4)).sort((a, b) => a - b);
    expect(xs[N / 2]!).toBeGreaterThan(14.5);
    expect(xs[N / 2]!).toBeLessThan(15.5);
    expect(stats(xs).mean).toBeGreaterThan(xs[N / 2]!); // mean > median
  });

  it('draws exponentials with the asked mean', () => {
    const rng = new Rng(5);
    expect(stats(draw(() => rng.exponential(250))).mean).toBeGreaterThan(245);
    expect(stats(draw(() => rng.exponential(250))).mean).toBeLessThan(255);
  });

  it('draws Poisson counts with mean ≈ variance ≈ λ, for small and large λ', () => {
    for (const lambda of [3, 200]) {
      const rng = new Rng(6);
      const { mean, variance } = stats(draw(() => rng.poisson(lambda)));
      expect(Math.abs(mean - lambda) / lambda).toBeLessThan(0.02);
      expect(Math.abs(variance - lambda) / lambda).toBeLessThan(0.05);
    }
  });
});

describe('AliasTable', () => {
  it('samples in proportion to the weights', () => {
    const table = new AliasTable(['a', 'b', 'c', 'd'], [1, 2, 3, 4]);
    const rng = new Rng(7);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    for (let i = 0; i < N; i++) counts[table.sample(rng)]!++;
    expect(counts.a! / N).toBeCloseTo(0.1, 2);
    expect(counts.b! / N).toBeCloseTo(0.2, 2);
    expect(counts.c! / N).toBeCloseTo(0.3, 2);
    expect(counts.d! / N).toBeCloseTo(0.4, 2);
  });

  it('never picks a zero weight and rejects bad weights', () => {
    const table = new AliasTable(['never', 'always'], [0, 5]);
    const rng = new Rng(8);
    for (let i = 0; i < 10_000; i++) expect(table.sample(rng)).toBe('always');
    expect(() => new AliasTable(['x'], [0])).toThrow();
    expect(() => new AliasTable(['x', 'y'], [1])).toThrow();
  });
});

describe('daily demand curve', () => {
  it('averages 1 over the week, so the asked rate is the mean rate', () => {
    let sum = 0,
      n = 0;
    for (let d = 0; d < 7; d++)
      for (let m = 0; m < 24 * 60; m += 5) {
        sum += demandShape(d, m / 60);
        n++;
      }
    expect(sum / n).toBeCloseTo(1, 3);
  });

  it('peaks at lunch and dinner and is quiet before dawn', () => {
    const wednesday = 3;
    const at = (h: number) => demandShape(wednesday, h);
    expect(at(12.75)).toBeGreaterThan(3 * at(10));
    expect(at(20.5)).toBeGreaterThan(at(12.75)); // dinner is the bigger peak
    expect(at(16)).toBeLessThan(at(12.75) / 2); // afternoon valley
    expect(at(4)).toBeLessThan(at(12.75) / 10);
    expect(MAX_DEMAND_SHAPE).toBeGreaterThanOrEqual(at(20.5));
  });

  it('has a weekend shape: bigger Friday/Saturday dinners, a strong Sunday lunch', () => {
    expect(demandShape(6, 21.25)).toBeGreaterThan(demandShape(3, 21.25) * 1.2);
    expect(demandShape(5, 21)).toBeGreaterThan(demandShape(2, 21));
    expect(demandShape(0, 13.75)).toBeGreaterThan(demandShape(2, 13.75) * 1.2);
  });

  it('uses each city’s own time zone, including DST where it exists', () => {
    const noonUtc = Date.UTC(2025, 0, 15, 12);
    expect(zoneOffsetMs('America/Bogota', noonUtc)).toBe(-5 * 3_600_000);
    expect(zoneOffsetMs('America/Sao_Paulo', noonUtc)).toBe(-3 * 3_600_000);
    expect(zoneOffsetMs('America/Santiago', noonUtc)).toBe(-3 * 3_600_000); // January: Chilean summer time
    expect(zoneOffsetMs('America/Santiago', Date.UTC(2025, 6, 15, 12))).toBe(-4 * 3_600_000);
    // 02:00 UTC on the 15th is still the 14th in Mexico City (business_date).
    expect(localTime('America/Mexico_City', Date.UTC(2025, 2, 15, 2)).date).toBe('2025-03-14');
  });
});
