// The shape of demand over a week in local time: a small breakfast bump, a lunch peak around 12:45,
// a higher dinner peak around 20:30, a quiet night, and a weekend that starts Friday evening
// (late dinners, slower mornings, a strong Sunday lunch). Normalised so its mean over the week is 1,
// so `rate × shape` keeps the asked mean rate.

interface Bump {
  readonly hour: number; // centre, local hours
  readonly width: number; // standard deviation, hours
  readonly height: number;
}

const BASE = 0.06; // small all-night trickle (pharmacies, convenience)
const WEEKDAY: readonly Bump[] = [
  { hour: 8.5, width: 1.0, height: 0.18 },
  { hour: 12.75, width: 1.0, height: 1.0 },
  { hour: 16.0, width: 1.2, height: 0.22 },
  { hour: 20.5, width: 1.4, height: 1.25 },
];
const FRIDAY: readonly Bump[] = [
  { hour: 8.5, width: 1.0, height: 0.18 },
  { hour: 12.75, width: 1.0, height: 1.0 },
  { hour: 16.0, width: 1.2, height: 0.22 },
  { hour: 21.0, width: 1.6, height: 1.7 },
];
const SATURDAY: readonly Bump[] = [
  { hour: 10.0, width: 1.5, height: 0.2 },
  { hour: 13.5, width: 1.3, height: 1.15 },
  { hour: 17.0, width: 1.5, height: 0.35 },
  { hour: 21.25, width: 1.7, height: 1.8 },
];
const SUNDAY: readonly Bump[] = [
  { hour: 10.5, width: 1.5, height: 0.2 },
  { hour: 13.75, width: 1.4, height: 1.45 },
  { hour: 17.0, width: 1.5, height: 0.35 },
  { hour: 20.25, width: 1.5, height: 1.35 },
];

/** Bumps for a weekday number as Date.getUTCDay() counts them (0 = Sunday). */
function bumpsFor(weekday: number): readonly Bump[] {
  if (weekday === 0) return SUNDAY;
  if (weekday === 6) return SATURDAY;
  if (weekday === 5) return FRIDAY;
  return WEEKDAY;
}

function rawShape(weekday: number, hour: number): number {
  let v = BASE;
  for (const b of bumpsFor(weekday)) {
    // Include yesterday's/tomorrow's tails so late dinners flow past midnight smoothly.
    for (const shift of [-24, 0, 24]) {
      const d = (hour - b.hour - shift) / b.width;
      v += b.height * Math.exp(-0.5 * d * d);
    }
  }
  return v;
}

const STEPS_PER_HOUR = 12; // 5-minute table, interpolated linearly
const TABLE: Float64Array = (() => {
  const t = new Float64Array(7 * 24 * STEPS_PER_HOUR + 1);
  for (let i = 0; i < t.length - 1; i++) {
    const hourOfWeek = i / STEPS_PER_HOUR;
    t[i] = rawShape(Math.floor(hourOfWeek / 24) % 7, hourOfWeek % 24);
  }
  t[t.length - 1] = t[0]!;
  let sum = 0;
  for (let i = 0; i < t.length - 1; i++) sum += t[i]!;
  const mean = sum / (t.length - 1);
  for (let i = 0; i < t.length; i++) t[i] = t[i]! / mean;
  return t;
})();

/**
 * Demand multiplier at a local time: `weekday` 0 = Sunday … 6 = Saturday, `hour` in [0, 24).
 * Mean over the week is 1.
 */
export function demandShape(weekday: number, hour: number): number {
  const pos = (((weekday % 7) + 7) % 7) * 24 * STEPS_PER_HOUR + hour * STEPS_PER_HOUR;
  const i = Math.floor(pos);
  const f = pos - i;
  return TABLE[i]! * (1 - f) + TABLE[i + 1]! * f;
}

/** The highest multiplier of the week: the envelope for thinning a Poisson process. */
export const MAX_DEMAND_SHAPE: number = TABLE.reduce((m, v) => Math.max(m, v), 0);

// --- local time ------------------------------------------------------------------------------------
// Zone offsets change rarely (DST), so each zone's offset is cached per quarter hour: Intl is too slow
// to call per order.

const offsetCache = new Map<string, { bucket: number; offsetMs: number }>();
const formatters = new Map<string, Intl.DateTimeFormat>();
const QUARTER_HOUR = 15 * 60 * 1000;

export function zoneOffsetMs(timeZone: string, epochMs: number): number {
  const bucket = Math.floor(epochMs / QUARTER_HOUR);
  const hit = offsetCache.get(timeZone);
  if (hit && hit.bucket === bucket) return hit.offsetMs;
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, fmt);
  }
  const at = bucket * QUARTER_HOUR;
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  const offsetMs = asUtc - at;
  offsetCache.set(timeZone, { bucket, offsetMs });
  return offsetMs;
}

export interface LocalTime {
  readonly weekday: number; // 0 = Sunday
  readonly hour: number; // fractional
  /** YYYY-MM-DD: the local calendar date (orders.business_date). */
  readonly date: string;
}

export function localTime(timeZone: string, epochMs: number): LocalTime {
  const local = new Date(epochMs + zoneOffsetMs(timeZone, epochMs));
  return {
    weekday: local.getUTCDay(),
    hour: local.getUTCHours() + local.getUTCMinutes() / 60 + local.getUTCSeconds() / 3600,
    date: local.toISOString().slice(0, 10),
  };
}

export function demandAt(timeZone: string, epochMs: number): number {
  const t = localTime(timeZone, epochMs);
  return demandShape(t.weekday, t.hour);
}

/**
 * The whole marketplace's demand shape at an instant: each simulated city's local shape weighted by its population,
 * as the event stream spreads arrivals (eventStream.ts pickerFor). Its mean over a week is 1.
 */
export function marketplaceDemandShape(epochMs: number, cities: readonly { timezone: string; population: number }[]) {
  let weighted = 0;
  let total = 0;
  for (const c of cities) {
    const t = localTime(c.timezone, epochMs);
    weighted += c.population * demandShape(t.weekday, t.hour);
    total += c.population;
  }
  return total > 0 ? weighted / total : 0;
}
