// Debezium record (key bytes, value bytes, topic) → a typed, validated change. Pure: no Kafka here.
// Shapes follow the JsonConverter with schemas disabled (reference §1.1–1.3):
//   value = {before, after, source, op, ts_ms, ...}; null value = tombstone; op t has a null key;
//   heartbeats live on __debezium-heartbeat.<prefix>; op m is a logical decoding message.
import { DecodeError, type DlqReason } from './errors.ts';
import { parseJsonLossless } from './parseJsonLossless.ts';
import { isPlainObject } from './values.ts';

/** Default `unavailable.value.placeholder`: an unchanged TOASTed column Debezium could not read. */
export const UNAVAILABLE_PLACEHOLDER = '__debezium_unavailable_value';

export type ChangeOp = 'c' | 'u' | 'd' | 'r';
/** A row image with placeholder columns removed (their names are listed in `unavailable`). */
export interface RowImage {
  readonly columns: Readonly<Record<string, unknown>>;
  /** Columns whose value Debezium did not have (TOAST placeholder): the previous value still holds. */
  readonly unavailable: readonly string[];
}

export interface SourceInfo {
  readonly connectorName: string | null;
  readonly db: string | null;
  readonly schema: string;
  readonly table: string;
  /** Commit time of the transaction (snapshot rows: when the snapshot read them). */
  readonly tsMs: number;
  readonly txId: string | null;
  /** LSN of this change, decimal text. */
  readonly lsn: string | null;
  /** `sequence[0]`: LSN of the last commit before this change's transaction, decimal text. */
  readonly commitLsn: string | null;
  /** `source.snapshot` is a string enum (true, first, last, incremental, false …) or null when streaming. */
  readonly snapshot: string | null;
}

export interface ChangeRecord {
  readonly kind: 'change';
  readonly op: ChangeOp;
  readonly key: Readonly<Record<string, unknown>> | null;
  readonly before: RowImage | null;
  readonly after: RowImage | null;
  readonly source: SourceInfo;
  /** True for snapshot reads (op r): initial, blocking and incremental snapshots. */
  readonly isSnapshot: boolean;
}

export type DecodedRecord =
  | ChangeRecord
  | { readonly kind: 'tombstone'; readonly key: Readonly<Record<string, unknown>> | null }
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'truncate'; readonly source: SourceInfo }
  | { readonly kind: 'message'; readonly prefix: string | null };

export const HEARTBEAT_TOPIC_PREFIX = '__debezium-heartbeat';

function lsnText(v: unknown, field: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return v;
  throw new DecodeError('not_an_envelope', `source.${field} is not an LSN: ${JSON.stringify(v)}`);
}

/** `source.sequence` is a JSON array serialised into a string: ["<lastCommitLsn>","<currentLsn>"]. */
const SEQUENCE = /^\[\s*(?:"?(\d+)"?|(null)|"null")\s*,\s*(?:"?(\d+)"?|(null)|"null")\s*\]$/;
function parseSequence(v: unknown): { commitLsn: string | null; lsn: string | null } {
  if (v === null || v === undefined) return { commitLsn: null, lsn: null };
  if (typeof v !== 'string')
    throw new DecodeError('not_an_envelope', `source.sequence is not a string: ${JSON.stringify(v)}`);
  // A regex instead of a second JSON parse: this runs for every envelope.
  const m = SEQUENCE.exec(v);
  if (!m) throw new DecodeError('not_an_envelope', `source.sequence is not a pair of LSNs: ${v}`);
  return { commitLsn: m[1] ?? null, lsn: m[3] ?? null };
}

