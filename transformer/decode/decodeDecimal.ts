// Exact NUMERIC decoding. The connector runs with decimal.handling.mode=string, so NUMERIC arrives as
// decimal text ("12.50"). As a fallback the decoder also understands the `precise` encodings: a base64
// two's-complement unscaled integer (scale known only from the column declaration, since schemas are
// disabled) and VariableScaleDecimal objects {scale, value}. Money never touches floating point here:
// the result is the unscaled BigInt and its scale.
import { DecodeError } from './errors.ts';

export interface ExactDecimal {
  /** Unscaled integer: value = unscaled × 10^-scale. */
  readonly unscaled: bigint;
  readonly scale: number;
  /** Canonical decimal text with exactly `scale` fraction digits, e.g. "12.50", "-0.05", "7". */
  readonly text: string;
}

const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * PostgreSQL's NUMERIC holds at most 131,072 digits before the point and 16,383 after it. A decimal beyond
 * that cannot have come from the database: it is rejected before any work that grows with its scale or
 * length (a scale of 5e7 once took 6 s of CPU and a 50 MB log line).
 */
export const PG_NUMERIC_MAX_SCALE = 16_383;
const PG_NUMERIC_MAX_DIGITS = 131_072 + PG_NUMERIC_MAX_SCALE;
/** Longest decimal text or base64 that can hold such a number (sign, point, padding included). */
const MAX_DECIMAL_TEXT = PG_NUMERIC_MAX_DIGITS + 2;
const MAX_BASE64 = Math.ceil((Math.ceil((PG_NUMERIC_MAX_DIGITS * Math.log2(10)) / 8) + 1) / 3) * 4;

/** A value for an error message: never more than a few hundred characters, whatever came in. */
function preview(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return s.length <= 200 ? s : `${s.slice(0, 200)}… (${s.length} characters)`;
}

function checkScale(scale: number, value: unknown): void {
  if (scale > PG_NUMERIC_MAX_SCALE) {
    throw new DecodeError(
      'bad_decimal',
      `decimal scale ${scale} is beyond PostgreSQL's NUMERIC (at most ${PG_NUMERIC_MAX_SCALE} fraction digits): ${preview(value)}`,
    );
  }
}
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromUnscaled(unscaled: bigint, scale: number): ExactDecimal {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const intPart = digits.slice(0, digits.length - scale);
  const fracPart = digits.slice(digits.length - scale);
  const text = (negative ? '-' : '') + intPart + (scale > 0 ? '.' + fracPart : '');
  return { unscaled, scale, text };
}

function parseDecimalText(s: string): ExactDecimal {
  if (s.length > MAX_DECIMAL_TEXT)
    throw new DecodeError(
      'bad_decimal',
      `decimal text of ${s.length} characters is beyond PostgreSQL's NUMERIC (${PG_NUMERIC_MAX_DIGITS} digits): ${preview(s)}`,
    );
  const m = DECIMAL_TEXT.exec(s);
  if (!m) throw new DecodeError('bad_decimal', `not an exact decimal: ${preview(s)}`);
  checkScale((m[3] ?? '').length, s);
  const frac = m[3] ?? '';
  const unscaled = BigInt(m[2]! + frac);
  return fromUnscaled(m[1] === '-' ? -unscaled : unscaled, frac.length);
}

/** Big-endian two's complement bytes (Kafka Connect Decimal) → BigInt. */
export function twosComplementToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if ((bytes[0]! & 0x80) !== 0) v -= 1n << BigInt(bytes.length * 8);
  return v;
}

function fromBase64(s: string, scale: number): ExactDecimal {
  checkScale(scale, s);
  if (s.length > MAX_BASE64)
    throw new DecodeError(
      'bad_decimal',
      `unscaled value of ${s.length} base64 characters is beyond PostgreSQL's NUMERIC: ${preview(s)}`,
    );
  if (!BASE64.test(s) || s.length % 4 !== 0) throw new DecodeError('bad_decimal', `not base64: ${preview(s)}`);
  return fromUnscaled(twosComplementToBigInt(Buffer.from(s, 'base64')), scale);
}

