// The local dashboards server in a real browser (Debian's Chromium through playwright-core), against the
// real stack: after a generator run, both provisioned dashboards render every panel with data where Druid
// has rows, no panel shows an error, and the numbers on the stat panels equal what Druid returns for those
// panels' own queries. With Druid unreachable, each panel shows the error and the server keeps serving.
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { queryDruidTable } from '../../lib/druidClient.ts';
import { createLogger } from '../../lib/log.ts';
import { pollUntil, sleep } from '../../lib/poll.ts';
import { createDashboardsServer } from '../../dashboard-server/server.ts';
import { bindPanelQuery } from '../../dashboard-server/panelQueries.ts';
import { druidTargets, flatPanels, promQueryTargets, readDashboardFiles } from '../../grafana/src/dashboardFiles.ts';
import { runPanelQuery } from '../../dashboard-server/panelData.ts';
import { MARKET_COUNTRY_IDS, type Basemap } from '../../dashboard-server/basemap.ts';
import { degreesFrom } from '../support/geo.ts';
import { runGenerator } from '../../generator/index.ts';
import { pipelineStatus } from '../../pipeline/status.ts';
import { launchChromium } from '../../dashboard-server/chromium.ts';

const cfg = loadConfig();
const base = `http://127.0.0.1:${cfg.dashboards.port}`;
const log = (m: string) => process.stderr.write(`[dashboards.int ${new Date().toISOString()}] ${m}\n`);
let browser: Browser;
// A pinned range around the history written below, so the page and the test ask Druid the same question.
const toMs = Date.now();
const fromMs = toMs - 6 * 3600_000;

interface PanelView {
  id: number;
  type: string;
  state: string;
  text: string;
  values: Record<string, string>;
  changes: Record<string, number>;
  /** A table's cells, row by row, as the datasource returned them (data-cell). */
  cells: string[][];
}

async function render(uid: string, url = base): Promise<PanelView[]> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  try {
    await page.goto(`${url}/d/${uid}?from=${fromMs}&to=${toMs}`);
    await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
    expect(pageErrors).toEqual([]);
    return await page.$$eval('.panel', (ps) =>
      ps.map((p) => ({
        id: Number(p.getAttribute('data-panel-id')),
        type: p.getAttribute('data-panel-type') ?? '',
        state: p.getAttribute('data-state') ?? '',
        text: (p.querySelector('.body')?.textContent ?? '').slice(0, 300),
        cells: [...p.querySelectorAll('tbody tr')].map((tr) =>
          [...tr.children].map((td) => td.getAttribute('data-cell') ?? ''),
        ),
        // Keyed by row (a stat or gauge with reduceOptions.values shows one value per row) and column.
        values: Object.fromEntries(
          [...p.querySelectorAll('[data-column]')].map((v) => [
            [v.getAttribute('data-row'), v.getAttribute('data-column')].filter(Boolean).join('|'),
            v.getAttribute('data-value') ?? '',
          ]),
        ),
        // A trend stat's change against the previous range, by column (showPercentChange).
        changes: Object.fromEntries(
          [...p.querySelectorAll('[data-column]')]
            .filter((v) => v.parentElement?.querySelector('[data-change]'))
            .map((v) => [
              v.getAttribute('data-column') ?? '',
              Number(v.parentElement!.querySelector('[data-change]')!.getAttribute('data-change')),
            ]),
        ),
      })),
    );
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  browser = await launchChromium();
  // Five hours back, fast: every lifecycle (under 3 h) ends before now, so deliveries exist and nothing is dated in the future.
  const s = await runGenerator({
    rate: 400,
    orders: 1200,
    seed: `dashboards-browser-${toMs}`,
    speedup: 900,
    start: new Date(toMs - 5 * 3600_000),
    drain: true,
    progress: 'off',
  });
  log(`generator: ${s.ordersCreated} orders, ${s.delivered} delivered, ${s.cancelled} cancelled`);
  // The pipeline caught up first (after a Druid restart by an earlier test its new tasks re-read what was not
  // published: quiet gaps of several seconds), then until Druid holds all of it (at least this run's deliveries,
  // and nothing changing for 3 s): the page and the test must read the same data.
  await pollUntil(
    async () => {
      const st = await pipelineStatus(cfg);
      const druidLag = Object.values(st.druid ?? {}).reduce((n, d) => n + d.lag, 0);
      return st.transformer?.consumerLag === 0 && st.druid !== null && druidLag < 100 ? true : undefined;
    },
    { what: 'the pipeline to catch up (transformer lag 0, Druid lag under 100)', timeoutMs: 240_000, intervalMs: 1000 },
  );
  let last = '';
  await pollUntil(
    async () => {
      const range = [{ type: 'BIGINT', value: fromMs }];
      const [d, o] = await Promise.all([
        queryDruidTable(
          cfg,
          'SELECT COALESCE(SUM(deliveries), 0) FROM order_deliveries WHERE __time >= MILLIS_TO_TIMESTAMP(?)',
          range,
        ),
        queryDruidTable(
          cfg,
          'SELECT COALESCE(SUM(orders), 0), COALESCE(SUM(delivered_orders), 0) FROM order_rollup_status WHERE __time >= MILLIS_TO_TIMESTAMP(?)',
          range,
        ),
      ]);
      const now = JSON.stringify([d.rows, o.rows]);
      const settled = now === last && Number(d.rows[0]?.[0]) >= s.delivered;
      last = now;
      return settled;
    },
    { what: `this run's ${s.delivered} deliveries in Druid, settled`, timeoutMs: 180_000, intervalMs: 3000 },
  );
  await pollUntil(() => axios.get(`${base}/health`).then((r) => r.status === 200), {
    what: `the dashboards server at ${base}`,
    timeoutMs: 30_000,
  });
});