export function decodeSource(raw: unknown): SourceInfo {
  if (!isPlainObject(raw)) throw new DecodeError('not_an_envelope', 'source is missing');
  const { schema, table, ts_ms: tsMs } = raw;
  if (typeof table !== 'string' || typeof schema !== 'string')
    throw new DecodeError('not_an_envelope', 'source.schema/table missing');
  if (typeof tsMs !== 'number' || !Number.isSafeInteger(tsMs))
    throw new DecodeError('not_an_envelope', 'source.ts_ms is not epoch ms');
  const seq = parseSequence(raw.sequence);
  const txId = raw.txId === null || raw.txId === undefined ? null : lsnText(raw.txId, 'txId');
  const snapshot = raw.snapshot === null || raw.snapshot === undefined ? null : String(raw.snapshot);
  return {
    connectorName: typeof raw.name === 'string' ? raw.name : null,
    db: typeof raw.db === 'string' ? raw.db : null,
    schema,
    table,
    tsMs,
    txId,
    lsn: lsnText(raw.lsn, 'lsn') ?? seq.lsn,
    commitLsn: seq.commitLsn,
    snapshot: snapshot === 'false' ? null : snapshot,
  };
}

function decodeRow(raw: unknown, which: string, placeholder: string): RowImage | null {
  if (raw === null || raw === undefined) return null;
  if (!isPlainObject(raw)) throw new DecodeError('not_an_envelope', `${which} is not an object`);
  let unavailable: string[] | undefined;
  for (const col in raw) {
    if (raw[col] === placeholder) (unavailable ??= []).push(col);
  }
  if (!unavailable) return { columns: raw, unavailable: [] };
  // Copy without the placeholder columns: the placeholder must never be read as data downstream.
  const columns: Record<string, unknown> = {};
  for (const [col, v] of Object.entries(raw)) if (v !== placeholder) columns[col] = v;
  return { columns, unavailable };
}

function decodeKey(key: Buffer | string | null): Record<string, unknown> | null {
  if (key === null || key.length === 0) return null;
  const parsed = parseJsonLossless(typeof key === 'string' ? key : key.toString('utf8'));
  if (parsed === null) return null;
  if (!isPlainObject(parsed)) throw new DecodeError('not_an_envelope', 'key is not a JSON object');
  return parsed;
}

export interface EnvelopeInput {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer | string | null;
}

export function decodeEnvelope(input: EnvelopeInput, placeholder = UNAVAILABLE_PLACEHOLDER): DecodedRecord {
  if (input.topic.startsWith(HEARTBEAT_TOPIC_PREFIX)) return { kind: 'heartbeat' };
  if (input.value === null || input.value.length === 0) return { kind: 'tombstone', key: decodeKey(input.key) };
  const value = parseJsonLossless(typeof input.value === 'string' ? input.value : input.value.toString('utf8'));
  if (!isPlainObject(value)) throw new DecodeError('not_an_envelope', 'value is not a JSON object');
  const op = value.op;
  if (typeof op !== 'string') throw new DecodeError('not_an_envelope', 'op is missing');
  switch (op) {
    case 'm': {
      const msg = value.message;
      return { kind: 'message', prefix: isPlainObject(msg) && typeof msg.prefix === 'string' ? msg.prefix : null };
    }
    case 't':
      return { kind: 'truncate', source: decodeSource(value.source) };
    case 'c':
    case 'u':
    case 'd':
    case 'r': {
      const source = decodeSource(value.source);
      const before = decodeRow(value.before, 'before', placeholder);
      const after = decodeRow(value.after, 'after', placeholder);
      if (op === 'd' ? before === null : after === null) {
        throw new DecodeError('missing_field', `op ${op} without ${op === 'd' ? 'before' : 'after'}`);
      }
      // The key repeats the primary key that the row already has: parsed only when someone asks (dimension
      // tables), which keeps a second JSON parse off the hot path of every order event.
      return {
        kind: 'change',
        op,
        get key() {
          return decodeKey(input.key);
        },
        before,
        after,
        source,
        isSnapshot: op === 'r',
      };
    }
    default:
      throw new DecodeError('unknown_op', `unknown op ${JSON.stringify(op)}`);
  }
}

/** The row a change describes: `after`, or `before` for deletes. */
export function currentRow(change: ChangeRecord): RowImage {
  return (change.op === 'd' ? change.before : change.after)!;
}

export type { DlqReason };