export interface DecimalOptions {
  /** Column scale, needed only for the `precise` base64 form (e.g. 2 for numeric(14,2)). */
  readonly scale?: number;
}

/**
 * Decodes a NUMERIC in any of Debezium's JSON forms. Decimal text wins over base64 when a string could be
 * both (e.g. "1250"), because the connector is configured for string mode; base64 is tried only for
 * strings that are not decimal text and only when the column scale is known.
 */
export function decodeDecimal(value: unknown, opts: DecimalOptions = {}): ExactDecimal {
  if (typeof value === 'string') {
    if (DECIMAL_TEXT.test(value)) return parseDecimalText(value);
    if (opts.scale !== undefined) return fromBase64(value, opts.scale);
    throw new DecodeError('bad_decimal', `not an exact decimal: ${preview(value)}`);
  }
  if (typeof value === 'number') {
    // Only integers are exact as JSON numbers (e.g. decimal.format=NUMERIC with scale 0).
    if (Number.isSafeInteger(value)) return fromUnscaled(BigInt(value), 0);
    throw new DecodeError('bad_decimal', `inexact JSON number for a NUMERIC: ${value}`);
  }
  if (value !== null && typeof value === 'object' && 'scale' in value && 'value' in value) {
    const { scale, value: raw } = value as { scale: unknown; value: unknown };
    if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || typeof raw !== 'string') {
      throw new DecodeError('bad_decimal', `malformed VariableScaleDecimal: ${preview(value)}`);
    }
    return fromBase64(raw, scale);
  }
  throw new DecodeError('bad_decimal', `not a decimal: ${preview(value)}`);
}

/** Rescales without losing digits; throws bad_decimal if non-zero digits would be cut off. */
export function rescale(d: ExactDecimal, scale: number): ExactDecimal {
  if (scale === d.scale) return d;
  checkScale(scale, d.text);
  if (scale > d.scale) return fromUnscaled(d.unscaled * 10n ** BigInt(scale - d.scale), scale);
  const factor = 10n ** BigInt(d.scale - scale);
  if (d.unscaled % factor !== 0n) {
    throw new DecodeError('bad_decimal', `${d.text} has more than ${scale} decimals`);
  }
  return fromUnscaled(d.unscaled / factor, scale);
}

/** Exact money: canonical 2-decimal text and integer cents (minor units). */
export interface Money {
  readonly text: string;
  readonly cents: bigint;
}

/** The usual wire form of numeric(14,2) in string mode: exactly two decimals, ≤ 15 digits, no leading zeros. */
const MONEY_TEXT = /^-?(?:0|[1-9]\d{0,12})\.\d{2}$/;

export function decodeMoney(value: unknown): Money {
  // Hot path (five per order event): ≤ 15 digits are exact in a double, so the cents integer is exact too.
  if (typeof value === 'string' && MONEY_TEXT.test(value)) {
    const cents = Number(value.replace('.', ''));
    return { text: cents === 0 && value.startsWith('-') ? value.slice(1) : value, cents: BigInt(cents) };
  }
  const d = rescale(decodeDecimal(value, { scale: 2 }), 2);
  return { text: d.text, cents: d.unscaled };
}

/**
 * A JSON number for an exact decimal. Safe because ≤15 significant digits round-trip through a double
 * and JSON.stringify prints the shortest text, which is the decimal itself (trailing zeros dropped).
 */
export function decimalToJsonNumber(d: { text: string }): number {
  const t = d.text;
  // Digits = length minus sign and dot (leading zeros counted too: conservative, and cheap on the hot path).
  const digits = t.length - (t.charCodeAt(0) === 0x2d || t.charCodeAt(0) === 0x2b ? 1 : 0) - (t.includes('.') ? 1 : 0);
  if (digits > 15) throw new DecodeError('bad_decimal', `${t} has too many digits for an exact JSON number`);
  return Number(t);
}

/** Cents as a JSON number; refuses values beyond 2^53 rather than rounding them. */
export function centsToJsonNumber(cents: bigint): number {
  const n = Number(cents);
  if (!Number.isSafeInteger(n))
    throw new DecodeError('bad_decimal', `amount ${cents} cents is beyond exact JSON numbers`);
  return n;
}
