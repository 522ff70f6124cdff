// Waiting for a service with a visible countdown, then naming it and its URL if it never answers.
import { pollUntil, PollTimeoutError } from '../lib/poll.ts';
export class ServiceDownError extends Error {
  constructor(
    readonly service: string,
    readonly url: string,
    waitedS: number,
    lastError?: string,
  ) {
    super(
      `${service} at ${url} did not answer within ${waitedS}s${lastError ? ` (last error: ${lastError})` : ''}. Is it running? Locally: npm run up; with compose: docker compose ... up -d.`,
    );
    this.name = 'ServiceDownError';
  }
}

export interface WaitOptions {
  readonly timeoutS: number;
  readonly log: (line: string) => void;
  readonly intervalMs?: number;
}

/** Polls `probe` until it returns true; prints "waiting for X at URL… Ns left" every 5 s. */
export async function waitForService(
  service: string,
  url: string,
  probe: () => Promise<boolean>,
  opts: WaitOptions,
): Promise<number> {
  const t0 = Date.now();
  try {
    await pollUntil(probe, {
      what: `${service} at ${url}`,
      timeoutMs: opts.timeoutS * 1000,
      intervalMs: opts.intervalMs ?? 500,
      onProgress: ({ leftMs }) => opts.log(`waiting for ${service} at ${url}… ${Math.ceil(leftMs / 1000)}s left`),
    });
  } catch (e) {
    if (e instanceof PollTimeoutError)
      throw new ServiceDownError(service, url, opts.timeoutS, (e.lastError as Error | undefined)?.message);
    throw e;
  }
  return Date.now() - t0;
}
