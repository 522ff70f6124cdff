// One statement or a few against the running stack's PostgreSQL as its owner, on a connection of their own: what
// the end-to-end tests do to the database besides the generator (edits, deletes, the truth they compare with).
import pg from 'pg';
import type { PulsoConfig } from '../../lib/config.ts';

export async function withStackPg<T>(cfg: PulsoConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: cfg.pg.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
