// Temporal decoding for every form Debezium emits under time.precision.mode=adaptive_time_microseconds
// (plus the other modes as fallbacks). Everything leaves as ISO-8601 UTC with milliseconds and a 'Z':
// sub-millisecond digits are truncated (floor), never rounded, so an instant never moves into the future.
import { DecodeError } from './errors.ts';

export interface Instant {
  /** Milliseconds since the epoch (UTC). */
  readonly epochMs: number;
  /** ISO-8601 UTC with milliseconds, e.g. "2025-03-01T15:04:05.123Z". */
  readonly iso: string;
}

const ZONED = /^(-?\d{4,6})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;
/** Debezium's encodings of PostgreSQL ±infinity for timestamp columns. */
const INFINITY_SENTINELS = new Set(['9223372036825200000', '-9223372036832400000']);
const MAX_DATE_MS = 8.64e15;

function fromEpochMs(ms: number, source: unknown): Instant {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) {
    throw new DecodeError('bad_timestamp', `timestamp out of range: ${JSON.stringify(source)}`);
  }
  return { epochMs: ms, iso: new Date(ms).toISOString() };
}

function toBigInt(value: unknown, what: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) {
    if (INFINITY_SENTINELS.has(value)) throw new DecodeError('bad_timestamp', `${what} is ±infinity`);
    return BigInt(value);
  }
  throw new DecodeError('bad_timestamp', `${what} is not an integer: ${JSON.stringify(value)}`);
}

/** Floor division for negative epochs (pre-1970): -1 µs is in the millisecond -1, not 0. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** io.debezium.time.ZonedTimestamp (timestamptz): ISO text with 0–9 fraction digits and an offset. */
/** What the connector emits for timestamptz: UTC, 4-digit year, 'Z'. */
const ZONED_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?Z$/;

export function decodeZonedTimestamp(value: unknown): Instant {
  if (typeof value !== 'string')
    throw new DecodeError('bad_timestamp', `ZonedTimestamp is not a string: ${JSON.stringify(value)}`);
  const utc = ZONED_UTC.exec(value);
  if (utc) {
    // Hot path (several per event): build the millisecond ISO text directly, truncating the fraction.
    const iso = `${value.slice(0, 19)}.${((utc[1] ?? '') + '000').slice(0, 3)}Z`;
    const epochMs = Date.parse(iso);
    if (Number.isNaN(epochMs))
      throw new DecodeError('bad_timestamp', `not a valid timestamp: ${JSON.stringify(value)}`);
    return { epochMs, iso };
  }
  const m = ZONED.exec(value);
  if (!m) throw new DecodeError('bad_timestamp', `not an ISO-8601 timestamp: ${JSON.stringify(value)}`);
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  const ms = Number((frac + '000').slice(0, 3));
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  // Date.UTC maps years 0–99 to 1900–1999; set the full year explicitly.
  const fixed = new Date(epoch);
  fixed.setUTCFullYear(Number(y));
  epoch = fixed.getTime();
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    const digits = zone!.slice(1).replace(':', '');
    epoch -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return fromEpochMs(epoch, value);
}

/** io.debezium.time.MicroTimestamp (timestamp without time zone, read as UTC by Debezium): µs since epoch. */
export function decodeMicroTimestamp(value: unknown): Instant {
  return fromEpochMs(Number(floorDiv(toBigInt(value, 'MicroTimestamp'), 1000n)), value);
}

/** io.debezium.time.Timestamp / connect Timestamp: ms since epoch. */
export function decodeMilliTimestamp(value: unknown): Instant {
  return fromEpochMs(Number(toBigInt(value, 'Timestamp')), value);
}

/** io.debezium.time.NanoTimestamp: ns since epoch (always past 2^53, so it arrives as a string). */
export function decodeNanoTimestamp(value: unknown): Instant {
  return fromEpochMs(Number(floorDiv(toBigInt(value, 'NanoTimestamp'), 1_000_000n)), value);
}

/** io.debezium.time.Date: days since epoch → "YYYY-MM-DD" (a calendar date has no time zone). */
export function decodeDateDays(value: unknown): string {
  const days = Number(toBigInt(value, 'Date'));
  return fromEpochMs(days * 86_400_000, value).iso.slice(0, -14);
}

/** io.debezium.time.Date as the UTC midnight instant "YYYY-MM-DDT00:00:00.000Z". */
export function decodeDateDaysAsInstant(value: unknown): Instant {
  return fromEpochMs(Number(toBigInt(value, 'Date')) * 86_400_000, value);
}

/** io.debezium.time.MicroTime: µs since midnight → "HH:MM:SS.ffffff". */
export function decodeMicroTime(value: unknown): string {
  const us = toBigInt(value, 'MicroTime');
  if (us < 0n || us > 86_400_000_000n) throw new DecodeError('bad_timestamp', `MicroTime out of range: ${us}`);
  const totalSeconds = us / 1_000_000n;
  const pad = (n: bigint, w = 2) => n.toString().padStart(w, '0');
  return `${pad(totalSeconds / 3600n)}:${pad((totalSeconds / 60n) % 60n)}:${pad(totalSeconds % 60n)}.${pad(us % 1_000_000n, 6)}`;
}

/** epoch ms (source.ts_ms) → Instant. */
export function instantFromEpochMs(ms: unknown): Instant {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms))
    throw new DecodeError('bad_timestamp', `not epoch ms: ${JSON.stringify(ms)}`);
  return fromEpochMs(ms, ms);
}
