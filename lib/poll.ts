// The one waiting helper of the codebase: poll a probe until it yields a value, with a deadline, a back-off,
// an abort signal and progress reports; and retry an operation whose failures are transient. Everything that
// waits (stack start-up, bootstrap, the transformer's readers, benchmarks, tests) goes through here.
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetriable, PulsoError } from './errors.ts';

export { sleep };

/** Retriable: waiting longer may see it happen; the probe's last error is its cause. */
export class PollTimeoutError extends PulsoError {
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    readonly lastError: unknown,
  ) {
    super(
      `timed out after ${(waitedMs / 1000).toFixed(1)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : ''}`,
      { retriable: true, cause: lastError },
    );
  }
}

export interface PollOptions {
  /** Named in the timeout error and the progress lines. */
  readonly what: string;
  readonly timeoutMs: number;
  /** First pause between probes (default 250 ms). */
  readonly intervalMs?: number;
  /** Each pause is the previous one times this (default 1: a steady interval). */
  readonly backoff?: number;
  /** Upper bound of a pause (default 5 s). */
  readonly maxIntervalMs?: number;
  readonly signal?: AbortSignal;
  /**
   * A probe error this returns true for ends the wait at once (rethrown); other errors mean "not yet".
   * Default: an error of ours (PulsoError) that says it is not retriable.
   */
  readonly isFatal?: (error: unknown) => boolean;
  /** Called about every `progressEveryMs` (default 5 s) while still waiting, with the time left. */
  readonly onProgress?: (p: { what: string; leftMs: number; lastError: unknown }) => void;
  readonly progressEveryMs?: number;
}

/** A probe's "not yet": anything but undefined, null and false ends the wait and is returned. */
const isFatalByDefault = (e: unknown): boolean => e instanceof PulsoError && !e.retriable;

type NotYet = undefined | null | false;

/**
 * Probes until it returns a value, then returns it. A probe that throws counts as "not yet" and its error is
 * kept for the timeout message, unless `isFatal` says it ends the wait. Throws PollTimeoutError at the deadline, or the signal's reason when aborted.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | NotYet> | T | NotYet,
  opts: PollOptions,
): Promise<Exclude<T, NotYet>> {
  const t0 = Date.now();
  let pause = opts.intervalMs ?? 250;
  let lastError: unknown;
  let lastProgress = t0;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, NotYet>;
    } catch (e) {
      if ((opts.isFatal ?? isFatalByDefault)(e)) throw e;
      lastError = e;
    }
    const now = Date.now();
    const leftMs = t0 + opts.timeoutMs - now;
    if (leftMs <= 0) throw new PollTimeoutError(opts.what, now - t0, lastError);
    if (opts.onProgress && now - lastProgress >= (opts.progressEveryMs ?? 5000)) {
      lastProgress = now;
      opts.onProgress({ what: opts.what, leftMs, lastError });
    }
    await sleep(Math.min(pause, leftMs), undefined, { signal: opts.signal });
    pause = Math.min(pause * (opts.backoff ?? 1), opts.maxIntervalMs ?? 5000);
  }
}

export interface RetryOptions {
  /** Attempts in total, the first included. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  /** Delay multiplier per attempt (default 2), capped at maxDelayMs (default 5 s). */
  readonly backoff?: number;
  readonly maxDelayMs?: number;
  /** Only these failures are retried; any other is thrown at once. Default: what says it is retriable (lib/errors.ts). */
  readonly isRetriable?: (error: unknown) => boolean;
  readonly onRetry?: (p: { attempt: number; delayMs: number; error: unknown }) => void;
  readonly signal?: AbortSignal;
}

/** Runs `op` until it succeeds, retrying transient failures with exponential back-off. The last failure is thrown. */
export async function retry<T>(op: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  let delay = opts.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (attempt >= opts.attempts || !(opts.isRetriable ?? isRetriable)(e)) throw e;
      opts.onRetry?.({ attempt, delayMs: delay, error: e });
      await sleep(delay, undefined, { signal: opts.signal });
      delay = Math.min(delay * (opts.backoff ?? 2), opts.maxDelayMs ?? 5000);
    }
  }
}
