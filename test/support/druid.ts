// Small Druid SQL client for tests and scripts: typed rows, the server's error text on failure.
import axios from 'axios';
import type { PulsoConfig } from '../../lib/config.ts';

export async function druidSql<T = Record<string, unknown>>(cfg: PulsoConfig, query: string, context: Record<string, unknown> = {}): Promise<T[]> {
  const res = await axios.post(`${cfg.druid.url}/druid/v2/sql`, { query, resultFormat: 'object', context: { sqlTimeZone: 'UTC', ...context } }, { validateStatus: () => true, timeout: 60_000 });
  if (res.status !== 200) {
    const d = res.data ?? {};
    throw new Error(`Druid SQL failed (HTTP ${res.status}): ${d.errorMessage ?? d.error ?? JSON.stringify(d)}\n${query}`);
  }
  return res.data as T[];
}

/** Polls until `fn` returns a value (not undefined) or the time is up; returns the value and how long it took. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 100): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < timeoutMs) {
    try {
      const v = await fn();
      if (v !== undefined) return { value: v, ms: Date.now() - t0 };
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
