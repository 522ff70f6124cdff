// Polling for tests: until a probe returns a value or the time is up, reporting how long it took.
import { pollUntil } from '../../lib/poll.ts';
/** Polls until `fn` returns a value (not undefined) or the time is up; returns the value and how long it took. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const box = await pollUntil(
    async () => {
      const v = await fn();
      return v === undefined ? undefined : { v };
    },
    { what, timeoutMs, intervalMs: everyMs },
  );
  return { value: box.v, ms: Date.now() - t0 };
}
