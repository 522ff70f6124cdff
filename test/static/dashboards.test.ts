import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Dashboard, Panel } from '@grafana/schema';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SUPERVISOR_SPEC_FILES, type KafkaSupervisorSpec } from '../../druid-specs/renderSpec.ts';
import { ALL_DASHBOARDS, renderDashboardJson } from '../../grafana/src/build.ts';
import { DRUID_DATASOURCE, PROMETHEUS_DATASOURCE, SCHEMA_VERSION } from '../../grafana/src/panelKit.ts';
import { LATEST_ORDERS_WINDOW_MS } from '../../grafana/src/sqlFragments.ts';
import { listPanelQueries, substituteRange } from '../../grafana/src/panelQueryList.ts';
import { DASHBOARDS_DIR, readDashboardFiles } from '../../grafana/src/dashboardFiles.ts';
import { PROJECT_ROOT as REPO_ROOT } from '../../lib/config.ts';
import {
  SYSTEM_TABLE_COLUMNS,
  aliasesOf,
  datasourceScopes,
  joinBases,
  outputColumnsOf,
  unknownColumnsInScope,
  unknownIdentifiers,
} from './sqlColumns.ts';

// Typed check (tsc): the dashboards Grafana loads are built from values of @grafana/schema's Dashboard
// type; the test below proves the JSON files are exactly those values.
const typedDashboards: readonly Dashboard[] = ALL_DASHBOARDS.map((d) => d.dashboard);

/** Columns of each datasource: the supervisor spec's dimensions and metrics plus __time. */
const DATASOURCE_COLUMNS: Record<string, Set<string>> = Object.fromEntries(
  Object.entries(SUPERVISOR_SPEC_FILES).map(([ds, file]) => {
    const spec = JSON.parse(readFileSync(resolve(REPO_ROOT, file), 'utf8')) as KafkaSupervisorSpec;
    const { dimensionsSpec, metricsSpec = [] } = spec.spec.dataSchema;
    return [
      ds,
      new Set(['__time', ...dimensionsSpec.dimensions.map((d) => d.name), ...metricsSpec.map((m) => m.name)]),
    ];
  }),
);
/** Datasources whose rows are signed deltas or counters rolled up at ingestion. */
const ROLLUP_DATASOURCES = new Set(
  Object.entries(SUPERVISOR_SPEC_FILES)
    .filter(
      ([, file]) =>
        (JSON.parse(readFileSync(resolve(REPO_ROOT, file), 'utf8')) as KafkaSupervisorSpec).spec.dataSchema
          .granularitySpec.rollup,
    )
    .map(([ds]) => ds),
);
const TABLE_COLUMNS: Record<string, Set<string>> = {
  ...DATASOURCE_COLUMNS,
  ...Object.fromEntries(Object.entries(SYSTEM_TABLE_COLUMNS).map(([t, cols]) => [t, new Set(cols)])),
};
const ALL_COLUMNS = new Set(Object.values(TABLE_COLUMNS).flatMap((s) => [...s]));

const files = readDashboardFiles();
const queries = listPanelQueries();

/**
 * Panels that read event rows on purpose, each bounded by a fixed window before the range end (never by the
 * range): their cost follows the order rate, not the history. "Latest orders" looks 15 minutes back.
 */
/** A trend's scan of the previous range (grafana/src/sqlFragments.ts trendOf): [floor(2·from − to), floor(from)). */
const TREND_SCAN =
  /__time >= TIME_FLOOR\(MILLIS_TO_TIMESTAMP\(2 \* 0 - 0\),\s+''\s+\) AND __time < TIME_FLOOR\(MILLIS_TO_TIMESTAMP\(0\),\s+''\s+\)\s*$/;

/** The sales rate's window: a fixed number of hours before the range end, on a rollup (grafana/src/riskInventory.ts). */
const RATE_WINDOW_SCAN =
  /__time >= TIME_FLOOR\(MILLIS_TO_TIMESTAMP\(0\),\s+''\s+\) - INTERVAL\s+''\s+HOUR AND __time <= MILLIS_TO_TIMESTAMP\(0\)/;

const WINDOWED_EVENT_PANELS: ReadonlySet<string> = new Set(['Latest orders']);

