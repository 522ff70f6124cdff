// TRUNCATE stock_levels (a cleanup job, a reset of the inventory) reaches Druid exactly: the transformer retracts
// every stock row it had asserted, so stock now per product in Druid equals PostgreSQL's (nothing), the "now" stats
// read 0, and the rows written again afterwards (the generator's own rule, pulso_stock_for_new_products) sum
// exactly too, through the orders that move them.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../../lib/config.ts';
import { queryDruidSql } from '../../lib/druidClient.ts';
import { runGenerator } from '../../generator/index.ts';
import { GROUPINGS } from '../../pipeline/reconcile.ts';
import { listPanelQueries, substituteRange } from '../../grafana/src/panelQueryList.ts';
import { eventually } from '../support/eventually.ts';
import { withStackPg } from '../support/stackPostgres.ts';
import { expectGroupingEqual } from '../support/groupingsEqual.ts';

const cfg = loadConfig();
const log = (msg: string) => process.stderr.write(`[stockTruncate ${new Date().toISOString()}] ${msg}\n`);
const STOCK = GROUPINGS.find((g) => g.name.startsWith('stock per product'))!;
const withPg = <T>(fn: (c: pg.Client) => Promise<T>) => withStackPg(cfg, fn);
const NOW_STATS = ['Products low on stock now', 'Out of stock now', 'Impossible stock'] as const;

async function nowStats(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const title of NOW_STATS) {
    const q = listPanelQueries().find((p) => p.dashboard === 'risk-inventory.json' && p.panelTitle === title)!;
    const [row] = await queryDruidSql<Record<string, number>>(
      cfg,
      substituteRange(q.sql, Date.now() - 3600_000, Date.now()),
    );
    out[title] = Number(Object.values(row ?? {}).at(-1) ?? 0);
  }
  return out;
}

const stockRows = () =>
  withPg(async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM stock_levels')).rows[0]!.n));

describe('TRUNCATE of stock_levels reaches Druid exactly', () => {
  it('stock now sums to nothing after it, and to the new rows after they are written again', async () => {
    // Stock that has moved: a short live run (reservations, returns, rejections) before the truncate.
    const live = {
      rate: 20,
      durationMs: 15_000,
      clock: 'live',
      backfillMs: 600_000,
      speedup: 60,
      progress: 'off',
    } as const;
    await runGenerator({ ...live, seed: `stock-truncate-${Date.now()}` });
    await expectGroupingEqual(cfg, STOCK, 'before the truncate');
    const before = await stockRows();
    expect(before).toBeGreaterThan(1000);
    log(`before: ${before} stock rows; now stats ${JSON.stringify(await nowStats())}`);

    await withPg((c) => c.query('TRUNCATE stock_levels'));
    expect(await stockRows()).toBe(0);
    await expectGroupingEqual(cfg, STOCK, 'after TRUNCATE stock_levels');
    const { value: emptied } = await eventually(
      'the stock-now stats to read 0',
      async () => {
        const s = await nowStats();
        return Object.values(s).every((v) => v === 0) ? s : undefined;
      },
      60_000,
      1000,
    );
    log(`after the truncate: Druid sums every product to 0 rows and 0 units; now stats ${JSON.stringify(emptied)}`);

    // Written again by the generator's own rule, then moved by orders: exact again.
    const added = await withPg(
      async (c) => (await c.query<{ n: number }>('SELECT pulso_stock_for_new_products() AS n')).rows[0]!.n,
    );
    expect(added).toBe(before);
    await runGenerator({ ...live, seed: `stock-truncate-after-${Date.now()}` });
    await expectGroupingEqual(cfg, STOCK, 'after the rows were written again and moved');
    log(`after refill: ${added} rows written again and moved by a live run; equal to PostgreSQL`);
  });
});
