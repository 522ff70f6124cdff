// Small value decoders shared by the envelope and event mappers. int64 values may arrive as JSON numbers
// or, past 15 digits, as decimal strings (see parseJsonLossless), so both forms are accepted everywhere.
import { DecodeError } from './errors.ts';

const INTEGER_TEXT = /^-?\d+$/;
/** Already canonical decimal text (no leading zeros, no "-0"): returned as is, no BigInt round trip. */
const CANONICAL_INTEGER_TEXT = /^(?:0|-?[1-9]\d*)$/;

/** A bigint column (id) as canonical decimal text, never via a lossy JS number. */
export function decodeId(value: unknown, field: string): string {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return String(value);
    throw new DecodeError('bad_id', `${field}=${value} is not an exact integer`);
  }
  if (typeof value === 'string') {
    if (CANONICAL_INTEGER_TEXT.test(value)) return value;
    if (INTEGER_TEXT.test(value)) return BigInt(value).toString();
  }
  if (value === null || value === undefined) throw new DecodeError('missing_field', `${field} is missing`);
  throw new DecodeError('bad_id', `${field}=${JSON.stringify(value)} is not an integer`);
}

export function decodeBigInt(value: unknown, field: string): bigint {
  return BigInt(decodeId(value, field));
}

/** An int32 column (quantity, version, item_count). */
export function decodeInt(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (value === null || value === undefined) throw new DecodeError('missing_field', `${field} is missing`);
  throw new DecodeError('bad_field', `${field}=${JSON.stringify(value)} is not an integer`);
}

export function decodeString(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) throw new DecodeError('missing_field', `${field} is missing`);
  throw new DecodeError('bad_field', `${field}=${JSON.stringify(value)} is not a string`);
}

export function decodeOptionalString(value: unknown, field: string): string | null {
  if (value === null || value === undefined) return null;
  return decodeString(value, field);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
