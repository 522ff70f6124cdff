// Druid SQL for scripts, status and tests: typed rows, the server's error text on failure.
import axios from 'axios';
import type { PulsoConfig } from './config.ts';

export async function queryDruidSql<T = Record<string, unknown>>(
  cfg: PulsoConfig,
  query: string,
  context: Record<string, unknown> = {},
  timeoutMs = 60_000,
): Promise<T[]> {
  const res = await axios.post(
    `${cfg.druid.url}/druid/v2/sql`,
    { query, resultFormat: 'object', context: { sqlTimeZone: 'UTC', ...context } },
    { validateStatus: () => true, timeout: timeoutMs },
  );
  if (res.status !== 200) {
    const d = res.data ?? {};
    throw new Error(
      `Druid SQL failed (HTTP ${res.status}): ${d.errorMessage ?? d.error ?? JSON.stringify(d)}\n${query}`,
    );
  }
  return res.data as T[];
}

export class DruidQueryError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'DruidQueryError';
  }
}

export interface DruidTable {
  readonly columns: { readonly name: string; readonly sqlType: string }[];
  readonly rows: unknown[][];
}

/**
 * A parameterised Druid SQL query as a table: column names with their SQL types, then the rows. Druid's own
 * error text (or the connection error) on failure, never a bare status.
 */
export async function queryDruidTable(
  cfg: PulsoConfig,
  query: string,
  parameters: readonly { type: string; value: unknown }[],
  context: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<DruidTable> {
  const res = await axios
    .post(
      `${cfg.druid.url}/druid/v2/sql`,
      {
        query,
        parameters,
        resultFormat: 'array',
        header: true,
        sqlTypesHeader: true,
        context: { sqlTimeZone: 'UTC', ...context },
      },
      { validateStatus: () => true, timeout: timeoutMs },
    )
    .catch((e: unknown) => {
      throw new DruidQueryError(`Druid at ${cfg.druid.url} did not answer: ${(e as Error).message}`, 502);
    });
  if (res.status !== 200) {
    const d = res.data ?? {};
    throw new DruidQueryError(
      `Druid SQL failed (HTTP ${res.status}): ${d.errorMessage ?? d.error ?? JSON.stringify(d)}`,
      res.status,
    );
  }
  const [names, sqlTypes, ...rows] = res.data as unknown[][];
  return { columns: (names ?? []).map((n, i) => ({ name: String(n), sqlType: String(sqlTypes?.[i] ?? '') })), rows };
}
