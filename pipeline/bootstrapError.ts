// The bootstrap's error (what was refused, with the service's own words and the fix) and its wait: a
// BootstrapError from a probe ends the wait at once (it is not retriable); a timeout becomes one too.
import { PulsoError } from '../lib/errors.ts';
import { pollUntil, PollTimeoutError } from '../lib/poll.ts';

export class BootstrapError extends PulsoError {}

/** Polls until `probe` says done; a timeout throws a BootstrapError with `timeoutMessage()`. */
export async function waitUntil(
  what: string,
  waitS: number,
  probe: () => Promise<boolean>,
  timeoutMessage: () => string,
): Promise<void> {
  await pollUntil(probe, { what, timeoutMs: waitS * 1000, intervalMs: 500 }).catch((e: unknown) => {
    throw e instanceof PollTimeoutError ? new BootstrapError(timeoutMessage()) : e;
  });
}
