// What the generator's integration tests share: a silent logger, a small marketplace, and rows read by SQL.
import pg from 'pg';
import type { Logger } from '../../lib/log.ts';
import type { WorldScale } from '../../generator/world.ts';

export const QUIET: Logger = { debug() {}, info() {}, warn() {}, error() {} };
export const SMALL_WORLD: WorldScale = { stores: 120, customers: 1500 };

export async function rows<T extends pg.QueryResultRow>(databaseUrl: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}
