// Druid exactly once across an indexer crash: the indexer is SIGKILLed while its Kafka tasks ingest, the
// supervisor brings it back (nobody runs `up`), and then every event datasource holds exactly one row per
// record of its topic, with no event id twice, and the rollups still equal PostgreSQL to the cent.
import { describe, it, expect } from 'vitest';
import { loadConfig, withLocalSecrets } from '../../lib/config.ts';
import { queryDruidSql } from '../../lib/druidClient.ts';
import { runGenerator } from '../../generator/index.ts';
import { paths } from '../../stack/manager.ts';
import { runningPid } from '../../stack/processes.ts';
import { readSupervisorState } from '../../stack/supervisorState.ts';
import { GROUPINGS, eventDatasources, eventIntegrity, reconcileGrouping } from '../../pipeline/reconcile.ts';
import { eventually } from '../support/eventually.ts';

const cfg = withLocalSecrets(loadConfig());
const log = (msg: string) => process.stderr.write(`[indexer-crash ${new Date().toISOString()}] ${msg}\n`);
// A stack started fresh has no `orders` datasource until its first segment: that is 0 rows, not an error.
const ordersRows = async () =>
  queryDruidSql<{ n: number }>(cfg, 'SELECT COUNT(*) AS n FROM orders').then(
    (r) => r[0]?.n ?? 0,
    (e: Error) => (/not found/.test(e.message) ? 0 : Promise.reject(e)),
  );

describe('Druid exactly once across an indexer crash', () => {
  it('SIGKILL of the indexer mid-stream: rows = records in each topic, no duplicate event_id, rollups equal PostgreSQL', async () => {
    // Earlier tests may have left the datasources in any exact state; this crash must add no row and no duplicate.
    const before = new Map<string, { excess: number; duplicates: number }>();
    for (const { datasource, topic } of eventDatasources(cfg)) {
      const x = await eventually(
        `${datasource} to have caught up before the crash`,
        async () => {
          const r = await eventIntegrity(cfg, datasource, topic).catch(() => undefined);
          return r && r.druidRows >= r.topicRecords ? r : undefined;
        },
        300_000,
        2000,
      );
      before.set(datasource, {
        excess: x.value.druidRows - x.value.topicRecords,
        duplicates: x.value.duplicateEventIds,
      });
    }
    log(`before: ${JSON.stringify(Object.fromEntries(before))}`);
    const base = await ordersRows();
    const run = runGenerator({
      rate: 150,
      orders: 2500,
      seed: 'indexer-crash',
      speedup: 600,
      drain: true,
      progress: 'off',
    });
    // Mid-stream: the tasks have ingested part of this run and more is on its way.
    const { value: ingested } = await eventually(
      'Druid to be ingesting the new run',
      async () => {
        const n = (await ordersRows()) - base;
        return n > 1500 ? n : undefined;
      },
      180_000,
      250,
    );
    const pid = runningPid(paths(cfg), 'druid-indexer');
    expect(pid).toBeDefined();
    const restartsBefore = readSupervisorState(paths(cfg))?.services['druid-indexer']?.restarts ?? 0;
    process.kill(-pid!, 'SIGKILL');
    log(`SIGKILLed the Druid indexer (process group ${pid}) after ${ingested} rows of this run`);
    const sup = await eventually(
      'the supervisor to bring the indexer back',
      async () => {
        const s = readSupervisorState(paths(cfg))?.services['druid-indexer'];
        return s && s.restarts > restartsBefore && s.state === 'running' ? s : undefined;
      },
      240_000,
      500,
    );
    log(`indexer back in ${sup.value.lastRecoveryMs} ms (${sup.value.lastReason})`);
    const summary = await run;
    expect(summary.ordersCreated).toBe(2500);

    for (const { datasource, topic } of eventDatasources(cfg)) {
      const r = await eventually(
        `${datasource}: one Druid row per record of ${topic}`,
        async () => {
          const x = await eventIntegrity(cfg, datasource, topic);
          return x.druidRows - x.topicRecords >= before.get(datasource)!.excess ? x : undefined;
        },
        300_000,
        2000,
      );
      log(
        `${datasource}: ${r.value.druidRows} rows for ${r.value.topicRecords} records, ${r.value.duplicateEventIds} duplicate event ids`,
      );
      expect({
        excessRows: r.value.druidRows - r.value.topicRecords,
        duplicateEventIds: r.value.duplicateEventIds,
      }).toEqual({
        excessRows: before.get(datasource)!.excess,
        duplicateEventIds: before.get(datasource)!.duplicates,
      });
    }
    for (const g of GROUPINGS.slice(0, 2)) {
      const d = await eventually(
        `${g.name} to equal PostgreSQL`,
        async () => {
          const x = await reconcileGrouping(cfg, g);
          return x.onlyDruid.length === 0 && x.onlyPostgres.length === 0 ? x : undefined;
        },
        180_000,
        2000,
      ).catch(async () => ({ value: await reconcileGrouping(cfg, g) }));
      expect({ grouping: g.name, orderDrift: d.value.orderDrift, centsDrift: d.value.centsDrift.toString() }).toEqual({
        grouping: g.name,
        orderDrift: 0,
        centsDrift: '0',
      });
    }
  }, 900_000);
});
