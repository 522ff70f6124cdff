// The short fault drill: under generator load the transformer and Kafka Connect are SIGKILLed in turn; the
// supervisor brings each back with nobody running `up`; afterwards PostgreSQL and Druid agree to the cent
// and no event id is in Druid twice. `npm run chaos` is the long version (Kafka, the indexer, PostgreSQL too).
import { describe, it, expect } from 'vitest';
import { loadConfig, withLocalSecrets } from '../../lib/config.ts';
import { runChaosDrill } from '../../stack/chaosDrill.ts';

const cfg = withLocalSecrets(loadConfig());
const say = (l: string) => process.stderr.write(`[chaos] ${l}\n`);

describe('npm run chaos (short)', () => {
  it('every fault recovers with no human involved; 0 drift and 0 duplicates at the end', async () => {
    const r = await runChaosDrill(
      cfg,
      { faults: ['transformer', 'connect'], rate: 50, settleMs: 10_000, recoverTimeoutMs: 240_000, seed: 'chaos-test' },
      say,
    );
    for (const f of r.faults) {
      expect(f.serviceBackMs, `${f.service} back`).not.toBeNull();
      expect(f.pipelineFreshMs, `${f.service}: fresh rows in Druid`).not.toBeNull();
    }
    expect(r.faults.map((f) => f.service)).toEqual(['transformer', 'connect']);
    expect(r.faults[0]!.reason).toMatch(/killed by SIGKILL|is gone/);
    for (const g of r.groupings)
      expect({ grouping: g.grouping, orders: g.orderDrift, cents: g.centsDrift.toString() }).toEqual({
        grouping: g.grouping,
        orders: 0,
        cents: '0',
      });
    for (const e of r.events)
      expect({
        datasource: e.datasource,
        duplicates: e.duplicateEventIds,
        excess: e.druidRows - e.topicRecords,
      }).toEqual({ datasource: e.datasource, duplicates: 0, excess: 0 });
    expect(r.generator.ordersCreated).toBeGreaterThan(0);
    expect(r.ok).toBe(true);
  }, 900_000);
});