describe('dashboard files', () => {
  it('are exactly what grafana/src renders (run `npx tsx grafana/src/build.ts` after editing)', () => {
    expect(files.map((f) => f.file).sort()).toEqual(ALL_DASHBOARDS.map((d) => d.fileName).sort());
    for (const built of ALL_DASHBOARDS) {
      expect(readFileSync(resolve(DASHBOARDS_DIR, built.fileName), 'utf8'), built.fileName).toBe(
        renderDashboardJson(built),
      );
    }
    expect(typedDashboards.length).toBe(files.length);
  });

  it('have unique uids and titles, a Grafana 12 schemaVersion, UTC and a refresh not below 5s', () => {
    expect(new Set(files.map((f) => f.dashboard.uid)).size).toBe(files.length);
    expect(new Set(files.map((f) => f.dashboard.title)).size).toBe(files.length);
    for (const { file, dashboard: json } of files) {
      const d = json as Dashboard;
      expect(d.schemaVersion, file).toBe(SCHEMA_VERSION);
      expect(d.timezone, file).toBe('utc');
      expect(d.refresh, file).toMatch(/^([5-9]|[1-9]\d+)s$|^\d+m$/);
    }
  });

  it.each(files.map((f) => [f.file, f.dashboard as Dashboard] as const))(
    '%s: panels have unique ids and a valid, non-overlapping grid',
    (_file, d) => {
      const panels = (d.panels ?? []) as Panel[];
      expect(panels.length).toBeGreaterThan(0);
      const ids = panels.map((p) => p.id);
      expect(ids.every((id) => Number.isInteger(id) && id! > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Map<string, string>();
      for (const p of panels) {
        const g = p.gridPos!;
        expect(g, p.title).toBeDefined();
        expect(g.x >= 0 && g.y >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${p.title} ${JSON.stringify(g)}`).toBe(
          true,
        );
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            const other = cells.get(`${x},${y}`);
            expect(other, `${p.title} overlaps ${other}`).toBeUndefined();
            cells.set(`${x},${y}`, p.title ?? '');
          }
        }
        expect(p.title, `panel ${p.id}`).toBeTruthy();
        expect(p.type).toBeTruthy();
      }
    },
  );

  it('have unique panel titles within a dashboard (a title names one panel in tests, links and screenshots)', () => {
    for (const { file, dashboard: json } of files) {
      const titles = ((json.panels ?? []) as Panel[]).map((p) => p.title);
      expect(
        titles.filter((t, i) => titles.indexOf(t) !== i),
        file,
      ).toEqual([]);
    }
  });

  it('every query target uses its panel datasource: Druid SQL in long format and UTC, or PromQL', () => {
    let druid = 0;
    for (const { file, dashboard: json } of files) {
      for (const p of (json.panels ?? []) as Panel[]) {
        for (const t of p.targets ?? []) {
          const where = `${file} / ${p.title}`;
          expect(t['refId'], where).toBe('A');
          expect(p.datasource, where).toEqual(t['datasource']);
          if (t['datasource'] && (t['datasource'] as { type: string }).type === PROMETHEUS_DATASOURCE.type) {
            expect(t['datasource'], where).toEqual(PROMETHEUS_DATASOURCE);
            expect(String(t['expr']).trim().length, where).toBeGreaterThan(0);
            expect(t['range'], `${where}: a range or an instant query`).toBe(!t['instant']);
            continue;
          }
          druid++;
          expect(t['datasource'], where).toEqual(DRUID_DATASOURCE);
          const builder = t['builder'] as { queryType: string; query: string };
          expect(builder.queryType, where).toBe('sql');
          expect(builder.query.trim().length, where).toBeGreaterThan(0);
          const settings = t['settings'] as { format: string; contextParameters: unknown };
          expect(settings.format, where).toBe('long');
          expect(settings.contextParameters, where).toEqual([{ name: 'sqlTimeZone', value: 'Etc/UTC' }]);
        }
        if (p.type !== 'text') expect((p.targets ?? []).length, `${file} / ${p.title}`).toBe(1);
      }
    }
    expect(druid).toBe(queries.length);
  });
});

describe('panel queries', () => {
  it('cover both dashboards and the panels the issue asks for', () => {
    const titles = queries.map((q) => q.panelTitle);
    for (const t of [
      'Total orders',
      'Completed orders',
      '% completed',
      'Revenue by payment method',
      'Orders by payment method',
      'Store locations and their orders',
      'Orders per minute',
      'GMV per minute by currency',
      'Average ticket by currency',
      'Top stores',
      'Top store categories',
      'Orders by city',
      'Status funnel',
      'Delivery time percentiles',
      'Seconds since the newest commit reached Druid',
      'Commit → transformer latency',
      'Low stock now',
      'Stock-outs per hour',
      'Orders lost to stock-outs',
      'Top sellers lately, with their stock',
      'Impossible stock',
    ]) {
      expect(titles).toContain(t);
    }
    expect(new Set(queries.map((q) => q.dashboard))).toEqual(
      new Set(['sales.json', 'risk-inventory.json', 'pipeline-health.json']),
    );
  });

  describe.each(queries.map((q) => [`${q.dashboard} / ${q.panelTitle}`, q] as const))('%s', (_name, q) => {
    const scopes = datasourceScopes(q.sql);
    const windowed = WINDOWED_EVENT_PANELS.has(q.panelTitle);

    it('joins onto a table, never a subquery onto a subquery (that join runs in the broker heap)', () => {
      expect(joinBases(q.sql).filter((b) => b !== 'table')).toEqual([]);
    });

    it('reads only known tables, and in each table only columns of its supervisor spec', () => {
      expect(scopes.length).toBeGreaterThan(0);
      for (const scope of scopes) {
        const columns = TABLE_COLUMNS[scope.table];
        expect(columns, `table ${scope.table}`).toBeDefined();
        expect(unknownColumnsInScope(scope, columns!), scope.text).toEqual([]);
      }
      expect(unknownIdentifiers(q.sql, ALL_COLUMNS)).toEqual([]);
    });

    it('returns every column its panel reads', () => {
      expect(q.expectedColumns.length).toBeGreaterThan(0);
      const out = outputColumnsOf(q.sql);
      for (const c of q.expectedColumns) expect(out, `${c} in ${out.join(', ')}`).toContain(c);
    });

    it('is bounded by the dashboard time range, with Grafana variables only (no $__timeFilter)', () => {
      expect(q.sql).not.toContain('$__timeFilter');
      const readsDatasource = scopes.some((s) => s.table in DATASOURCE_COLUMNS);
      if (readsDatasource) {
        for (const s of scopes.filter((x) => x.table in DATASOURCE_COLUMNS)) {
          // Event rows by their exact time; minute rollups from the range start's minute; a windowed panel's
          // event rows from the window before the range end, never before the range start; a trend's previous
          // range, of equal length, right before the range.
          if (TREND_SCAN.test(s.text)) continue;
          // Stock now is a sum over all of stock_now: one row per product once compacted, whatever the history.
          if (s.table === 'stock_now') continue;
          // A sales rate over a fixed window before the range end (hours of cover).
          if (RATE_WINDOW_SCAN.test(s.text)) continue;
          expect(s.text, 'every datasource scan is range-bounded').toMatch(
            windowed
              ? new RegExp(
                  `__time >= MILLIS_TO_TIMESTAMP\\(GREATEST\\(0, 0 - ${LATEST_ORDERS_WINDOW_MS}\\)\\) AND __time <= MILLIS_TO_TIMESTAMP\\(0\\)`,
                )
              : ROLLUP_DATASOURCES.has(s.table)
                ? /__time >= TIME_FLOOR\(MILLIS_TO_TIMESTAMP\(0\),\s+''\s+\) AND __time <= MILLIS_TO_TIMESTAMP\(0\)/
                : /__time >= MILLIS_TO_TIMESTAMP\(0\) AND __time <= MILLIS_TO_TIMESTAMP\(0\)/,
          );
        }
      }
      const substituted = substituteRange(q.sql, 1_700_000_000_000, 1_700_000_360_000);
      expect(substituted).not.toMatch(/\$\{/);
      const readsRange = scopes.some(
        (s) => s.table in DATASOURCE_COLUMNS && s.table !== 'stock_now' && !RATE_WINDOW_SCAN.test(s.text),
      );
      if (readsRange && !windowed) expect(substituted).toContain('MILLIS_TO_TIMESTAMP(1700000000000)');
      if (windowed) expect(substituted).toContain('GREATEST(1700000000000, 1700000360000 - ');
    });

    it('sums money only as integer cents, and only per currency', () => {
      expect(q.sql, 'no SUM/AVG over decimal money columns').not.toMatch(
        /\b(SUM|AVG)\((subtotal|delivery_fee|discount|tax|total|unit_price|line_total)\)/i,
      );
      if (
        /SUM\((total|subtotal|delivery_fee|discount|tax|line_total|unit_price)_cents\)/i.test(q.sql) &&
        /FROM \(?SELECT order_id/.test(q.sql)
      ) {
        expect(q.expectedColumns, 'a money column is shown per currency').toContain('currency');
      }
    });

    it('divides only by NULLIF(…, 0): HAVING does not guard a division, Druid computes it first (a zero sum broke the response)', () => {
      expect(q.sql).not.toMatch(/\/\s*(SUM|COUNT)\(/i);
    });

    it('never groups by an order, item or event id: panels read pre-aggregated rows, whatever the history', () => {
      if (windowed) return void expect(q.sql).toMatch(/ LIMIT \d+$/); // a bounded window, and a few rows out
      expect(q.sql).not.toMatch(/GROUP BY[^()]*\b(order_id|item_id|event_id)\b/i);
      expect(q.sql).not.toMatch(/LATEST_BY/);
    });

    it('reads rollup datasources (or Druid system tables) only: a scan of the event rows would grow with history', () => {
      if (windowed) return void expect(scopes.map((s) => s.table)).toEqual(['orders']);
      for (const s of scopes)
        expect(ROLLUP_DATASOURCES.has(s.table) || s.table.startsWith('sys.'), `${s.table} is a rollup datasource`).toBe(
          true,
        );
    });
  });
});

describe('panel options refer to returned columns', () => {
  const byId = new Map(queries.map((q) => [`${q.dashboard}#${q.panelId}`, q]));
  for (const { file, dashboard: json } of files) {
    for (const p of (json.panels ?? []) as Panel[]) {
      const q = byId.get(`${file}#${p.id}`);
      const opts = (p.options ?? {}) as Record<string, unknown>;
      if (p.type === 'geomap') {
        it(`${file} / ${p.title}: marker layer uses latitude, longitude and size columns of the query`, () => {
          const layer = (
            opts['layers'] as Array<{
              location: { mode: string; latitude: string; longitude: string };
              config: { style: { size: { field: string } } };
            }>
          )[0]!;
          expect(layer.location.mode).toBe('coords');
          for (const c of [layer.location.latitude, layer.location.longitude, layer.config.style.size.field])
            expect(q!.expectedColumns).toContain(c);
        });
      }
      if (p.type === 'barchart') {
        it(`${file} / ${p.title}: x axis is a returned column`, () => {
          expect(q!.expectedColumns).toContain(opts['xField']);
        });
      }
    }
  }
});

describe('provisioning', () => {
  it('the datasource is the grafadruid plugin with uid druid and a URL from $DRUID_URL', () => {
    const ds = parseYaml(readFileSync(resolve(REPO_ROOT, 'grafana/provisioning/datasources/druid.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: Array<{ uid: string; type: string; access: string; jsonData: Record<string, unknown> }>;
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toHaveLength(1);
    const d = ds.datasources[0]!;
    expect({ uid: d.uid, type: d.type, access: d.access }).toEqual({
      uid: DRUID_DATASOURCE.uid,
      type: DRUID_DATASOURCE.type,
      access: 'proxy',
    });
    // Dotted keys, as the plugin reads them (a nested {connection: {url}} object would be ignored).
    expect(d.jsonData['connection.url']).toBe('$DRUID_URL');
    expect(d.jsonData['connection']).toBeUndefined();
  });

  it('the dashboard provider loads the folder the compose file mounts grafana/dashboards into', () => {
    const prov = parseYaml(readFileSync(resolve(REPO_ROOT, 'grafana/provisioning/dashboards/pulso.yaml'), 'utf8')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(prov.providers).toHaveLength(1);
    expect(prov.providers[0]!.type).toBe('file');
    expect(prov.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('aliases used as output columns never shadow a differently-typed source column by accident', () => {
    // created_at is only ever the rollup rows' __time; no panel re-exposes it under that name.
    for (const q of queries) expect(aliasesOf(q.sql).has('created_at'), q.panelTitle).toBe(false);
  });

  it('no column a panel reads has "time_" in its name: the Druid plugin would render it as a 1970 timestamp', () => {
    // grafadruid druid-grafana v1.4.1, pkg/druid.go: any numeric column whose name contains "time_" is typed as a time.
    const offenders = queries.flatMap((q) =>
      q.expectedColumns.filter((c) => c.includes('time_')).map((c) => `${q.dashboard} / ${q.panelTitle}: ${c}`),
    );
    expect(offenders).toEqual([]);
  });
});
