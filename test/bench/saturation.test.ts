import { describe, expect, it } from 'vitest';
import {
  cpuCostPerRowChange,
  judgeStep,
  lagTrend,
  percentile,
  slopePerSecond,
  sustainableCeiling,
  type LagTrend,
  type Point,
} from '../../bench/throughput/saturation.ts';

const series = (values: number[], everyMs = 5000): Point[] =>
  values.map((value, i) => ({ t: 1_000_000 + i * everyMs, value }));
const flat: LagTrend = { trend: 'flat', slopePerS: 0, last: 10, max: 10 };

describe('slopePerSecond', () => {
  it('is the least-squares slope in units per second', () => {
    expect(slopePerSecond(series([0, 500, 1000, 1500]))).toBeCloseTo(100);
    expect(slopePerSecond(series([7, 7, 7]))).toBe(0);
    expect(slopePerSecond(series([3]))).toBe(0);
  });
});

describe('lagTrend', () => {
  it('a lag that gains more than 2 % of the throughput per second is growing', () => {
    // +1,000 records every 5 s = 200/s against 5,000/s moved: 4 %.
    const l = lagTrend(series([10_000, 11_000, 12_000, 13_000, 14_000]), { throughputPerS: 5000, floor: 5000 });
    expect(l.trend).toBe('growing');
    expect(l.slopePerS).toBeCloseTo(200);
    expect(l.last).toBe(14_000);
  });

  it('noise around a steady queue is flat; a lag under the floor is flat whatever its slope', () => {
    expect(lagTrend(series([3000, 3400, 2900, 3300, 3100]), { throughputPerS: 5000, floor: 1000 }).trend).toBe('flat');
    expect(lagTrend(series([0, 1000, 2000, 3000]), { throughputPerS: 1000, floor: 5000 }).trend).toBe('flat');
  });

  it('a lag draining faster than 2 % of the throughput is shrinking', () => {
    expect(lagTrend(series([40_000, 30_000, 20_000, 10_000]), { throughputPerS: 5000, floor: 5000 }).trend).toBe(
      'shrinking',
    );
  });
});

describe('judgeStep', () => {
  it('sustainable: load produced, every lag flat, p99 within 2 s', () => {
    expect(
      judgeStep({
        askedOrdersPerS: 500,
        achievedOrdersPerS: 497,
        lags: { transformer: flat },
        latencyCount: 900,
        p99Ms: 1400,
      }),
    ).toEqual({ loadProduced: true, sustainable: true, reasons: [] });
  });

  it('a load not produced is never sustainable, and says so with both rates', () => {
    const v = judgeStep({
      askedOrdersPerS: 1000,
      achievedOrdersPerS: 154,
      lags: { transformer: flat },
      latencyCount: 900,
      p99Ms: 300,
    });
    expect(v.loadProduced).toBe(false);
    expect(v.sustainable).toBe(false);
    expect(v.reasons[0]).toMatch(/load NOT produced: 154 of 1000 orders\/s/);
  });

  it('names every stage whose lag grows, and a p99 over target', () => {
    const growing: LagTrend = { trend: 'growing', slopePerS: 812.4, last: 48_000, max: 48_000 };
    const v = judgeStep({
      askedOrdersPerS: 1300,
      achievedOrdersPerS: 1290,
      lags: { transformer: growing, Druid: flat },
      latencyCount: 50,
      p99Ms: 31_000,
    });
    expect(v.sustainable).toBe(false);
    expect(v.reasons).toEqual([
      'transformer lag growing (+812/s, ends at 48,000)',
      'p99 commit → queryable 31000 ms > 2000 ms',
    ]);
  });

  it('no latency sample at all is not a pass', () => {
    expect(
      judgeStep({ askedOrdersPerS: 100, achievedOrdersPerS: 100, lags: {}, latencyCount: 0, p99Ms: NaN }).reasons,
    ).toEqual(['no commit → queryable sample reached Druid during the step']);
  });
});

describe('sustainableCeiling and percentile', () => {
  it('the headline is the highest achieved rate among sustainable steps only', () => {
    const ok = { loadProduced: true, sustainable: true, reasons: [] };
    const no = { loadProduced: true, sustainable: false, reasons: ['x'] };
    const steps = [
      { askedOrdersPerS: 250, achievedRowChangesPerS: 3300, verdict: ok },
      { askedOrdersPerS: 500, achievedRowChangesPerS: 6600, verdict: ok },
      { askedOrdersPerS: 750, achievedRowChangesPerS: 9800, verdict: no },
    ];
    expect(sustainableCeiling(steps)?.askedOrdersPerS).toBe(500);
    expect(sustainableCeiling([steps[2]!])).toBeUndefined();
  });

  it('nearest rank', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('cpuCostPerRowChange', () => {
  it('turns CPU shares into µs per row change, sums them and bounds the rate the cores carry', () => {
    // 4,000 row changes/s; postgres 40 % of a core = 100 µs each, transformer 20 % = 50 µs.
    const cost = cpuCostPerRowChange(
      [
        ['transformer', 20],
        ['postgres', 40],
      ],
      4000,
      2,
    );
    expect(cost.perProcessUs).toEqual([
      ['postgres', 100],
      ['transformer', 50],
    ]);
    expect(cost.totalUs).toBe(150);
    expect(cost.ceilingRowChangesPerS).toBeCloseTo(2e6 / 150, 6);
    expect(cost.budgetUsAt(20_000)).toBe(100);
  });

  it('refuses a step that wrote nothing', () => {
    expect(() => cpuCostPerRowChange([['postgres', 10]], 0, 2)).toThrow(/rowChangesPerS must be > 0/);
  });
});
