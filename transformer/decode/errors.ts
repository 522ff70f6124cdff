// Why a record could not become an event. The reason is the `dlq.reason` header of the dead-letter record,
// so it must stay a small, stable vocabulary that dashboards and alerts can group by.
import { PulsoError } from '../../lib/errors.ts';

export type DlqReason =
  | 'invalid_json' // value (or key) bytes are not JSON
  | 'not_an_envelope' // JSON, but not a Debezium envelope (no op/source, wrong shapes)
  | 'unknown_op' // op outside c/u/d/r/t/m
  | 'missing_field' // a column the contract needs is absent or null
  | 'bad_field' // a column has the wrong JSON type (e.g. an object where an id belongs)
  | 'bad_decimal' // a NUMERIC that is not an exact decimal, or money with more than 2 decimals
  | 'bad_timestamp' // a temporal value that cannot be decoded (or ±infinity)
  | 'bad_id' // an id that is not an integer
  | 'before_image_incomplete' // an update/delete without the full old row (REPLICA IDENTITY not FULL): no delta can be checked
  | 'source_position_missing' // a streamed change without its commit LSN or LSN: it cannot be de-duplicated, so it is not guessed
  | 'source_position_rewound'; // far below what this partition already emitted: the source database was reset or restored

/** Not retriable: the record itself is bad; it goes to the dead-letter topic with its reason. */
export class DecodeError extends PulsoError {
  readonly reason: DlqReason;
  constructor(reason: DlqReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export function isDecodeError(e: unknown): e is DecodeError {
  return e instanceof DecodeError;
}
