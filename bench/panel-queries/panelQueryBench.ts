// npm run bench:dashboards — how fast the dashboards answer over a large history.
//
// For each size (default 1 M and 10 M orders placed over one day): the generator's pure event stream goes
// through the transformer's pure mapping (bench/panel-queries/syntheticHistory.ts) into files, which Druid
// ingests with native batch tasks into bench_<size>_* datasources built from the very supervisor specs in
// druid-specs/. Then every panel query of both provisioned dashboards is timed against them (caches off),
// and, up to --per-order-max orders, the per-order baseline (the panels as they were before the rollups)
// in the same run. It measures and prints; it asserts nothing.
//
//   npm run bench:dashboards -- [--orders 1000000,10000000] [--per-order-max 1000000] [--runs 15] [--keep]
import { spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import {
  dropDataSource,
  DruidError,
  druidHealthy,
  loadStatus,
  queryDruidSql,
  submitTask,
  taskStatus,
} from '../../lib/druidClient.ts';
import { loadConfig } from '../../lib/config.ts';
import { eventDatasources } from '../../pipeline/reconcile.ts';
import {
  readCompactionSpec,
  readSupervisorSpec,
  SUPERVISOR_SPEC_FILES,
  type CompactionDataSource,
  type KafkaSupervisorSpec,
  type SupervisorDataSource,
} from '../../druid-specs/renderSpec.ts';
import { listPanelQueries, substituteRange } from '../../grafana/src/panelQueryList.ts';
import { PER_EVENT_PIPELINE_PANELS, PER_ORDER_SALES_PANELS } from './perOrderPanels.ts';
import { buildHistory, CubeAccumulator } from './syntheticHistory.ts';
import { pollUntil } from '../../lib/poll.ts';
import { numberFlag, parseFlags } from '../../lib/cliArgs.ts';
import { PulsoError } from '../../lib/errors.ts';

const USAGE =
  'usage: npm run bench:dashboards -- [--orders 1000000,10000000] [--per-order-max 1000000] [--runs 15] [--parts 2] [--keep] [--reuse-files]\n' +
  '  --parts N      generate in N processes (default: one per core, at most 2)\n' +
  '  --keep         leave the bench_* datasources and the files in place afterwards\n' +
  '  --reuse-files  ingest the files a previous --keep run left instead of generating them again\n' +
  '  --reuse-datasources  with --reuse-files: time the bench_* datasources a previous --keep run left loaded, without ingesting again\n' +
  '  --generate-only  write the files (and their manifest) and stop: ingest and time them later with --reuse-files';
function usage(message: string): never {
  process.stderr.write(`bench:dashboards: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const args = (() => {
  try {
    return parseFlags(process.argv.slice(2), {
      orders: { type: 'string', default: '1000000,10000000' },
      'per-order-max': { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '15' },
      keep: { type: 'boolean', default: false },
      'reuse-files': { type: 'boolean', default: false },
      'reuse-datasources': { type: 'boolean', default: false },
      'generate-only': { type: 'boolean', default: false },
      parts: { type: 'string', default: String(Math.min(2, cpus().length)) },
      // Internal: one generation part, run by generateHistory in a child process.
      'generate-part': { type: 'string' },
      dir: { type: 'string' },
      'with-events': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    }).values;
  } catch (e) {
    return usage((e as Error).message);
  }
})();
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const positiveInt = (flag: string, v: string) => {
  try {
    return numberFlag(`--${flag}`, v, { integer: true, min: 1, what: 'a positive integer' });
  } catch (e) {
    return usage((e as Error).message);
  }
};
const SIZES = args.orders!.split(',').map((v) => positiveInt('orders', v.trim()));
const PER_ORDER_MAX = positiveInt('per-order-max', args['per-order-max']!);
const RUNS = positiveInt('runs', args.runs!);
const PARTS = positiveInt('parts', args.parts!);

const cfg = loadConfig();
const START_MS = Date.parse('2026-11-02T00:00:00Z'); // a Monday, long before any live data
const SPAN_MS = 24 * 3600_000;
const NO_CACHE = { useCache: false, populateCache: false, useResultLevelCache: false, populateResultLevelCache: false };
const log = (m: string) => process.stderr.write(`[bench:dashboards] ${m}\n`);

class NdjsonGz {
  private readonly gz: Gzip;
  private readonly file: WriteStream;
  rows = 0;
  constructor(path: string) {
    this.gz = createGzip({ level: 1 });
    this.file = createWriteStream(path);
    this.gz.pipe(this.file);
  }
  write(rows: readonly Record<string, unknown>[]): Promise<void> | undefined {
    if (rows.length === 0) return undefined;
    this.rows += rows.length;
    const ok = this.gz.write(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return ok ? undefined : new Promise((r) => this.gz.once('drain', () => r()));
  }
  close(): Promise<void> {
    return new Promise((r) => {
      this.file.once('close', () => r());
      this.gz.end();
    });
  }
}

const DELTA_CUBES: SupervisorDataSource[] = [
  'order_rollup_status',
  'order_rollup_market',
  'order_rollup_store',
  'customer_risk_minute',
  'customer_risk_day',
];
/**
 * stock_movements' ingestion filter (its transformSpec), applied before the rows are pre-aggregated: only the +1
 * rows that moved something. Checked against the spec, so a changed filter fails here instead of benching another.
 */
const MOVEMENT_FILTER = 'sign == 1 && (units_in > 0 || units_out > 0 || stockouts > 0)';
const moved = (r: Readonly<Record<string, unknown>>) =>
  r.sign === 1 && ((r.units_in as number) > 0 || (r.units_out as number) > 0 || (r.stockouts as number) > 0);
/** Datasources Druid builds from another one's raw rows (they read the same topic live). */
const READS_FILE_OF: Partial<Record<SupervisorDataSource, SupervisorDataSource>> = {
  order_delivery_sketches: 'order_deliveries',
};
const inputFileOf = (ds: SupervisorDataSource) => READS_FILE_OF[ds] ?? ds;
/** Every bench datasource the written files feed. */
const datasourcesFed = (files: ReadonlyMap<SupervisorDataSource, number>): SupervisorDataSource[] => [
  ...files.keys(),
  ...(Object.keys(READS_FILE_OF) as SupervisorDataSource[]).filter((ds) => files.has(inputFileOf(ds))),
];

interface HistoryFiles {
  files: Map<SupervisorDataSource, number>;
  /** Every order generated: the marketplace's (the size asked) and the injected risk episodes' on top. */
  orders: number;
  injectedOrders?: number;
  changes: number;
  ms: number;
}

/** The bench applies stock_movements' ingestion filter itself (moved()): it must be the spec's. */
function assertMovementFilter(): void {
  const filter = (
    readSupervisorSpec('stock_movements').spec.dataSchema as { transformSpec?: { filter?: { expression?: string } } }
  ).transformSpec?.filter?.expression;
  if (filter !== MOVEMENT_FILTER)
    throw new PulsoError(`stock_movements filters on ${filter}: the bench applies ${MOVEMENT_FILTER}; update it`);
}

/** Part `part.index` of the orders, into gzipped NDJSON files `<datasource>.part<i>.json.gz`, one per datasource. */
async function writeHistory(
  orders: number,
  dir: string,
  withEvents: boolean,
  part: { index: number; count: number },
): Promise<HistoryFiles> {
  const t0 = Date.now();
  assertMovementFilter();
  const cubes = new Map<SupervisorDataSource, CubeAccumulator>(
    [...DELTA_CUBES, 'order_item_rollup', 'transformer_stats', 'stock_now', 'stock_movements'].map((ds) => [
      ds as SupervisorDataSource,
      new CubeAccumulator(readSupervisorSpec(ds as SupervisorDataSource)),
    ]),
  );
  const out = new Map<SupervisorDataSource, NdjsonGz>();
  const writer = (ds: SupervisorDataSource) => {
    let w = out.get(ds);
    if (!w) out.set(ds, (w = new NdjsonGz(resolve(dir, `${ds}.part${part.index}.json.gz`))));
    return w;
  };
  const buffers = new Map<SupervisorDataSource, Record<string, unknown>[]>();
  const buffer = (ds: SupervisorDataSource, row: Record<string, unknown>) => {
    let b = buffers.get(ds);
    if (!b) buffers.set(ds, (b = []));
    b.push(row);
  };
  const flush = async (beforeMinute: number) => {
    for (const [ds, cube] of cubes) await writer(ds).write(cube.drain(beforeMinute));
    for (const [ds, rows] of buffers) {
      await writer(ds).write(rows);
      buffers.set(ds, []);
    }
  };
  let lastReport = 0;
  let lastFlush = START_MS;
  const result = await buildHistory({
    orders,
    part,
    startMs: START_MS,
    spanMs: SPAN_MS,
    seed: `bench-dashboards-${orders}`,
    sink: {
      orderEvent: withEvents ? (e) => buffer('orders', e as unknown as Record<string, unknown>) : undefined,
      itemEvent: withEvents ? (e) => buffer('order_items', e as unknown as Record<string, unknown>) : undefined,
      orderDelta: (row) => DELTA_CUBES.forEach((ds) => cubes.get(ds)!.add(row)),
      itemDelta: (row) => cubes.get('order_item_rollup')!.add(row),
      delivery: (row) => buffer('order_deliveries', row as Record<string, unknown>),
      stats: (row) => cubes.get('transformer_stats')!.add(row),
      stockDelta: (row) => {
        cubes.get('stock_now')!.add(row);
        if (moved(row)) cubes.get('stock_movements')!.add(row);
      },
      progress: async (ms, placed) => {
        // Rows of minutes that no lifecycle can touch any more (3 h back) go to the files every half hour.
        if (ms - lastFlush >= 30 * 60_000) {
          await flush(Math.floor((ms - 3 * 3600_000) / 60_000));
          lastFlush = ms;
        }
        if (placed - lastReport >= orders / 10) {
          lastReport = placed;
          log(
            `  part ${part.index + 1}/${part.count}: ${placed.toLocaleString('en')} / ${orders.toLocaleString('en')} orders generated (${Math.round((Date.now() - t0) / 1000)} s)`,
          );
        }
      },
    },
  });
  await flush(Infinity);
  for (const w of out.values()) await w.close();
  const { orders: generated, injectedOrders, changes } = result;
  return {
    files: new Map([...out].map(([ds, w]) => [ds, w.rows])),
    orders: generated,
    injectedOrders,
    changes,
    ms: Date.now() - t0,
  };
}

/**
 * Generation is CPU-bound and single-threaded: `parts` child processes (one per core by default) each write an
 * independent order stream over the same world and day, with disjoint ids; Druid merges their files.
 */
async function generateHistory(orders: number, dir: string, withEvents: boolean, parts: number): Promise<HistoryFiles> {
  const t0 = Date.now();
  const share = (i: number) => Math.floor(orders / parts) + (i < orders % parts ? 1 : 0);
  const results = await Promise.all(
    Array.from(
      { length: parts },
      (_, i) =>
        new Promise<HistoryFiles>((resolvePart, reject) => {
          const child = spawn(
            process.execPath,
            [
              ...process.execArgv,
              process.argv[1]!,
              '--orders',
              String(share(i)),
              '--generate-part',
              `${i}/${parts}`,
              '--dir',
              dir,
              ...(withEvents ? ['--with-events'] : []),
            ],
            {
              stdio: ['ignore', 'pipe', 'inherit'],
            },
          );
          let out = '';
          child.stdout.on('data', (b: Buffer) => (out += b.toString()));
          child.once('error', reject);
          child.once('exit', (code, signal) => {
            if (code !== 0)
              return reject(new Error(`generation part ${i + 1}/${parts} failed (${signal ?? `status ${code}`})`));
            const r = JSON.parse(out.trim().split('\n').pop()!) as {
              files: Record<string, number>;
              orders: number;
              injectedOrders?: number;
              changes: number;
              ms: number;
            };
            resolvePart({ ...r, files: new Map(Object.entries(r.files) as [SupervisorDataSource, number][]) });
          });
        }),
    ),
  );
  const files = new Map<SupervisorDataSource, number>();
  for (const r of results) for (const [ds, n] of r.files) files.set(ds, (files.get(ds) ?? 0) + n);
  return {
    files,
    orders: results.reduce((a, r) => a + r.orders, 0),
    injectedOrders: results.reduce((a, r) => a + (r.injectedOrders ?? 0), 0),
    changes: results.reduce((a, r) => a + r.changes, 0),
    ms: Date.now() - t0,
  };
}

/**
 * The live spec's schema under the bench name. The event datasources keep only the columns some timed query
 * reads (of their ~40): a column no query touches costs nothing at query time in a column store, while
 * merging 5.6 M rows × 40 columns in one batch task exhausted the indexer's 512 MiB of direct memory.
 */
function batchSpec(ds: SupervisorDataSource, prefix: string, dir: string, queriedColumns: ReadonlySet<string>): object {
  const live = readSupervisorSpec(ds) as KafkaSupervisorSpec;
  // stock_movements' rows were pre-aggregated after its ingestion filter (MOVEMENT_FILTER), which reads a field
  // (sign) they no longer have: it must not run again. Other filters read the cube's own sums and run as live.
  const { transformSpec, ...rest } = live.spec.dataSchema as KafkaSupervisorSpec['spec']['dataSchema'] & {
    transformSpec?: unknown;
  };
  const schema = ds === 'stock_movements' || !transformSpec ? rest : { ...rest, transformSpec };
  const events = !schema.granularitySpec.rollup;
  const dimensions = events
    ? schema.dimensionsSpec.dimensions.filter((d) => queriedColumns.has(d.name))
    : schema.dimensionsSpec.dimensions;
  return {
    type: 'index_parallel',
    spec: {
      dataSchema: {
        ...schema,
        dataSource: `${prefix}${ds}`,
        dimensionsSpec: { ...schema.dimensionsSpec, dimensions },
        granularitySpec: { ...schema.granularitySpec, segmentGranularity: 'day' },
      },
      ioConfig: {
        type: 'index_parallel',
        inputSource: { type: 'local', baseDir: dir, filter: `${inputFileOf(ds)}.part*.json.gz` },
        inputFormat: live.spec.ioConfig.inputFormat,
        appendToExisting: false,
      },
      // maxColumnsToMerge bounds how many persisted spills one merge phase opens: each column of each spill
      // holds direct-memory buffers, and a one-phase merge of the 40-column event rows exhausted 512 MiB.
      tuningConfig: {
        type: 'index_parallel',
        maxNumConcurrentSubTasks: 1,
        maxRowsInMemory: 500_000,
        maxColumnsToMerge: 200,
        partitionsSpec: { type: 'dynamic', maxRowsPerSegment: 1_000_000 },
      },
    },
  };
}

async function ingest(
  ds: SupervisorDataSource,
  prefix: string,
  dir: string,
  queriedColumns: ReadonlySet<string>,
): Promise<number> {
  const t0 = Date.now();
  const task = await submitTask(cfg, batchSpec(ds, prefix, dir, queriedColumns));
  const ingestionFailed = (e: unknown) => e instanceof Error && e.message.startsWith('batch ingestion');
  await pollUntil(
    async () => {
      const s = await taskStatus(cfg, task);
      if (s.state === 'FAILED') throw new PulsoError(`batch ingestion of ${ds} failed: ${s.errorMsg}`);
      return s.state === 'SUCCESS';
    },
    { what: `batch task ${task}`, timeoutMs: 3 * 3600_000, intervalMs: 2000, isFatal: ingestionFailed },
  );
  // Published is not yet queryable: wait until the historical serves every segment.
  await pollUntil(async () => (await loadStatus(cfg))[`${prefix}${ds}`] === 100, {
    what: `${prefix}${ds} segments to load`,
    timeoutMs: 3600_000,
    intervalMs: 1000,
  });
  return Date.now() - t0;
}

/**
 * Datasources whose rows keep arriving on old days (stock on the day each product was first seen, customers' days):
 * live, auto-compaction folds them; the bench runs the same compaction once before timing, so the queries read
 * what a running stack serves.
 */
const COMPACTED_BEFORE_TIMING: readonly SupervisorDataSource[] = ['stock_now', 'customer_risk_day'];

async function compact(ds: SupervisorDataSource, prefix: string): Promise<number> {
  const t0 = Date.now();
  const live = readCompactionSpec(ds as CompactionDataSource) as {
    granularitySpec?: object;
    transformSpec?: object;
    tuningConfig?: object;
  };
  // ORDER BY, not MAX: Druid's system tables fail MAX over a string (HTTP 500, InvocationTargetException).
  const [{ before } = { before: '' }] = await queryDruidSql<{ before: string }>(
    cfg,
    `SELECT "version" AS "before" FROM sys.segments WHERE datasource = '${prefix}${ds}' ORDER BY "version" DESC LIMIT 1`,
  );
  const task = await submitTask(cfg, {
    type: 'compact',
    dataSource: `${prefix}${ds}`,
    ioConfig: { type: 'compact', inputSpec: { type: 'interval', interval: '2000-01-01/2100-01-01' } },
    granularitySpec: live.granularitySpec,
    transformSpec: live.transformSpec,
    tuningConfig: { type: 'index_parallel', ...live.tuningConfig },
  });
  await pollUntil(
    async () => {
      const s = await taskStatus(cfg, task);
      if (s.state === 'FAILED') throw new PulsoError(`compaction of ${ds} failed: ${s.errorMsg}`);
      return s.state === 'SUCCESS';
    },
    { what: `compaction task ${task}`, timeoutMs: 3600_000, intervalMs: 2000 },
  );
  // Load status reads 100 % before the coordinator has polled the new segments: wait until the broker serves only
  // segments newer than every segment before the compaction, so the timing reads the compacted data.
  const uncompacted =
    `SELECT COUNT(*) FILTER (WHERE "version" <= '${before}' OR is_available = 0) AS n, COUNT(*) AS segments ` +
    `FROM sys.segments WHERE datasource = '${prefix}${ds}' AND is_published = 1 AND is_overshadowed = 0`;
  await pollUntil(
    async () => {
      const [r] = await queryDruidSql<{ n: number; segments: number }>(cfg, uncompacted);
      return r !== undefined && r.segments > 0 && r.n === 0 && (await loadStatus(cfg))[`${prefix}${ds}`] === 100;
    },
    { what: `${prefix}${ds} compacted segments to load`, timeoutMs: 3600_000, intervalMs: 1000 },
  );
  return Date.now() - t0;
}

async function sql(
  query: string,
  context: Record<string, unknown> = {},
): Promise<{ ms: number; rows: number; error?: string }> {
  const t0 = performance.now();
  try {
    const rows = await queryDruidSql(cfg, query, { sqlTimeZone: 'Etc/UTC', ...NO_CACHE, ...context }, 600_000);
    return { ms: performance.now() - t0, rows: rows.length };
  } catch (e) {
    const error = e instanceof DruidError ? e.detail : (e as Error).message;
    return { ms: performance.now() - t0, rows: 0, error: error.slice(0, 160) };
  }
}

interface Timing {
  readonly title: string;
  readonly p50: number;
  readonly p95: number;
  readonly rows: number;
  readonly error?: string;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)]!;

/** The panel's SQL with the bench datasources in place of the live ones and the range bound. */
function benchSql(panelSql: string, prefix: string): string {
  let s = substituteRange(panelSql, START_MS, START_MS + SPAN_MS + 4 * 3600_000);
  for (const ds of Object.keys(SUPERVISOR_SPEC_FILES))
    s = s.replace(new RegExp(`\\bFROM ${ds}\\b`, 'g'), `FROM ${prefix}${ds}`);
  return s;
}

async function time(
  queries: { title: string; sql: string }[],
  prefix: string,
  runs: number,
  context: Record<string, unknown> = {},
): Promise<Timing[]> {
  const out: Timing[] = [];
  for (const q of queries) {
    const query = benchSql(q.sql, prefix);
    const warm = await sql(query, context);
    if (warm.error) {
      log(`  ${prefix}… ${q.title}: failed: ${warm.error}`);
      out.push({ title: q.title, p50: NaN, p95: NaN, rows: 0, error: warm.error });
      continue;
    }
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) ms.push((await sql(query, context)).ms);
    out.push({ title: q.title, p50: pct(ms, 0.5), p95: pct(ms, 0.95), rows: warm.rows });
    log(`  ${prefix}… ${q.title}: p50 ${fmt(pct(ms, 0.5))}, p95 ${fmt(pct(ms, 0.95))}, ${warm.rows} rows`);
  }
  return out;
}

/** What was generated against what was asked: the injected risk episodes' orders come on top of the size. */
function generatedOrders(asked: number, h: History): string {
  const injected = h.injectedOrders ?? 0;
  const text = `${h.orders.toLocaleString('en')} generated`;
  if (h.orders - injected !== asked) return `${text} — NOT the load asked for`;
  if (!injected) return text;
  return `${text}: the marketplace's ${asked.toLocaleString('en')} and ${injected.toLocaleString('en')} of injected risk episodes`;
}

const fmt = (ms: number) =>
  Number.isNaN(ms) ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;

type History = HistoryFiles;
type Query = { title: string; sql: string };

/** The size's history files: reused from an earlier run (--reuse-files), or generated. */
async function historyFor(orders: number, label: string, dir: string, withEvents: boolean): Promise<History> {
  const manifest = resolve(dir, 'manifest.json');
  if (args['reuse-files'] && existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as {
      files: Record<string, number>;
      orders?: number;
      injectedOrders?: number;
      changes: number;
      ms: number;
    };
    log(`${label}: reusing the files in ${dir}`);
    const files = new Map(Object.entries(m.files) as [SupervisorDataSource, number][]);
    return { files, orders: m.orders ?? NaN, injectedOrders: m.injectedOrders, changes: m.changes, ms: m.ms };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(
    `${label}: generating ${orders.toLocaleString('en')} orders over one day${withEvents ? ' (with event rows for the per-order baseline)' : ''}…`,
  );
  const h = await generateHistory(orders, dir, withEvents, PARTS);
  writeFileSync(manifest, JSON.stringify({ ...h, files: Object.fromEntries(h.files) }));
  return h;
}

/** Batch-ingests each datasource the history feeds (unless already loaded with --reuse-datasources). */
async function ingestAll(h: History, label: string, prefix: string, dir: string, queriedColumns: ReadonlySet<string>) {
  const ingestMs: Record<string, number> = {};
  const loaded = args['reuse-datasources'] ? await loadStatus(cfg) : {};
  for (const ds of datasourcesFed(h.files)) {
    if (loaded[`${prefix}${ds}`] === 100) {
      log(`${label}: ${prefix}${ds} already loaded (--reuse-datasources): not ingested again`);
      continue;
    }
    ingestMs[ds] = await ingest(ds, prefix, dir, queriedColumns);
    log(`${label}: ${prefix}${ds} ingested and loaded in ${(ingestMs[ds]! / 1000).toFixed(0)} s`);
  }
  for (const ds of COMPACTED_BEFORE_TIMING) {
    if (!h.files.has(ds)) continue;
    const ms = await compact(ds, prefix);
    log(`${label}: ${prefix}${ds} compacted as its auto-compaction config compacts it, in ${(ms / 1000).toFixed(0)} s`);
  }
  const segRows = await queryDruidSql(
    cfg,
    `SELECT datasource, COUNT(*) AS segments, SUM(num_rows) AS "rows" FROM sys.segments WHERE datasource LIKE '${prefix}%' AND is_available = 1 AND is_overshadowed = 0 GROUP BY 1 ORDER BY 1`,
  );
  log(`${label}: segments ${JSON.stringify(segRows)}`);
  return ingestMs;
}

/** Whether a panel reads a per-order event datasource: those are ingested only at sizes up to --per-order-max. */
const readsEvents = (q: Query) =>
  eventDatasources(cfg).some(({ datasource }) => new RegExp(`\\bFROM ${datasource}\\b`).test(q.sql));

/** Every rollup panel query timed, a full refresh (all at once, as Grafana fires them), the per-order baseline. */
async function timeQueries(allRollup: Query[], perOrder: Query[], prefix: string, withEvents: boolean) {
  // Without the event datasources a panel that reads them can only fail: it is listed as not timed instead.
  const timed = withEvents ? allRollup : allRollup.filter((q) => !readsEvents(q));
  const notTimed = allRollup.filter((q) => !timed.includes(q)).map((q) => q.title);
  const rollup = await time(timed, prefix, RUNS);
  const refresh: number[] = [];
  for (let i = 0; i < Math.max(5, Math.ceil(RUNS / 3)); i++) {
    const t0 = performance.now();
    await Promise.all(timed.map((q) => sql(benchSql(q.sql, prefix))));
    refresh.push(performance.now() - t0);
  }
  const baseline = withEvents ? await time(perOrder, prefix, Math.min(RUNS, 3), { maxSubqueryRows: 5_000_000 }) : [];
  return { rollup, refresh, baseline, notTimed };
}

/** The size's section of the report: the table of panels and the verdicts. */
function sizeReport(
  orders: number,
  label: string,
  h: History,
  ingestMs: Record<string, number>,
  t: Awaited<ReturnType<typeof timeQueries>>,
  withEvents: boolean,
): string[] {
  const { rollup, refresh, baseline, notTimed } = t;
  const lines = [
    `### ${orders.toLocaleString('en')} orders asked (${label}), ${generatedOrders(orders, h)}, one day, ${h.changes.toLocaleString('en')} row changes`,
    '',
    `Rows per datasource: ${[...h.files].map(([ds, n]) => `${ds} ${n.toLocaleString('en')}`).join(', ')}; ingestion ${(Object.values(ingestMs).reduce((a, b) => a + b, 0) / 1000) | 0} s.`,
    '',
    `| panel | rollup p50 | rollup p95 | ${withEvents ? 'per-order p50 | per-order max (of 3) | ratio (p50) |' : ''}`,
    `|---|---|---|${withEvents ? '---|---|---|' : ''}`,
  ];
  for (const r of rollup) {
    const b = baseline.find((x) => x.title === r.title);
    const ratio =
      b && !b.error && !r.error ? `${(b.p50 / r.p50).toFixed(0)}×` : b?.error ? `baseline failed: ${b.error}` : '';
    lines.push(
      `| ${r.title} | ${r.error ? `failed: ${r.error}` : fmt(r.p50)} | ${fmt(r.p95)} |${withEvents ? ` ${b ? fmt(b.p50) : 'n/a'} | ${b ? fmt(b.p95) : ''} | ${ratio} |` : ''}`,
    );
  }
  for (const title of notTimed)
    lines.push(`| ${title} | not timed: it reads per-order events, not ingested at this size (--per-order-max) | |`);
  for (const b of baseline.filter((x) => !rollup.some((r) => r.title === x.title))) {
    lines.push(`| ${b.title} (removed: now counted by the transformer) | — | — | ${fmt(b.p50)} | ${fmt(b.p95)} | |`);
  }
  const worstP95 = Math.max(...rollup.filter((r) => !r.error).map((r) => r.p95));
  const over = rollup.filter((r) => r.p95 > 300).map((r) => `${r.title} (${fmt(r.p95)})`);
  const sumRollup = rollup.reduce((a, r) => a + (r.error ? 0 : r.p50), 0);
  const sumBaseline = baseline.reduce((a, r) => a + (r.error ? 0 : r.p50), 0);
  lines.push('');
  lines.push(
    `Every panel p95 ≤ 300 ms: ${over.length === 0 ? `met (worst ${fmt(worstP95)})` : `NOT met: ${over.join(', ')}`}. Failed queries: ${rollup.filter((r) => r.error).length}.`,
  );
  lines.push(
    `Full refresh of every dashboard (${rollup.length} queries at once${notTimed.length ? `, ${notTimed.length} not timed` : ''}): p50 ${fmt(pct(refresh, 0.5))}, max ${fmt(Math.max(...refresh))} — target ≤ 2 s ${pct(refresh, 0.5) <= 2000 ? 'met' : 'NOT met'}.`,
  );
  if (withEvents) {
    const failed = baseline.filter((b) => b.error).length;
    lines.push(
      `Sum of panel p50s: rollup ${fmt(sumRollup)}, per-order ${fmt(sumBaseline)} (${failed} per-order queries failed) → ${(sumBaseline / sumRollup).toFixed(0)}× faster; target ≥ 20× ${sumBaseline / sumRollup >= 20 && failed === 0 ? 'met' : 'NOT met'}.`,
    );
  }
  return lines;
}

/** Every query panel of both provisioned dashboards, from the very files Grafana loads; the per-order baseline. */
function panelSets(): { allRollup: Query[]; perOrder: Query[] } {
  const allRollup = listPanelQueries().map((q) => ({
    title: `${q.dashboard.replace('.json', '')} / ${q.panelTitle}`,
    sql: q.sql,
  }));
  const perOrder = [
    ...PER_ORDER_SALES_PANELS.map((q) => ({ title: `sales / ${q.title}`, sql: q.sql })),
    ...PER_EVENT_PIPELINE_PANELS.map((q) => ({ title: `pipeline-health / ${q.title}`, sql: q.sql })),
  ];
  return { allRollup, perOrder };
}

async function main(): Promise<void> {
  if (args['generate-part'] !== undefined) {
    const [index, count] = args['generate-part'].split('/').map(Number) as [number, number];
    const r = await writeHistory(SIZES[0]!, args.dir!, args['with-events']!, { index, count });
    process.stdout.write(`${JSON.stringify({ ...r, files: Object.fromEntries(r.files) })}\n`);
    return;
  }
  log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Druid at ${cfg.druid.url}`,
  );
  if (!(await druidHealthy(cfg.druid.url)) && !args['generate-only'])
    usage(`Druid does not answer at ${cfg.druid.url}: start the stack first (npm run up)`);
  const { allRollup, perOrder } = panelSets();
  const queriedColumns = new Set([...allRollup, ...perOrder].flatMap((q) => q.sql.match(/[a-z_]+/g) ?? []));
  for (const orders of SIZES) {
    const label = orders >= 1_000_000 && orders % 1_000_000 === 0 ? `${orders / 1_000_000}m` : String(orders);
    const prefix = `bench_${label}_`;
    const dir = resolve(cfg.home, 'bench', 'dashboards', label);
    const withEvents = orders <= PER_ORDER_MAX;
    const h = await historyFor(orders, label, dir, withEvents);
    const mapped = `${h.changes.toLocaleString('en')} row changes mapped in ${(h.ms / 1000).toFixed(0)} s`;
    if (args['generate-only']) {
      log(`${label}: ${mapped}; files in ${dir}`);
      continue;
    }
    log(`${label}: ${mapped}; rows per datasource: ${JSON.stringify(Object.fromEntries(h.files))}`);
    const ingestMs = await ingestAll(h, label, prefix, dir, queriedColumns);
    const timed = await timeQueries(allRollup, perOrder, prefix, withEvents);
    const lines = sizeReport(orders, label, h, ingestMs, timed, withEvents);
    process.stdout.write(`${lines.join('\n')}\n\n`);
    if (!args.keep) {
      for (const ds of datasourcesFed(h.files)) await dropDataSource(cfg, `${prefix}${ds}`).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:dashboards failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
