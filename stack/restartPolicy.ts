// When the supervisor restarts a dead service, and when it stops trying. Pure: the loop in supervisor.ts
// owns the clock and the processes; this module only decides.

export interface RestartPolicy {
  /** Delay before the first restart; each restart within the window doubles it. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** At most this many restarts within `windowMs`; one more and the service is given up on. */
  readonly budget: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  firstDelayMs: 500,
  maxDelayMs: 30_000,
  budget: 5,
  windowMs: 10 * 60_000,
};

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly attempt: number }
  | { readonly action: 'give-up'; readonly why: string };

/**
 * Decides what to do about a death at `now`, given when the earlier restarts happened. Restarts older than
 * the window are forgiven: a service that crashes once a day is restarted every time, promptly; one that
 * crash-loops is given up on after `budget` tries instead of being restarted forever.
 */
export function decideRestart(
  earlierRestarts: readonly number[],
  now: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): RestartDecision {
  const recent = earlierRestarts.filter((t) => now - t < policy.windowMs).length;
  if (recent >= policy.budget) {
    return {
      action: 'give-up',
      why: `${recent} restarts within ${Math.round(policy.windowMs / 60_000)} min (budget ${policy.budget})`,
    };
  }
  const delayMs = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** recent);
  return { action: 'restart', delayMs, attempt: recent + 1 };
}

/** How a process ended, as a person reads it. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}`;
  if (code === 0) return 'exited with status 0 (unexpectedly: services run until stopped)';
  return `exited with status ${code ?? 'unknown'}`;
}

/** What the transformer's /health answers (transformer/metricsServer.ts). */
export type { TransformerHealthBody } from '../lib/transformerClient.ts';
import type { TransformerHealthBody } from '../lib/transformerClient.ts';

/**
 * Pure: is a live transformer working, busy, or stuck? A consumer crash loop is stuck; a state re-read is busy
 * while it makes progress (records read went up since the previous look) and stuck when it does not; anything
 * else is left to the health check. The supervisor restarts a service judged stuck for a whole minute.
 */
export function judgeTransformer(
  body: TransformerHealthBody | undefined,
  previous: TransformerHealthBody | undefined,
): { ok: true } | { ok: false; why: string } {
  if (body?.status === 'crash-looping')
    return {
      ok: false,
      why: `its consumer keeps crashing (${body.consumer_crashes} crashes, last: ${String(body.last_error).slice(0, 200)})`,
    };
  if (
    body?.status === 'restoring' &&
    previous?.status === 'restoring' &&
    (body.restored ?? 0) <= (previous.restored ?? 0)
  ) {
    return { ok: false, why: `its state re-read makes no progress (${body.restored} of ${body.to_restore} records)` };
  }
  return { ok: true };
}
