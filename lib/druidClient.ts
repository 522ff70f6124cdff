// Druid SQL for scripts, status and tests: typed rows, the server's error text on failure.
import axios from 'axios';
import type { PulsoConfig } from './config.ts';

export async function queryDruidSql<T = Record<string, unknown>>(cfg: PulsoConfig, query: string, context: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T[]> {
  const res = await axios.post(`${cfg.druid.url}/druid/v2/sql`, { query, resultFormat: 'object', context: { sqlTimeZone: 'UTC', ...context } }, { validateStatus: () => true, timeout: timeoutMs });
  if (res.status !== 200) {
    const d = res.data ?? {};
    throw new Error(`Druid SQL failed (HTTP ${res.status}): ${d.errorMessage ?? d.error ?? JSON.stringify(d)}\n${query}`);
  }
  return res.data as T[];
}
