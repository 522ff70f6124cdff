// The one error base class of the codebase, as kafkajs has KafkaJSError: every error we throw says whether
// trying again can succeed (`retriable`) and carries what caused it (`cause`). The retry and poll helpers
// (lib/poll.ts) read `retriable`; a caller never needs to know a module's own predicate.

export interface PulsoErrorOptions {
  /** Whether the same operation, tried again later, can succeed (a service still starting, a lost connection). */
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

export class PulsoError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: PulsoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/**
 * Whether an error is worth retrying: ours say so; so do kafkajs' (KafkaJSError has the same `retriable`);
 * anything else (a programming error, an unknown library's) is not.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof PulsoError) return error.retriable;
  const flag = (error as { retriable?: unknown } | null | undefined)?.retriable;
  return typeof flag === 'boolean' ? flag : false;
}

/** A message for an unknown thrown value: the Error's message, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
