// The simulated exchange rates to USD (fx_rates, sql/006_fx_rates.sql). Pure: a currency's rate on a date is a
// function of the two alone, so every run and every machine publishes the same rate for the same day.
//
// Each rate is a base (about where the market traded in late 2026) moved by a daily deviation of at most ±1%,
// drawn from a generator seeded with the currency and the date, and computed in integers at the column's scale
// (12 fraction digits): no floating-point rounding reaches the published text.
import { Rng } from './random.ts';

/** fx_rates.usd_per_unit's scale. */
export const RATE_SCALE = 12;

/** US dollars per unit, at RATE_SCALE: 1 / (units per dollar). */
const BASE_USD_PER_UNIT: Readonly<Record<string, bigint>> = {
  ARS: 689_655_172n, // 1,450 per USD
  BRL: 185_185_185_185n, // 5.40
  CLP: 1_063_829_787n, // 940
  COP: 256_410_256n, // 3,900
  MXN: 54_054_054_054n, // 18.50
  PEN: 270_270_270_270n, // 3.70
};

/** Currencies the generator publishes rates for; orders in any other currency have none (they count as missing). */
export const RATED_CURRENCIES: readonly string[] = Object.keys(BASE_USD_PER_UNIT);

/** Largest daily deviation from the base, in parts per million. */
const MAX_DEVIATION_PPM = 10_000;

function rateText(unscaled: bigint): string {
  const digits = unscaled.toString().padStart(RATE_SCALE + 1, '0');
  return `${digits.slice(0, -RATE_SCALE)}.${digits.slice(-RATE_SCALE)}`;
}

/** usd_per_unit of `currency` on `date` (YYYY-MM-DD) as decimal text, or undefined for a currency without a base. */
export function usdPerUnitOn(currency: string, date: string): string | undefined {
  const base = BASE_USD_PER_UNIT[currency];
  if (base === undefined) return undefined;
  const ppm = 1_000_000 + new Rng(`fx:${currency}:${date}`).int(-MAX_DEVIATION_PPM, MAX_DEVIATION_PPM);
  return rateText((base * BigInt(ppm) + 500_000n) / 1_000_000n);
}

/** The calendar date `days` after `date` (YYYY-MM-DD, no time zone involved). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The dates whose rates must exist before orders of `dates` are written: each date and the day after, so that
 * a day's rate is published (and captured) a day before its first order, not in a race with it.
 */
export function datesToPublish(dates: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const d of dates) out.add(d).add(addDays(d, 1));
  return [...out].sort();
}
