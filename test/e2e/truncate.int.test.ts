// TRUNCATE orders CASCADE (a test reset, a cleanup job) under generator load: the transformer retracts every
// order it had asserted, exactly, so Druid's rollups equal PostgreSQL afterwards, and each truncated order is
// marked by a `truncated` event in the orders event datasource, with no event id twice. Before the fix Druid kept every truncated
// order in every rollup, silently.
import { describe, expect, it } from 'vitest';
import { transformerMetrics } from '../../lib/transformerClient.ts';
import pg from 'pg';
import { loadConfig } from '../../lib/config.ts';
import { queryDruidTable } from '../../lib/druidClient.ts';
import { runGenerator } from '../../generator/index.ts';
import { GROUPINGS } from '../../pipeline/reconcile.ts';
import { sleep } from '../../lib/poll.ts';
import { eventually } from '../support/eventually.ts';
import { expectGroupingEqual } from '../support/groupingsEqual.ts';

const cfg = loadConfig();
const log = (msg: string) => process.stderr.write(`[truncate.int ${new Date().toISOString()}] ${msg}\n`);

async function expectRollupsEqualPostgres(stage: string): Promise<void> {
  for (const g of GROUPINGS) {
    const t0 = Date.now();
    await expectGroupingEqual(cfg, g, stage);
    log(`${stage}: ${g.name} equal after ${Date.now() - t0} ms`);
  }
  log(`${stage}: every grouping equals PostgreSQL`);
}

describe('TRUNCATE of orders reaches Druid exactly', () => {
  it('under generator load: rollups equal PostgreSQL after it, and every truncated order has its truncated event', async () => {
    // Load that is still writing (new orders and lifecycle steps) when the truncate lands.
    // Live clock: ten minutes of history at 60× (lifecycles move), then real time; nothing dated in the future.
    const load = runGenerator({
      rate: 20,
      durationMs: 40_000,
      seed: `truncate-${Date.now()}`,
      clock: 'live',
      backfillMs: 600_000,
      speedup: 60,
      progress: 'off',
    });
    await sleep(15_000);
    const client = new pg.Client({ connectionString: cfg.pg.url });
    await client.connect();
    let truncatedIds: string[];
    try {
      await client.query('BEGIN');
      // The lock first, so that the ids read are exactly the rows the TRUNCATE removes.
      await client.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
      truncatedIds = (await client.query<{ id: string }>('SELECT id::text FROM orders')).rows.map((r) => r.id);
      await client.query('TRUNCATE orders CASCADE');
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    log(`truncated ${truncatedIds.length} orders (CASCADE: items, payments, history) while the generator was writing`);
    expect(truncatedIds.length).toBeGreaterThan(100);
    const summary = await load;
    log(`generator kept going: ${summary.ordersCreated} orders in its run`);
    await expectRollupsEqualPostgres('after TRUNCATE under load');

    // Every truncated order that reached the event datasource is marked, exactly once.
    const ids = new Set(truncatedIds);
    const perOrder = async () => {
      const t = await queryDruidTable(
        cfg,
        "SELECT order_id, SUM(CASE WHEN event_type = 'truncated' THEN 1 ELSE 0 END), COUNT(*) FROM orders GROUP BY 1",
        [],
      );
      return t.rows
        .filter((r) => ids.has(String(r[0])))
        .map((r) => ({ id: String(r[0]), truncated: Number(r[1]), events: Number(r[2]) }));
    };
    // Every change keeps its event; an order the ledger held gets one truncated event from the retraction, and a
    // change that was still on its way through another partition gets its own truncated marker after it.
    const { value: marked } = await eventually(
      'a truncated event for every truncated order in Druid',
      async () => {
        const rows = await perOrder();
        return rows.length === truncatedIds.length && rows.every((r) => r.truncated >= 1) ? rows : undefined;
      },
      120_000,
      1000,
    );
    const once = marked.filter((r) => r.truncated === 1).length;
    log(
      `all ${marked.length} truncated orders are marked in Druid: ${once} by the ledger's retraction alone, ${marked.length - once} with changes that arrived after the truncate too`,
    );
    const dup = await queryDruidTable(
      cfg,
      'SELECT COUNT(*) FROM (SELECT event_id FROM orders GROUP BY event_id HAVING COUNT(*) > 1)',
      [],
    );
    expect(Number(dup.rows[0]![0])).toBe(0);
    const m = await transformerMetrics<{ skipped_by_reason: Record<string, number> }>(cfg.transformer.metricsPort);
    log(`transformer skipped by reason: ${JSON.stringify(m.skipped_by_reason)}`);
  });
});
