// Demand anomalies: orders placed in a minute against what that minute should bring (docs/dashboards.md, "Demand
// anomalies"). The expectation is the same minute on the previous days that have history (up to 7, their mean);
// without any, the generator's daily curve scaled to the level of the last hour's traffic. A band of four Poisson
// standard deviations and 10 % around it; a minute outside is an anomaly. The decisions are pure functions; one
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

/** Mean of the same minute over the previous days that have any orders in the hour around it. */
export function expectedFromHistory(days: readonly { readonly hasHistory: boolean; readonly orders: number }[]) {
  const usable = days.filter((d) => d.hasHistory);
  return usable.length ? usable.reduce((s, d) => s + d.orders, 0) / usable.length : undefined;
}

/**
 * The curve's expectation: the recent level (orders per unit of shape over the minutes since traffic began in the
 * window) times the shape at the minute. Undefined with fewer than 3 minutes of traffic to measure the level on.
 */
export function expectedFromCurve(
  recent: readonly { readonly minuteMs: number; readonly orders: number }[],
  shapeAt: (epochMs: number) => number,
  minuteMs: number,
): number | undefined {
  const firstBusy = recent.findIndex((r) => r.orders > 0);
  if (firstBusy < 0) return undefined;
  const window = recent.slice(firstBusy);
  if (window.length < 3) return undefined;
  const shape = window.reduce((s, r) => s + shapeAt(r.minuteMs + MINUTE / 2), 0);
  if (shape <= 0) return undefined;
  const level = window.reduce((s, r) => s + r.orders, 0) / shape;
  return level * shapeAt(minuteMs + MINUTE / 2);
}

/** The band a minute's orders should fall in: expected ± (4·√expected + 10 % + 1). */
export function demandBand(expected: number): { low: number; high: number } {
  const margin = 4 * Math.sqrt(expected) + 0.1 * expected + 1;
  return { low: Math.max(0, expected - margin), high: expected + margin };
}

/** The verdict on one minute from its orders, the same minute's history and the recent minutes before it. */
export function judgeMinute(
  minuteMs: number,
  actual: number,
  history: readonly { readonly hasHistory: boolean; readonly orders: number }[],
  recent: readonly { readonly minuteMs: number; readonly orders: number }[],
  shapeAt: (epochMs: number) => number,
): DemandVerdict {
  const fromHistory = expectedFromHistory(history);
  const fromCurve = fromHistory === undefined ? expectedFromCurve(recent, shapeAt, minuteMs) : undefined;
  const expected = fromHistory ?? fromCurve;
  const source: ExpectationSource =
    fromHistory !== undefined ? 'history' : fromCurve !== undefined && fromCurve >= MIN_EXPECTED ? 'curve' : 'none';
  if (expected === undefined || source === 'none')
    return { minuteMs, actual, expected: expected ?? 0, low: 0, high: 0, source: 'none', anomaly: false };
  const { low, high } = demandBand(expected);
  return { minuteMs, actual, expected, low, high, source, anomaly: actual < low || actual > high };
}

const marketplaceShape = (epochMs: number) => marketplaceDemandShape(epochMs, CITIES);
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
 * queries of the minute rollup, the hour before it and the hour around it on each of the previous days.
 */
export async function judgeLastMinute(cfg: PulsoConfig, nowMs: number): Promise<DemandVerdict> {
  const minuteMs = Math.floor((nowMs - 10_000) / MINUTE) * MINUTE - MINUTE;
  const recentFrom = minuteMs - LEVEL_MINUTES * MINUTE;
  const days = Array.from({ length: HISTORY_DAYS }, (_, i) => minuteMs - (i + 1) * DAY);
  const [recentCounts, historyCounts] = await Promise.all([
    ordersPerMinute(cfg, [[recentFrom, minuteMs + MINUTE]]),
    ordersPerMinute(
      cfg,
      days.map((d) => [d - 30 * MINUTE, d + 30 * MINUTE]),
    ),
  ]);
  const recent = Array.from({ length: LEVEL_MINUTES }, (_, i) => recentFrom + i * MINUTE).map((m) => ({
    minuteMs: m,
    orders: recentCounts.get(m) ?? 0,
  }));
  const history = days.map((d) => ({
    hasHistory: [...historyCounts.keys()].some((t) => t >= d - 30 * MINUTE && t < d + 30 * MINUTE),
    orders: historyCounts.get(d) ?? 0,
  }));
  return judgeMinute(minuteMs, recentCounts.get(minuteMs) ?? 0, history, recent, marketplaceShape);
}
