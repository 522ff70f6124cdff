// Demand anomalies: orders placed in a minute against what that minute should bring (docs/dashboards.md, "Demand
// anomalies"). The expectation is a shape scaled to the level of the last hour's busy minutes: the shape of the
// previous days that have history (up to 7, their mean minute by minute), or without any the generator's daily
// curve. A band of four Poisson standard deviations and 10 % around it; a minute outside is an anomaly. The decisions are pure functions; one
// function reads Druid (the order rollup, per minute) for them. The pipeline exporter serves the result to
// Prometheus, where the Risk & Inventory panel draws it and an alert rule raises it.
import type { PulsoConfig } from '../lib/config.ts';
import { queryDruidSql } from '../lib/druidClient.ts';
import { CITIES } from '../generator/geo/gazetteer.ts';
import { marketplaceDemandShape } from '../generator/dailyCurve.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Previous days looked at for the same minute. */
export const HISTORY_DAYS = 7;
/** The level of traffic behind the curve's expectation: this many minutes before the minute judged. */
export const LEVEL_MINUTES = 60;
/** Fewer expected orders than this, without history: too little traffic to call anything an anomaly. */
export const MIN_EXPECTED = 5;

export type ExpectationSource = 'history' | 'curve' | 'none';

export interface DemandVerdict {
  /** The minute judged (its start, epoch ms): the last complete minute. */
  readonly minuteMs: number;
  readonly actual: number;
  readonly expected: number;
  readonly low: number;
  readonly high: number;
  readonly source: ExpectationSource;
  readonly anomaly: boolean;
}

/** Minutes on each side of a minute that the previous days' shape is averaged over: one minute is too noisy. */
export const SMOOTHING_MINUTES = 7;

/**
 * The shape of the previous days that have history (any order in the hour before the minute judged, on that day):
 * the mean of their orders around the same time of day (± SMOOTHING_MINUTES), so that a quiet day's noise does not
 * make noise of the expectation. Undefined when no day has history.
 */
export function historyShape(
  days: readonly { readonly dayMs: number; readonly hasHistory: boolean }[],
  ordersAt: (epochMs: number) => number,
): ((epochMs: number) => number) | undefined {
  const usable = days.filter((d) => d.hasHistory);
  if (!usable.length) return undefined;
  const around = (t: number) => {
    let s = 0;
    for (let k = -SMOOTHING_MINUTES; k <= SMOOTHING_MINUTES; k++) s += ordersAt(t + k * MINUTE);
    return s / (2 * SMOOTHING_MINUTES + 1);
  };
  return (t) => usable.reduce((s, d) => s + around(t - d.dayMs), 0) / usable.length;
}

/**
 * The expectation: the recent level (orders per unit of shape over the minutes of the last hour that had orders)
 * times the shape at the minute. The shape gives the time of day, recent traffic the volume, so a day busier or
 * quieter than the ones before is not an anomaly all day long. Quiet minutes are left out of the level, so a pause
 * does not talk the expectation down while it lasts. Undefined with fewer than 3 busy minutes (or no shape in them).
 */
export function expectedFromShape(
  recent: readonly { readonly minuteMs: number; readonly orders: number }[],
  shapeAt: (epochMs: number) => number,
  minuteMs: number,
): number | undefined {
  const window = recent.filter((r) => r.orders > 0);
  if (window.length < 3) return undefined;
  const shape = window.reduce((s, r) => s + shapeAt(r.minuteMs), 0);
  if (shape <= 0) return undefined;
  const level = window.reduce((s, r) => s + r.orders, 0) / shape;
  return level * shapeAt(minuteMs);
}

/** The band a minute's orders should fall in: expected ± (4·√expected + 10 % + 1). */
export function demandBand(expected: number): { low: number; high: number } {
  const margin = 4 * Math.sqrt(expected) + 0.1 * expected + 1;
  return { low: Math.max(0, expected - margin), high: expected + margin };
}

/**
 * The verdict on one minute. The shape is the previous days' where any has history, else the generator's daily
 * curve; without recent traffic to scale it, the previous days' mean itself (a marketplace down since before the
 * last hour is still compared with its usual minute), and nothing from the curve.
 */
export function judgeMinute(
  minuteMs: number,
  actual: number,
  history: ((epochMs: number) => number) | undefined,
  recent: readonly { readonly minuteMs: number; readonly orders: number }[],
  curveAt: (epochMs: number) => number,
): DemandVerdict {
  // History too thin to give a shape in the recent minutes (a few stray orders that day): the curve gives it.
  const fromHistory = history ? expectedFromShape(recent, history, minuteMs) : undefined;
  const fromCurve = fromHistory === undefined ? expectedFromShape(recent, curveAt, minuteMs) : undefined;
  const source: ExpectationSource = fromHistory !== undefined || fromCurve === undefined ? 'history' : 'curve';
  const expected = fromHistory ?? fromCurve ?? history?.(minuteMs);
  if (expected === undefined || expected < MIN_EXPECTED)
    return { minuteMs, actual, expected: expected ?? 0, low: 0, high: 0, source: 'none', anomaly: false };
  const { low, high } = demandBand(expected);
  return { minuteMs, actual, expected, low, high, source, anomaly: actual < low || actual > high };
}

const marketplaceShape = (epochMs: number) => marketplaceDemandShape(epochMs + MINUTE / 2, CITIES);
const iso = (ms: number) => `TIMESTAMP '${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}'`;

async function ordersPerMinute(cfg: PulsoConfig, windows: readonly [number, number][]): Promise<Map<number, number>> {
  const where = windows.map(([from, to]) => `(__time >= ${iso(from)} AND __time < ${iso(to)})`).join(' OR ');
  const rows = await queryDruidSql<{ t: number; orders: number }>(
    cfg,
    `SELECT TIMESTAMP_TO_MILLIS(__time) AS t, SUM(orders) AS orders FROM order_rollup_status WHERE ${where} GROUP BY 1`,
  );
  return new Map(rows.map((r) => [Number(r.t), Number(r.orders)]));
}

/**
 * Judges the last complete minute before `nowMs` (10 s of grace for its last orders to reach Druid): two small
 * queries of the minute rollup, the hour before it and the same hour on each of the previous days.
 */
export async function judgeLastMinute(cfg: PulsoConfig, nowMs: number): Promise<DemandVerdict> {
  const minuteMs = Math.floor((nowMs - 10_000) / MINUTE) * MINUTE - MINUTE;
  const recentFrom = minuteMs - LEVEL_MINUTES * MINUTE;
  const dayMs = Array.from({ length: HISTORY_DAYS }, (_, i) => (i + 1) * DAY);
  const [recentCounts, historyCounts] = await Promise.all([
    ordersPerMinute(cfg, [[recentFrom, minuteMs + MINUTE]]),
    ordersPerMinute(
      cfg,
      dayMs.map((d) => [recentFrom - d - SMOOTHING_MINUTES * MINUTE, minuteMs + (SMOOTHING_MINUTES + 1) * MINUTE - d]),
    ),
  ]);
  const recent = Array.from({ length: LEVEL_MINUTES }, (_, i) => recentFrom + i * MINUTE).map((m) => ({
    minuteMs: m,
    orders: recentCounts.get(m) ?? 0,
  }));
  const days = dayMs.map((d) => ({
    dayMs: d,
    hasHistory: [...historyCounts.keys()].some((t) => t >= recentFrom - d && t <= minuteMs - d),
  }));
  const history = historyShape(days, (t) => historyCounts.get(t) ?? 0);
  return judgeMinute(minuteMs, recentCounts.get(minuteMs) ?? 0, history, recent, marketplaceShape);
}
