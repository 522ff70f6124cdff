// The demand-anomaly decisions: the shape (previous days' or the daily curve), the level from recent traffic, the
// band, and which minutes fall outside it.
import { describe, expect, it } from 'vitest';
import {
  demandBand,
  expectedFromShape,
  historyShape,
  judgeMinute,
  MIN_EXPECTED,
} from '../../pipeline/demandAnomaly.ts';
import { marketplaceDemandShape } from '../../generator/dailyCurve.ts';
import { CITIES } from '../../generator/geo/gazetteer.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const T = Date.UTC(2026, 11, 7, 19, 30); // Monday 19:30 UTC: afternoon in Latin America
const flat = () => 1;
const minutes = (n: number, orders: (i: number) => number, end = T) =>
  Array.from({ length: n }, (_, i) => ({ minuteMs: end - (n - i) * MIN, orders: orders(i) }));

describe('demand expectation', () => {
  it('the previous days give the shape: their mean minute by minute, over the days that have history', () => {
    // Flat days of 100 and 120 orders a minute around the same time of day.
    const counts = (t: number) =>
      Math.abs(t - (T - DAY)) <= 30 * MIN ? 100 : Math.abs(t - (T - 3 * DAY)) <= 30 * MIN ? 120 : 0;
    const shape = historyShape(
      [
        { dayMs: DAY, hasHistory: true },
        { dayMs: 2 * DAY, hasHistory: false },
        { dayMs: 3 * DAY, hasHistory: true },
      ],
      counts,
    );
    expect(shape!(T)).toBe(110);
    // One odd minute moves the shape by a fifteenth of its excess, not all of it.
    const spiky = historyShape([{ dayMs: DAY, hasHistory: true }], (t) => (t === T - DAY ? 250 : 100));
    expect(spiky!(T)).toBeCloseTo(110);
    expect(historyShape([{ dayMs: DAY, hasHistory: false }], () => 5)).toBeUndefined();
  });

  it('recent traffic gives the level: the shape scaled by the last hour’s busy minutes', () => {
    // 57 quiet minutes, then 3 minutes of 90 orders: the level is 90 per unit of a flat shape.
    const recent = minutes(60, (i) => (i >= 57 ? 90 : 0));
    expect(expectedFromShape(recent, flat, T)).toBeCloseTo(90);
    expect(
      expectedFromShape(
        minutes(60, (i) => (i >= 58 ? 90 : 0)),
        flat,
        T,
      ),
    ).toBeUndefined(); // too short
    // The shape moves the expectation with the time of day: twice the shape, twice the orders.
    expect(expectedFromShape(recent, (ms) => (ms >= T ? 2 : 1), T)).toBeCloseTo(180);
    // A pause does not talk the level down while it lasts: the quiet minutes after the traffic are left out too.
    expect(
      expectedFromShape(
        minutes(60, (i) => (i >= 40 && i < 45 ? 90 : 0)),
        flat,
        T,
      ),
    ).toBeCloseTo(90);
  });

  it('the marketplace curve is the population-weighted local curve, about 1 on average over a week', () => {
    let sum = 0;
    for (let h = 0; h < 7 * 24; h++) sum += marketplaceDemandShape(T + h * 3600_000, CITIES);
    expect(sum / (7 * 24)).toBeGreaterThan(0.9);
    expect(sum / (7 * 24)).toBeLessThan(1.1);
  });
});

describe('demand verdict', () => {
  const busy = minutes(30, () => 120);

  it('a minute with no orders after a busy half hour is an anomaly; an ordinary one is not', () => {
    expect(judgeMinute(T, 0, undefined, busy, flat)).toMatchObject({ source: 'curve', anomaly: true });
    expect(judgeMinute(T, 118, undefined, busy, flat)).toMatchObject({ source: 'curve', anomaly: false });
    expect(judgeMinute(T, 400, undefined, busy, flat).anomaly).toBe(true); // a spike too
  });

  it('the band is wide enough for Poisson noise: 4 standard deviations and 10 %', () => {
    const { low, high } = demandBand(100);
    expect(low).toBeCloseTo(100 - 40 - 10 - 1);
    expect(high).toBeCloseTo(100 + 40 + 10 + 1);
  });

  it('says nothing with too little traffic to judge, and nothing from the curve without any', () => {
    const quiet = minutes(30, () => MIN_EXPECTED - 2);
    expect(judgeMinute(T, 0, undefined, quiet, flat)).toMatchObject({ source: 'none', anomaly: false });
    expect(judgeMinute(T, 0, undefined, [], flat)).toMatchObject({ source: 'none', anomaly: false });
  });

  it('with history, a day twice as busy as the previous ones is not an anomaly, a stop is', () => {
    const previous = () => 60; // the previous days: 60 orders a minute
    expect(judgeMinute(T, 121, previous, busy, flat)).toMatchObject({ source: 'history', anomaly: false });
    expect(judgeMinute(T, 0, previous, busy, flat)).toMatchObject({ source: 'history', anomaly: true });
    // History too thin to give a shape in the recent minutes: the curve gives it.
    expect(judgeMinute(T, 0, () => 0, busy, flat)).toMatchObject({ source: 'curve', anomaly: true });
    // Down for over an hour: no recent level, so the previous days' own figure is the expectation.
    expect(judgeMinute(T, 0, previous, [], flat)).toMatchObject({ source: 'history', expected: 60, anomaly: true });
  });
});
