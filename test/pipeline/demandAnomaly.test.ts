// The demand-anomaly decisions: where the expectation comes from, the band, and which minutes fall outside it.
import { describe, expect, it } from 'vitest';
import {
  demandBand,
  expectedFromCurve,
  expectedFromHistory,
  judgeMinute,
  MIN_EXPECTED,
} from '../../pipeline/demandAnomaly.ts';
import { marketplaceDemandShape } from '../../generator/dailyCurve.ts';
import { CITIES } from '../../generator/geo/gazetteer.ts';

const MIN = 60_000;
const T = Date.UTC(2026, 11, 7, 19, 30); // Monday 19:30 UTC: afternoon in Latin America
const flat = () => 1;
const minutes = (n: number, orders: (i: number) => number, end = T) =>
  Array.from({ length: n }, (_, i) => ({ minuteMs: end - (n - i) * MIN, orders: orders(i) }));

describe('demand expectation', () => {
  it('uses the mean of the previous days that have history, and ignores the days without', () => {
    const days = [
      { hasHistory: true, orders: 100 },
      { hasHistory: false, orders: 0 },
      { hasHistory: true, orders: 120 },
    ];
    expect(expectedFromHistory(days)).toBe(110);
    expect(expectedFromHistory([{ hasHistory: false, orders: 0 }])).toBeUndefined();
  });

  it('without history, scales the curve to the level since traffic began in the last hour', () => {
    // 57 quiet minutes, then 3 minutes of 90 orders: the level is 90 per unit of a flat shape.
    const recent = minutes(60, (i) => (i >= 57 ? 90 : 0));
    expect(expectedFromCurve(recent, flat, T)).toBeCloseTo(90);
    expect(
      expectedFromCurve(
        minutes(60, (i) => (i >= 58 ? 90 : 0)),
        flat,
        T,
      ),
    ).toBeUndefined(); // too short
    // The curve moves the expectation with the hour: twice the shape, twice the orders.
    expect(expectedFromCurve(recent, (ms) => (ms >= T ? 2 : 1), T)).toBeCloseTo(180);
  });

  it('the marketplace curve is the population-weighted local curve, about 1 on average over a week', () => {
    let sum = 0;
    for (let h = 0; h < 7 * 24; h++) sum += marketplaceDemandShape(T + h * 3600_000, CITIES);
    expect(sum / (7 * 24)).toBeGreaterThan(0.9);
    expect(sum / (7 * 24)).toBeLessThan(1.1);
  });
});

describe('demand verdict', () => {
  const noHistory = [{ hasHistory: false, orders: 0 }];
  const busy = minutes(30, () => 120);

  it('a minute with no orders after a busy half hour is an anomaly; an ordinary one is not', () => {
    expect(judgeMinute(T, 0, noHistory, busy, flat)).toMatchObject({ source: 'curve', anomaly: true });
    expect(judgeMinute(T, 118, noHistory, busy, flat)).toMatchObject({ source: 'curve', anomaly: false });
    expect(judgeMinute(T, 400, noHistory, busy, flat).anomaly).toBe(true); // a spike too
  });

  it('the band is wide enough for Poisson noise: 4 standard deviations and 10 %', () => {
    const { low, high } = demandBand(100);
    expect(low).toBeCloseTo(100 - 40 - 10 - 1);
    expect(high).toBeCloseTo(100 + 40 + 10 + 1);
  });

  it('says nothing with too little traffic to judge', () => {
    const quiet = minutes(30, () => MIN_EXPECTED - 2);
    expect(judgeMinute(T, 0, noHistory, quiet, flat)).toMatchObject({ source: 'none', anomaly: false });
    expect(judgeMinute(T, 0, noHistory, [], flat)).toMatchObject({ source: 'none', anomaly: false });
  });

  it('history wins over the curve when there is any', () => {
    const history = [{ hasHistory: true, orders: 10 }];
    expect(judgeMinute(T, 10, history, busy, flat)).toMatchObject({ source: 'history', expected: 10, anomaly: false });
  });
});
