// Auto-compaction as committed (druid-specs/order_rollup_status.compaction.json) on the real Druid: a change to
// an old order appends a small segment to that order's day; the coordinator's compaction must merge them into
// one segment per day, roll the signed rows up further, and leave every sum exactly as it was.
//
// A scratch datasource with the live rollup schema receives three appended batches (an order placed, then
// delivered, some then refunded: −1/+1 pairs, as the transformer writes them) for an old day and a later one;
// the compaction config is the committed file with only the datasource name changed.
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import {
  compactionStatus,
  deleteCompactionConfig,
  dropDataSource,
  queryDruidSql,
  runCompactionNow,
  setCompactionConfig,
  submitTask,
  taskStatus,
} from '../../lib/druidClient.ts';
import { readCompactionSpec, readSupervisorSpec } from '../../druid-specs/renderSpec.ts';
import { eventually } from '../support/eventually.ts';

const cfg = loadConfig();
const log = (msg: string) => process.stderr.write(`[compaction ${new Date().toISOString()}] ${msg}\n`);
const DS = `it_compaction_${Date.now().toString(36)}`;
const OLD_DAY = '2026-10-01';
const LATEST_DAY = '2026-10-02';

type Row = Record<string, string | number>;
const live = readSupervisorSpec('order_rollup_status');
const METRICS = (live.spec.dataSchema.metricsSpec ?? []).map((m) => m.fieldName);

/** One signed delta row of the status cube: every metric present, `sign` × the order's amounts. */
function delta(day: string, minute: number, status: string, sign: 1 | -1, totalCents: number): Row {
  const row: Row = {
    created_at: `${day}T10:${String(minute).padStart(2, '0')}:30.000Z`,
    status,
    payment_status: status === 'placed' ? 'pending' : status === 'refunded' ? 'refunded' : 'paid',
    currency: 'COP',
    furthest_stage: status === 'placed' ? 'placed' : 'delivered',
  };
  for (const m of METRICS) row[m] = 0;
  Object.assign(row, {
    orders: sign,
    live_orders: sign,
    total_cents: sign * totalCents,
    live_total_cents: sign * totalCents,
    items: sign * 2,
  });
  if (status === 'delivered') Object.assign(row, { delivered_orders: sign, revenue_cents: sign * totalCents });
  return row;
}

const ORDERS = Array.from({ length: 20 }, (_, i) => ({ minute: i, totalCents: 12_345 * (i + 1) + 7 }));
/** Three batches, as three streams of late changes would append them. */
const BATCHES: Row[][] = [
  [...ORDERS.map((o) => delta(OLD_DAY, o.minute, 'placed', 1, o.totalCents)), delta(LATEST_DAY, 0, 'placed', 1, 100)],
  [
    ...ORDERS.flatMap((o) => [
      delta(OLD_DAY, o.minute, 'placed', -1, o.totalCents),
      delta(OLD_DAY, o.minute, 'delivered', 1, o.totalCents),
    ]),
    delta(LATEST_DAY, 1, 'placed', 1, 200),
  ],
  [
    ...ORDERS.slice(0, 5).flatMap((o) => [
      delta(OLD_DAY, o.minute, 'delivered', -1, o.totalCents),
      delta(OLD_DAY, o.minute, 'refunded', 1, o.totalCents),
    ]),
    delta(LATEST_DAY, 2, 'placed', 1, 300),
  ],
];

/** What the rows say, per status on the old day (zero sums dropped, as the panels' HAVING does). */
function expectedByStatus(): Record<string, { orders: number; total_cents: number }> {
  const out: Record<string, { orders: number; total_cents: number }> = {};
  for (const r of BATCHES.flat().filter((r) => String(r['created_at']).startsWith(OLD_DAY))) {
    const g = (out[r['status'] as string] ??= { orders: 0, total_cents: 0 });
    g.orders += r['orders'] as number;
    g.total_cents += r['total_cents'] as number;
  }
  return Object.fromEntries(Object.entries(out).filter(([, g]) => g.orders !== 0 || g.total_cents !== 0));
}

type Sums = Record<string, { orders: number; total_cents: number }>;
const sameSums = (a: Sums, b: Sums) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

async function runBatch(rows: Row[], append: boolean): Promise<void> {
  const schema = live.spec.dataSchema;
  const task = await submitTask(cfg, {
    type: 'index_parallel',
    spec: {
      dataSchema: { ...schema, dataSource: DS },
      ioConfig: {
        type: 'index_parallel',
        inputSource: { type: 'inline', data: rows.map((r) => JSON.stringify(r)).join('\n') },
        inputFormat: { type: 'json' },
        appendToExisting: append,
      },
      tuningConfig: { type: 'index_parallel', maxNumConcurrentSubTasks: 1, partitionsSpec: { type: 'dynamic' } },
    },
  });
  await eventually(
    `batch task ${task}`,
    async () => {
      const s = await taskStatus(cfg, task);
      if (s.state === 'FAILED') throw new Error(`batch task ${task} failed: ${s.errorMsg}`);
      return s.state === 'SUCCESS' ? true : undefined;
    },
    180_000,
    1000,
  );
}

