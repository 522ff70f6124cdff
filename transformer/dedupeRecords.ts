// The dedupe state's records in the state topic: their key prefixes, and the check of each one's value (a
// record written by hand or by another version is reported and skipped at restore, never trusted).
import { PulsoError } from '../lib/errors.ts';
export const WATERMARK_PREFIX = 'wm|';
export const OFFSET_PREFIX = 'off|';
export const SNAPSHOT_PREFIX = 'snap|';
export const TRUNCATE_PREFIX = 'trunc|';

export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}|${partition}`;
}

/** A state record's value as it is in the topic, checked: anything else throws, naming what is wrong. */
function parseJson<T>(key: string, value: string, ok: (v: Record<string, unknown>) => boolean): T {
  const v = JSON.parse(value) as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object' || !ok(v))
    throw new PulsoError(`state record ${key.slice(0, 100)} is not what its prefix says: ${value.slice(0, 200)}`);
  return v as T;
}
const isLsn = (x: unknown) => typeof x === 'string' && /^\d+$/.test(x);
export const parseWatermark = (key: string, value: string) =>
  parseJson<{ commit_lsn: string; lsn: string; rank: number }>(
    key,
    value,
    (v) => isLsn(v.commit_lsn) && isLsn(v.lsn) && typeof v.rank === 'number',
  );
export const parseOffset = (key: string, value: string) =>
  parseJson<{ offset: string }>(key, value, (v) => isLsn(v.offset));
export const parseTruncation = (key: string, value: string) =>
  parseJson<{ commit_lsn: string; lsn: string }>(key, value, (v) => isLsn(v.commit_lsn) && isLsn(v.lsn));
export const parseSnapshot = (key: string, value: string) =>
  parseJson<{ version: string }>(key, value, (v) => typeof v.version === 'string');

/** The dedupe state's keys and the check of each one's value (the rollup ledger has its own prefix). */
const DEDUPE_RECORDS: readonly [prefix: string, check: (key: string, value: string) => unknown][] = [
  [WATERMARK_PREFIX, parseWatermark],
  [OFFSET_PREFIX, parseOffset],
  [TRUNCATE_PREFIX, parseTruncation],
  [SNAPSHOT_PREFIX, parseSnapshot],
];

/** True for a key of the dedupe state; throws if its value is not what the key says. */
export function checkDedupeRecord(key: string, value: string | null): boolean {
  const kind = DEDUPE_RECORDS.find(([prefix]) => key.startsWith(prefix));
  if (!kind) return false;
  if (value !== null) kind[1](key, value);
  return true;
}
