// The reporting currency (USD): an order's amount in US cents from its local amount and the day's rate
// (sql/006_fx_rates.sql). Pure. The rule, stated once and followed by the reconciliation in SQL:
//
//   usd_cents = round(local_cents × usd_per_unit), half away from zero
//
// computed in integers: local_cents × (usd_per_unit × 10^scale) is exact, then one rounding to whole cents.
// PostgreSQL's round(total * usd_per_unit, 2) is the same number (a numeric product is exact and its round()
// goes half away from zero), so a USD sum is reproducible from PostgreSQL to the cent.
import type { ExactDecimal } from './decode/decodeDecimal.ts';

export const REPORTING_CURRENCY = 'USD';

/** local cents × rate, rounded half away from zero to whole USD cents. */
export function toUsdCents(localCents: bigint, usdPerUnit: ExactDecimal): bigint {
  const product = localCents * usdPerUnit.unscaled;
  if (usdPerUnit.scale === 0) return product;
  const unit = 10n ** BigInt(usdPerUnit.scale);
  const half = unit / 2n;
  const magnitude = product < 0n ? -product : product;
  const rounded = (magnitude + half) / unit;
  return product < 0n ? -rounded : rounded;
}

/** What an order event says about its USD amount: the rate it used and the amount, or null for both. */
export interface UsdAmount {
  /** The rate used, as the decimal text of fx_rates.usd_per_unit; null when the date has no rate. */
  readonly usdPerUnit: string | null;
  readonly totalUsdCents: bigint | null;
}

export function usdAmount(totalCents: bigint, rate: ExactDecimal | undefined): UsdAmount {
  return rate === undefined
    ? { usdPerUnit: null, totalUsdCents: null }
    : { usdPerUnit: rate.text, totalUsdCents: toUsdCents(totalCents, rate) };
}