const oldDaySegments = () =>
  queryDruidSql<{ segment_id: string; compacted: number; is_available: number }>(
    cfg,
    `SELECT segment_id, CASE WHEN last_compaction_state IS NULL THEN 0 ELSE 1 END AS compacted, is_available FROM sys.segments ` +
      `WHERE datasource = '${DS}' AND "start" = '${OLD_DAY}T00:00:00.000Z' AND is_published = 1 AND is_overshadowed = 0`,
  );

/** Stored rows of the old day (COUNT(*) on a rollup datasource counts rolled-up rows, not input rows). */
const oldDayRows = async () =>
  (
    await queryDruidSql<{ n: number }>(
      cfg,
      `SELECT COUNT(*) AS n FROM "${DS}" WHERE __time >= TIMESTAMP '${OLD_DAY} 00:00:00' AND __time < TIMESTAMP '${LATEST_DAY} 00:00:00'`,
      { useCache: false, populateCache: false },
    )
  )[0]?.n ?? 0;

async function byStatus(): Promise<Record<string, { orders: number; total_cents: number }>> {
  const rows = await queryDruidSql<{ status: string; orders: number; total_cents: number }>(
    cfg,
    `SELECT status, SUM(orders) AS orders, SUM(total_cents) AS total_cents FROM "${DS}" ` +
      `WHERE __time >= TIMESTAMP '${OLD_DAY} 00:00:00' AND __time < TIMESTAMP '${LATEST_DAY} 00:00:00' GROUP BY 1 HAVING SUM(orders) <> 0 OR SUM(total_cents) <> 0`,
    { useCache: false, populateCache: false },
  );
  return Object.fromEntries(rows.map((r) => [r.status, { orders: r.orders, total_cents: r.total_cents }]));
}

afterAll(async () => {
  await deleteCompactionConfig(cfg, DS).catch(() => undefined);
  await dropDataSource(cfg, DS).catch(() => undefined);
});

describe('auto-compaction of a rollup datasource (the committed config)', () => {
  it('merges the appended segments of an old day into one, rolls the signed rows up, and keeps every sum exact', async () => {
    for (const [i, rows] of BATCHES.entries()) await runBatch(rows, i > 0);
    const { value: before } = await eventually(
      'the three appended segments of the old day to be served',
      async () => {
        const s = await oldDaySegments();
        return s.length === BATCHES.length ? s : undefined;
      },
      120_000,
      1000,
    );
    // The broker serves a new segment some time after sys.segments lists it: wait for all three batches' sums.
    const expected = expectedByStatus();
    const sumsBefore = await eventually(
      'the old day to be queryable with every batch',
      async () => {
        const b = await byStatus();
        return sameSums(b, expected) ? b : undefined;
      },
      120_000,
      1000,
    );
    expect(sumsBefore.value).toEqual(expected);
    const rowsBefore = await oldDayRows();
    log(`before: ${before.length} segments, ${rowsBefore} rows; ${JSON.stringify(sumsBefore.value)}`);

    const committed = readCompactionSpec('order_rollup_status');
    await setCompactionConfig(cfg, { ...committed, dataSource: DS }, `the compaction config of ${DS}`);
    // The coordinator compacts every indexingPeriod (5 min locally); ask it to run now, again while waiting.
    const t0 = Date.now();
    // Published is not served: until a historical loads the compacted segment, the broker (whose view sys.segments'
    // is_available reports) still answers from the three it replaces, with the same sums and the unmerged rows.
    const { value: after } = await eventually(
      'the old day to be one compacted segment, served',
      async () => {
        await runCompactionNow(cfg);
        const s = await oldDaySegments();
        return s.length === 1 && s[0]!.compacted === 1 && s[0]!.is_available === 1 ? s : undefined;
      },
      420_000,
      5000,
    );
    const sumsAfter = await eventually(
      'the compacted day to be served',
      async () => {
        const b = await byStatus();
        return sameSums(b, sumsBefore.value) ? b : undefined;
      },
      120_000,
      1000,
    );
    expect(sumsAfter.value).toEqual(expectedByStatus());
    // Rows of the same (minute, dimensions) from different batches are now one row.
    const rowsAfter = await oldDayRows();
    log(
      `after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${after.length} segment, ${rowsAfter} rows (from ${rowsBefore})`,
    );
    expect(rowsAfter).toBeLessThan(rowsBefore);
    const status = (await compactionStatus(cfg)).find((c) => c['dataSource'] === DS);
    log(`compaction status: ${JSON.stringify(status)}`);
    // The latest day stays as ingested: skipOffsetFromLatest keeps compaction off what may still be written.
    const latest = await queryDruidSql<{ n: number }>(
      cfg,
      `SELECT COUNT(*) AS n FROM sys.segments WHERE datasource = '${DS}' AND "start" = '${LATEST_DAY}T00:00:00.000Z' AND is_overshadowed = 0 AND last_compaction_state IS NULL`,
    );
    expect(latest[0]!.n).toBe(BATCHES.length);
  }, 900_000);
});