afterAll(async () => {
  await browser?.close();
});

describe('local dashboards in Chromium', () => {
  for (const { file, dashboard } of readDashboardFiles()) {
    const uid = dashboard.uid;
    it(`${file}: every panel renders; data wherever Druid has rows; stats equal Druid`, async () => {
      const views = await render(uid);
      const trends: string[] = [];
      const tables: string[] = [];
      const panels = flatPanels(dashboard.panels).filter((p) => p.type !== 'row');
      expect(views.map((v) => v.id).sort((a, b) => a - b)).toEqual(panels.map((p) => p.id!).sort((a, b) => a - b));
      for (const p of panels) {
        const view = views.find((v) => v.id === p.id)!;
        const what = `${file} panel ${p.id} "${p.title}" (${p.type})`;
        expect(view.state, `${what}: ${view.text}`).not.toBe('error');
        expect(view.state, what).not.toBe('unsupported');
        if (!p.targets?.length) {
          expect(view.state, what).toBe('ok');
          continue;
        }
        // The truth: the panel's own query against its own datasource (Druid SQL or Prometheus), as the server runs it.
        const refId = (p.targets[0] as { refId?: string }).refId ?? 'A';
        const truth = await runPanelQuery(cfg, dashboard, p.id!, refId, fromMs, toMs);
        const q = druidTargets(p).length ? bindPanelQuery(dashboard, p.id!, refId, fromMs, toMs) : undefined;
        const queryText = q?.query ?? promQueryTargets(p)[0]?.expr ?? '';
        const hasValues = truth.rows.some((r) => r.some((v) => typeof v === 'number'));
        expect(view.state, `${what}: its datasource returned ${truth.rows.length} rows`).toBe(
          hasValues ? 'ok' : 'empty',
        );
        // A table shows every cell Druid returned (system tables aside: they change on their own between the two reads).
        if (p.type === 'table' && !queryText.includes('sys.')) {
          const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
          const sorted = (rows: string[][]) => rows.map((r) => JSON.stringify(r)).sort();
          expect(sorted(view.cells), `${what}: every cell`).toEqual(sorted(truth.rows.map((r) => r.map(cell))));
          tables.push(`${p.title}: ${view.cells.length} rows × ${truth.columns.length}`);
        }
        // A stat against CURRENT_TIMESTAMP ("seconds since…") moves between the page's query and ours.
        if ((p.type === 'stat' || p.type === 'bargauge') && !queryText.includes('CURRENT_TIMESTAMP')) {
          // The number shown is the number Druid returned for that panel's own query, column by column.
          // Every value Druid returned for the panel's own query, with its label: per row (values: true, named by
          // the row's text fields, as Grafana draws it) or each column's last value.
          const perRow =
            (p as { options?: { reduceOptions?: { values?: boolean } } }).options?.reduceOptions?.values === true;
          const textCols = truth.columns
            .map((c, i) => [c, i] as const)
            .filter(
              ([c]) =>
                ![
                  'BIGINT',
                  'INTEGER',
                  'DOUBLE',
                  'FLOAT',
                  'DECIMAL',
                  'REAL',
                  'SMALLINT',
                  'TINYINT',
                  'TIMESTAMP',
                  'DATE',
                  '',
                ].includes(c.sqlType ?? ''),
            );
          // Without values: true, each column's last non-null value (Grafana's lastNotNull over the rows).
          const lastNotNull = truth.columns.map((_c, i) =>
            truth.rows
              .map((r) => r[i])
              .filter((v) => v != null)
              .at(-1),
          );
          const expected = Object.fromEntries(
            (perRow ? truth.rows : [lastNotNull]).flatMap((row) =>
              truth.columns
                .map((c, i) => [c.name, row[i]] as const)
                .filter(([, v]) => typeof v === 'number')
                .map(([n, v]) => [
                  [perRow ? textCols.map(([, i]) => String(row[i] ?? '')).join(' ') : '', n].filter(Boolean).join('|'),
                  String(v),
                ]),
            ),
          );
          if (perRow) expect(Object.keys(expected).length, `${what}: one value per row`).toBe(truth.rows.length);
          const shown = Object.fromEntries(Object.entries(view.values).filter(([n]) => n in expected || perRow));
          if (q?.query.includes('APPROX_QUANTILE_DS')) {
            // A quantiles sketch is randomised: two merges of the same segments differ (its rank error is ≈ 1.7 % at
            // k=128). So the shown value is checked against the exact distribution instead: its rank is the quantile's.
            expect(Object.keys(shown).sort(), what).toEqual(Object.keys(expected).sort());
            const hist = await queryDruidTable(
              cfg,
              "SELECT delivery_minute, SUM(deliveries) FROM order_deliveries WHERE __time >= TIME_FLOOR(MILLIS_TO_TIMESTAMP(?), 'PT1M') AND __time <= MILLIS_TO_TIMESTAMP(?) GROUP BY 1",
              q!.parameters,
            );
            const total = hist.rows.reduce((a, r) => a + Number(r[1]), 0);
            const share = (pred: (minute: number) => boolean) =>
              hist.rows.filter((r) => pred(Number(r[0]))).reduce((a, r) => a + Number(r[1]), 0) / total;
            for (const [n, v] of Object.entries(shown)) {
              const quantile = Number(/^p(\d+)_/.exec(n)![1]) / 100;
              const minutes = Number(v);
              // delivery_minute is the delivery time rounded up: a value v sits between ranks F(⌈v⌉ − 1) and F(⌈v⌉).
              expect(quantile, `${what}: ${n} = ${v}`).toBeGreaterThanOrEqual(
                share((m) => m < Math.ceil(minutes)) - 0.03,
              );
              expect(quantile, `${what}: ${n} = ${v}`).toBeLessThanOrEqual(
                share((m) => m <= Math.ceil(minutes)) + 0.03,
              );
            }
          } else {
            expect(shown, what).toEqual(expected);
          }
          // A trend: the change from the previous range (first row) to the range (last row), as Grafana computes it.
          if ((p as { options?: { showPercentChange?: boolean } }).options?.showPercentChange) {
            expect(truth.rows.length, `${what}: the previous range and the range`).toBe(2);
            for (const [i, c] of truth.columns.entries()) {
              if (typeof truth.rows[0]![i] !== 'number') continue;
              const [before, now] = [Number(truth.rows[0]![i]), Number(truth.rows[1]![i])];
              if (before === 0) expect(view.changes[c.name], `${what}: no change against nothing`).toBeUndefined();
              else
                expect(view.changes[c.name], `${what}: ${c.name} ${before} → ${now}`).toBeCloseTo(
                  ((now - before) / before) * 100,
                  9,
                );
              trends.push(`${p.title}: ${before} → ${now} (${view.changes[c.name]?.toFixed(1) ?? 'n/a'} %)`);
            }
          }
        }
      }
      if (trends.length) log(`${file}: trends ${trends.join('; ')}`);
      if (tables.length) log(`${file}: tables equal to their datasource, cell by cell: ${tables.join('; ')}`);
      log(
        `${file}: ${views.length} panels, states ${JSON.stringify(views.reduce<Record<string, number>>((m, v) => ({ ...m, [v.state]: (m[v.state] ?? 0) + 1 }), {}))}`,
      );
    });
  }

  it('opens Grafana-style links: from=now-6h&to=now and range=6h render every panel, and writes the range back to the URL; an unreadable one falls back with a note', async () => {
    for (const query of ['from=now-6h&to=now', 'range=6h', 'from=now-6h&to=now&refresh=off']) {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      try {
        await page.goto(`${base}/d/pulso-sales?${query}`);
        await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
        const states = await page.$$eval('.panel', (ps) => ps.map((p) => p.getAttribute('data-state')));
        expect(
          states.filter((st) => st === 'error'),
          query,
        ).toEqual([]);
        expect(await page.$eval('#range', (e) => (e as HTMLSelectElement).value), query).toBe('21600000');
        expect(await page.$eval('#note', (e) => (e as HTMLElement).hidden), query).toBe(true);
        await page.selectOption('#range', '900000');
        expect(new URL(page.url()).search, query).toBe(
          query.includes('refresh=off') ? '?from=now-15m&to=now&refresh=off' : '?from=now-15m&to=now',
        );
      } finally {
        await page.close();
      }
    }
    const page = await browser.newPage();
    try {
      const res = await page.goto(`${base}/d/pulso-sales?from=yesterday&to=now`);
      expect(res?.status()).toBe(200);
      await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
      expect(await page.$eval('#note', (e) => e.textContent)).toMatch(
        /could not read from="yesterday".*showing the last 1h/,
      );
      const states = await page.$$eval('.panel', (ps) => ps.map((p) => p.getAttribute('data-state')));
      expect(states.filter((st) => st === 'error')).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('shows each headline trend as its change against the previous range of equal length, as Druid counts it', async () => {
    // This run's orders were placed from 5 h before toMs on, over a span the daily curve decides: the range is
    // the second half of that span, so the previous range of equal length holds the first half.
    const span = await queryDruidTable(
      cfg,
      'SELECT MIN(__time), MAX(__time) FROM order_rollup_status WHERE __time >= MILLIS_TO_TIMESTAMP(?) AND __time < MILLIS_TO_TIMESTAMP(?)',
      [
        { type: 'BIGINT', value: toMs - 5 * 3600_000 },
        { type: 'BIGINT', value: toMs - 3 * 3600_000 },
      ],
    );
    const [first, last] = span.rows[0]!.map((t) => Date.parse(String(t)));
    const from = Math.floor((first! + last!) / 2 / 60_000) * 60_000;
    const to = last! + 60_000;
    expect(last! - first!, 'the run placed orders over several minutes').toBeGreaterThanOrEqual(4 * 60_000);
    const sales = readDashboardFiles().find((f) => f.dashboard.uid === 'pulso-sales')!.dashboard;
    const trendPanels = flatPanels(sales.panels).filter(
      (p) => (p as { options?: { showPercentChange?: boolean } }).options?.showPercentChange,
    );
    expect(trendPanels.map((p) => p.title)).toEqual([
      'Total orders',
      'Completed orders',
      '% completed',
      'Completion and cancellation rate (finished orders)',
      'GMV (USD)',
      'Average ticket (USD)',
    ]);
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    try {
      await page.goto(`${base}/d/pulso-sales?from=${from}&to=${to}&refresh=off`);
      await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
      const seen: string[] = [];
      for (const p of trendPanels) {
        const q = bindPanelQuery(sales, p.id!, 'A', from, to);
        const truth = await queryDruidTable(cfg, q.query, q.parameters, q.context);
        const [before, now] = truth.rows.map((r) => Number(r[1]));
        expect(before, `${p.title}: the previous range`).toBeGreaterThan(0);
        expect(now, `${p.title}: the range`).toBeGreaterThan(0);
        const shown = await page.evaluate((id) => {
          const box = document.querySelector(`.panel[data-panel-id="${id}"]`)!;
          return {
            value: box.querySelector('[data-value]')?.getAttribute('data-value'),
            change: Number(box.querySelector('[data-change]')?.getAttribute('data-change')),
            text: box.querySelector('[data-change]')?.textContent,
          };
        }, p.id!);
        expect(shown.value, p.title).toBe(String(now));
        expect(shown.change, p.title).toBeCloseTo(((now! - before!) / before!) * 100, 9);
        seen.push(`${p.title} ${before} → ${now}: ${shown.text}`);
      }
      log(`trends: ${seen.join('; ')}`);
    } finally {
      await page.close();
    }
  });

  it('"Latest orders" shows the newest orders placed in the last 15 minutes, every cell as Druid returns it', async () => {
    // Orders placed now (the generator above wrote its history hours in the past).
    const c = new pg.Client({ connectionString: cfg.pg.url });
    await c.connect();
    const placed: string[] = [];
    let toMsOfPlaced = 0;
    try {
      const { rows } = await c.query<{ address_id: string; customer_id: string; store_id: string; currency: string }>(
        `SELECT a.id AS address_id, a.customer_id, s.id AS store_id, co.currency
           FROM addresses a JOIN customers cu ON cu.id = a.customer_id JOIN stores s ON s.city_id = cu.city_id
           JOIN cities ci ON ci.id = s.city_id JOIN countries co ON co.code = ci.country_code
          WHERE s.is_active ORDER BY a.id LIMIT 5`,
      );
      for (const [i, r] of rows.entries()) {
        const total = (100 + i * 11.11).toFixed(2);
        const o = await c.query<{ id: string }>(
          `INSERT INTO orders (customer_id, store_id, address_id, payment_method, currency, subtotal, delivery_fee, discount, tax, total, item_count, business_date)
           VALUES ($1, $2, $3, 'card', $4, $5, 0.00, 0.00, 0.00, $5, 1, current_date) RETURNING id`,
          [r.customer_id, r.store_id, r.address_id, r.currency, total],
        );
        placed.push(o.rows[0]!.id);
      }
      await c.query(`UPDATE orders SET status = 'accepted', updated_at = now() WHERE id = $1`, [placed[0]]);
      // The range ends just after these orders: simulated runs of other tests may have dated orders in the future.
      const newest = await c.query<{ ms: string }>(
        'SELECT (extract(epoch FROM max(created_at)) * 1000)::bigint::text AS ms FROM orders WHERE id = ANY($1::bigint[])',
        [placed],
      );
      toMsOfPlaced = Number(newest.rows[0]!.ms) + 1000;
    } finally {
      await c.end();
    }
    const sales = readDashboardFiles().find((f) => f.dashboard.uid === 'pulso-sales')!.dashboard;
    const panel = flatPanels(sales.panels).find((p) => p.title === 'Latest orders')!;
    const [from, to] = [toMsOfPlaced - 3600_000, toMsOfPlaced];
    const q = bindPanelQuery(sales, panel.id!, 'A', from, to);
    const truth = await pollUntil(
      async () => {
        const t = await queryDruidTable(cfg, q.query, q.parameters, q.context);
        const ids = t.rows.map((r) => String(r[1]));
        const first = t.rows.find((r) => String(r[1]) === placed[0]);
        return placed.every((id) => ids.includes(id)) && first?.[4] === 'accepted' ? t : undefined;
      },
      { what: 'the orders placed now in "Latest orders"', timeoutMs: 60_000, intervalMs: 500 },
    );
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    try {
      await page.goto(`${base}/d/pulso-sales?from=${from}&to=${to}&refresh=off`);
      await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
      const cells = await page.evaluate(
        (id) =>
          [...document.querySelectorAll(`.panel[data-panel-id="${id}"] tbody tr`)].map((tr) =>
            [...tr.children].map((td) => td.textContent ?? ''),
          ),
        panel.id!,
      );
      const expected = truth.rows.map((row) =>
        row.map((v, i) =>
          truth.columns[i]!.sqlType === 'TIMESTAMP'
            ? String(v)
                .replace('T', ' ')
                .replace(/\.000Z$/, 'Z')
            : typeof v === 'number'
              ? v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
              : String(v),
        ),
      );
      expect(cells.length).toBeGreaterThanOrEqual(placed.length);
      expect(cells).toEqual(expected);
      log(`Latest orders: ${cells.length} rows, every cell equal to Druid's (newest: ${cells[0]!.join(' | ')})`);
    } finally {
      await page.close();
    }
  });

  it('draws the geomaps on country borders: every city Druid returns is drawn at its place, inside its own country', async () => {
    const sales = readDashboardFiles().find((f) => f.dashboard.uid === 'pulso-sales')!.dashboard;
    const byCity = flatPanels(sales.panels).find((p) => p.type === 'geomap' && p.title === 'Orders by city')!;
    const q = bindPanelQuery(sales, byCity.id!, 'A', fromMs, toMs);
    const truth = await queryDruidTable(cfg, q.query, q.parameters, q.context);
    const col = (n: string) => truth.columns.findIndex((c) => c.name === n);
    expect(truth.rows.length).toBeGreaterThan(10);
    const basemap = (await axios.get<Basemap>(`${base}/static/basemap.json`)).data;
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    try {
      await page.goto(`${base}/d/pulso-sales?from=${fromMs}&to=${toMs}`);
      await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
      const drawn = await page.evaluate((id) => {
        type Chart = {
          getOption(): { geo?: { map: string }[]; series: { data: { name: string; value: number[] }[] }[] };
        };
        const w = window as unknown as {
          echarts: { getInstanceByDom(d: Element): Chart; getMap(n: string): { geoJSON: { features: unknown[] } } };
        };
        const option = w.echarts
          .getInstanceByDom(document.querySelector(`.panel[data-panel-id="${id}"] .chart`)!)
          .getOption();
        const map = option.geo?.[0]?.map;
        return {
          map,
          regions: map ? w.echarts.getMap(map).geoJSON.features.length : 0,
          points: option.series[0]!.data,
        };
      }, byCity.id!);
      expect(drawn.map).toBe('pulso-latin-america');
      expect(drawn.regions).toBe(basemap.features.length);
      const wrong: string[] = [];
      for (const row of truth.rows) {
        const [city, country] = [String(row[col('city')]), String(row[col('country')])];
        const lonLat = [Number(row[col('longitude')]), Number(row[col('latitude')])] as const;
        const point = drawn.points.find((d) => d.name === city);
        if (!point || point.value[0] !== lonLat[0] || point.value[1] !== lonLat[1])
          wrong.push(`${city}: drawn at ${JSON.stringify(point?.value)}, Druid says ${lonLat}`);
        const home = basemap.features.find((f) => f.id === MARKET_COUNTRY_IDS[country])!;
        // The marker is the order-weighted mean of the stores around the city: on land, or a few km off a coast.
        const off = degreesFrom(lonLat, home.geometry.coordinates);
        if (off > 0.15) wrong.push(`${city} is ${off.toFixed(3)}° outside ${home.properties.name}`);
      }
      expect(drawn.points.length).toBe(truth.rows.length);
      expect(wrong).toEqual([]);
      log(
        `Orders by city: ${truth.rows.length} cities drawn on ${drawn.regions} country borders, each inside its own country`,
      );
    } finally {
      await page.close();
    }
  });

  it('escapes values from data wherever they become HTML: a store named like a script shows as text in every geomap tooltip', async () => {
    // Stored XSS, as reproduced before the fix: the tooltip formatter returned the store name as HTML.
    const name = `<img src=x onerror="window.__pulsoXss=(window.__pulsoXss||0)+1">Tienda ${toMs}`;
    const c = new pg.Client({ connectionString: cfg.pg.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ id: string; customer_id: string }>(
        'SELECT a.id, a.customer_id FROM addresses a JOIN customers cu ON cu.id = a.customer_id WHERE cu.city_id = 3001 LIMIT 1',
      );
      const store = await c.query<{ id: string }>(
        "INSERT INTO stores (name, category, city_id, latitude, longitude) VALUES ($1, 'restaurant', 3001, 4.65, -74.06) RETURNING id",
        [name],
      );
      await c.query(
        `INSERT INTO orders (customer_id, store_id, address_id, payment_method, currency, subtotal, delivery_fee, discount, tax, total, item_count, business_date, created_at)
         VALUES ($1, $2, $3, 'nequi', 'COP', 100.00, 0.00, 0.00, 0.00, 100.00, 1, current_date, $4)`,
        [rows[0]!.customer_id, store.rows[0]!.id, rows[0]!.id, new Date(toMs - 3600_000)],
      );
    } finally {
      await c.end();
    }
    await pollUntil(
      async () =>
        (
          await queryDruidTable(cfg, 'SELECT COUNT(*) FROM order_rollup_store WHERE store_name = ?', [
            { type: 'VARCHAR', value: name },
          ])
        ).rows[0]?.[0] === 1 || undefined,
      { what: 'the store with a script in its name in Druid', timeoutMs: 120_000, intervalMs: 1000 },
    );
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    try {
      await page.goto(`${base}/d/pulso-sales?from=${fromMs}&to=${toMs}`);
      await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
      // Every point of every geomap shows its tooltip, the way hovering does.
      const shown = await page.evaluate(async () => {
        const texts: string[] = [];
        for (const div of document.querySelectorAll('.panel[data-panel-type="geomap"] .chart')) {
          const chart = (
            window as unknown as {
              echarts: {
                getInstanceByDom(d: Element): {
                  getOption(): { series: { data: unknown[] }[] };
                  dispatchAction(a: unknown): void;
                };
              };
            }
          ).echarts.getInstanceByDom(div);
          const n = chart.getOption().series[0]!.data.length;
          for (let i = 0; i < n; i++) {
            chart.dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: i });
            await new Promise((r) => requestAnimationFrame(r));
            const tip = [...div.querySelectorAll('div')].find((d) => d.style.position === 'absolute' && d.textContent);
            if (tip) texts.push(tip.textContent ?? '');
          }
        }
        return texts;
      });
      await sleep(300); // an injected onerror fires once the broken image fails to load
      expect(await page.evaluate(() => (window as unknown as { __pulsoXss?: number }).__pulsoXss ?? 0)).toBe(0);
      // Our store's own tooltip shows its name as the text it is, markup and all.
      await page.waitForFunction(
        (storeName) => {
          type Chart = { getOption(): { series: { data: { name: string }[] }[] }; dispatchAction(a: unknown): void };
          for (const div of document.querySelectorAll('.panel[data-panel-type="geomap"] .chart')) {
            const chart = (
              window as unknown as { echarts: { getInstanceByDom(d: Element): Chart } }
            ).echarts.getInstanceByDom(div);
            const i = chart.getOption().series[0]!.data.findIndex((d) => d.name === storeName);
            if (i < 0) continue;
            chart.dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: i });
            return [...div.querySelectorAll('div')].some(
              (d) => d.style.position === 'absolute' && (d.textContent ?? '').includes(storeName),
            );
          }
          return false;
        },
        name,
        { timeout: 15_000, polling: 250 },
      );
      expect(await page.evaluate(() => (window as unknown as { __pulsoXss?: number }).__pulsoXss ?? 0)).toBe(0);
      log(`geomap tooltips: ${shown.length} shown, none ran a script`);
    } finally {
      await page.close();
    }
  });

  it('answers a request for anything but a dashboard panel with HTTP 400 naming the problem', async () => {
    const post = (body: unknown) => axios.post(`${base}/api/query`, body, { validateStatus: () => true });
    const sql = await post('SELECT * FROM orders');
    expect(sql.status).toBe(415);
    expect(sql.data.error).toMatch(/content-type must be application\/json/);
    const sqlAsJson = await axios.post(`${base}/api/query`, '"SELECT * FROM orders"', {
      headers: { 'content-type': 'application/json' },
      validateStatus: () => true,
    });
    expect(sqlAsJson.status).toBe(400);
    expect(sqlAsJson.data.error).toMatch(/body must be a JSON object/);
    const unknown = await post({ uid: 'pulso-sales', panelId: 999, refId: 'A', from: fromMs, to: toMs });
    expect(unknown.status).toBe(400);
    expect(unknown.data.error).toMatch(/has no panel 999/);
    const foreign = await post({ uid: 'not-a-dashboard', panelId: 1, from: fromMs, to: toMs });
    expect(foreign.status).toBe(400);
    expect(foreign.data.error).toMatch(/no provisioned dashboard/);
    const badRange = await post({ uid: 'pulso-sales', panelId: 1, refId: 'A', from: toMs, to: fromMs });
    expect(badRange.status).toBe(400);
    expect(badRange.data.error).toMatch(/from < to/);
  });

  it('with Druid unreachable, every query panel shows the error and the server keeps serving', async () => {
    const down = { ...cfg, druid: { ...cfg.druid, url: 'http://127.0.0.1:9' } };
    const server = createDashboardsServer(down, createLogger('dashboards-it', 'error'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const views = await render('pulso-sales', url);
      const queryPanels = views.filter((v) => v.type !== 'text');
      expect(queryPanels.length).toBeGreaterThan(10);
      for (const v of queryPanels) {
        expect(v.state, `panel ${v.id}`).toBe('error');
        expect(v.text).toMatch(/Druid at http:\/\/127\.0\.0\.1:9 did not answer/);
      }
      expect((await axios.get(`${url}/health`)).data).toEqual({ status: 'ok' });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
