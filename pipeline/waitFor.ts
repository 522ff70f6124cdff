// Waiting for a service with a visible countdown, then naming it and its URL if it never answers.
export class ServiceDownError extends Error {
  constructor(
    readonly service: string,
    readonly url: string,
    waitedS: number,
    lastError?: string,
  ) {
    super(`${service} at ${url} did not answer within ${waitedS}s${lastError ? ` (last error: ${lastError})` : ''}. Is it running? Locally: npm run up; with compose: docker compose ... up -d.`);
    this.name = 'ServiceDownError';
  }
}

export interface WaitOptions {
  readonly timeoutS: number;
  readonly log: (line: string) => void;
  readonly intervalMs?: number;
}

/** Polls `probe` until it returns true; prints "waiting for X at URL… Ns left" every 5 s. */
export async function waitForService(service: string, url: string, probe: () => Promise<boolean>, opts: WaitOptions): Promise<number> {
  const t0 = Date.now();
  const deadline = t0 + opts.timeoutS * 1000;
  let lastError: string | undefined;
  let lastPrint = 0;
  for (;;) {
    try {
      if (await probe()) return Date.now() - t0;
    } catch (e) {
      lastError = (e as Error).message;
    }
    const now = Date.now();
    if (now >= deadline) throw new ServiceDownError(service, url, opts.timeoutS, lastError);
    if (now - lastPrint >= 5000) {
      lastPrint = now;
      opts.log(`waiting for ${service} at ${url}… ${Math.ceil((deadline - now) / 1000)}s left`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}
