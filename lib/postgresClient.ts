// Connecting to PostgreSQL with retries: the database may still be starting (stack `up`, containers),
// so transient failures are retried with exponential backoff; anything else fails at once. Errors name
// the URL that was tried, with the password redacted.
import pg from 'pg';
import { redactUrl } from './config.ts';
import type { Logger } from './log.ts';
import { retry } from './poll.ts';
import { PulsoError } from './errors.ts';

/** Retriable: the database may come back (a restart, a failover); the message says what was tried. */
export class DatabaseUnreachableError extends PulsoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { retriable: true, cause: options?.cause });
  }
}

export interface ConnectOptions {
  /** Attempts before giving up (default 6: about 15 s in total). */
  readonly attempts?: number;
  /** First backoff delay in ms; doubles each time, capped at 5 s. */
  readonly initialDelayMs?: number;
  readonly log?: Logger;
  /** application_name shown in pg_stat_activity. */
  readonly applicationName?: string;
  /** Session settings sent in the startup packet (`-c name=value`), so a reconnect has them too. */
  readonly sessionSettings?: Readonly<Record<string, string>>;
}

// Errors worth waiting out: nothing listening yet, DNS not ready, server starting or shutting down.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P03',
  '53300',
]);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isTransientConnectError(err: unknown): boolean {
  const code = errorCode(err);
  if (code && TRANSIENT_CODES.has(code)) return true;
  // AggregateError from a dual-stack connect: transient if every inner error is.
  const inner = (err as { errors?: unknown[] } | null)?.errors;
  return Array.isArray(inner) && inner.length > 0 && inner.every(isTransientConnectError);
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const msg = err instanceof Error && err.message ? err.message : String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

export async function connectWithRetry(databaseUrl: string, opts: ConnectOptions = {}): Promise<pg.Client> {
  const attempts = opts.attempts ?? 6;
  const shown = redactUrl(databaseUrl);
  const connectOnce = async () => {
    const options =
      Object.entries(opts.sessionSettings ?? {})
        .map(([k, v]) => `-c ${k}=${v}`)
        .join(' ') || undefined;
    const client = new pg.Client({
      connectionString: databaseUrl,
      application_name: opts.applicationName ?? 'pulso',
      options,
    });
    // A server-side disconnect while idle must not crash the process; the next query reports it.
    client.on('error', (err) => opts.log?.warn('postgres connection error', { url: shown, error: describe(err) }));
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };
  try {
    return await retry(connectOnce, {
      attempts,
      initialDelayMs: opts.initialDelayMs ?? 250,
      isRetriable: isTransientConnectError,
      onRetry: ({ attempt, delayMs, error }) =>
        opts.log?.warn('postgres not reachable yet, retrying', {
          url: shown,
          attempt,
          retryInMs: delayMs,
          error: describe(error),
        }),
    });
  } catch (err) {
    if (!isTransientConnectError(err))
      throw new DatabaseUnreachableError(`Cannot connect to PostgreSQL at ${shown}: ${describe(err)}`, { cause: err });
    throw new DatabaseUnreachableError(
      `PostgreSQL at ${shown} is unreachable after ${attempts} attempts (${describe(err)}). ` +
        'Is it running? Start the stack with `npm run up`, or point DATABASE_URL at a PostgreSQL with wal_level=logical.',
      { cause: err },
    );
  }
}
