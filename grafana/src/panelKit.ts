// Typed builders for Grafana panels that query Druid through the grafadruid plugin.
// The dashboards are written in TypeScript (checked against @grafana/schema) and rendered to
// grafana/dashboards/*.json by grafana/src/build.ts; test/static checks the JSON is up to date.
import type { Dashboard, DataTransformerConfig, FieldConfigSource, GridPos, Panel } from '@grafana/schema';

export const DRUID_DATASOURCE = { type: 'grafadruid-druid-datasource', uid: 'druid' } as const;
/** Prometheus (grafana/provisioning/datasources/prometheus.yaml; the local server proxies the same queries). */
export const PROMETHEUS_DATASOURCE = { type: 'prometheus', uid: 'prometheus' } as const;

/** Grafana 12.x dashboards; older numbers are migrated on load, newer ones are not understood. */
export const SCHEMA_VERSION = 41;

/** The saved target shape of the grafadruid plugin for a Druid SQL query. */
export interface DruidSqlTarget {
  readonly refId: string;
  readonly datasource: typeof DRUID_DATASOURCE;
  readonly builder: { readonly queryType: 'sql'; readonly query: string };
  readonly settings: {
    readonly format: 'long';
    readonly contextParameters?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  };
  readonly [key: string]: unknown;
}

/** Every query runs with an explicit UTC session time zone (TIME_FLOOR buckets, TIME_PARSE, literals). */
export function druidSqlTarget(query: string, refId = 'A'): DruidSqlTarget {
  return {
    refId,
    datasource: DRUID_DATASOURCE,
    builder: { queryType: 'sql', query },
    settings: { format: 'long', contextParameters: [{ name: 'sqlTimeZone', value: 'Etc/UTC' }] },
  };
}

/** The saved target shape of Grafana's Prometheus datasource. */
export interface PrometheusTarget {
  readonly refId: string;
  readonly datasource: typeof PROMETHEUS_DATASOURCE;
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: boolean;
  readonly instant: boolean;
  readonly editorMode: 'code';
  readonly [key: string]: unknown;
}

/**
 * A PromQL target: a range query drawn over time, or an instant query at the range end (stats, tables). Only
 * Grafana's $__rate_interval and $__range may appear in it (the local server binds those two, as Grafana does).
 */
export function prometheusTarget(expr: string, opts: { legend?: string; instant?: boolean } = {}, refId = 'A') {
  const instant = opts.instant === true;
  return {
    refId,
    datasource: PROMETHEUS_DATASOURCE,
    expr,
    legendFormat: opts.legend ?? '',
    range: !instant,
    instant,
    editorMode: 'code',
  } satisfies PrometheusTarget;
}

/** A panel plus the result columns it reads (used by listPanelQueries and the end-to-end test). */
export interface QueryPanel {
  readonly panel: Panel;
  readonly reads: readonly string[];
}

/** A panel without a Druid query (explanations, links). */
export interface TextPanel {
  readonly panel: Panel;
  readonly reads?: undefined;
}

export type PanelDef = QueryPanel | TextPanel;

/** What a panel queries: Druid SQL, or PromQL (whose answer the local server turns into time, series, value). */
type QuerySource =
  | { readonly sql: string; readonly promql?: undefined }
  | {
      readonly promql: string;
      /** Grafana's legendFormat: `{{label}}` from the series' labels. */
      readonly legend?: string;
      readonly instant?: boolean;
      readonly sql?: undefined;
    };

type Common = QuerySource & {
  readonly title: string;
  readonly description: string;
  readonly gridPos: GridPos;
  readonly reads: readonly string[];
  readonly unit?: string;
  readonly decimals?: number;
  readonly transformations?: DataTransformerConfig[];
  /** Grafana value mappings: a value shown as a text (e.g. `up` 0 → DOWN). */
  readonly mappings?: ReadonlyArray<{ value: string; text: string; color: string }>;
};

function fieldConfig(unit?: string, decimals?: number, extra: Record<string, unknown> = {}): FieldConfigSource {
  return {
    defaults: {
      ...(unit === undefined ? {} : { unit }),
      ...(decimals === undefined ? {} : { decimals }),
      ...extra,
    },
    overrides: [],
  };
}

function valueMappings(m: Common['mappings']): Record<string, unknown> {
  if (!m) return {};
  const options = Object.fromEntries(m.map((x, index) => [x.value, { text: x.text, color: x.color, index }]));
  return { mappings: [{ type: 'value', options }] };
}

function queryPanel(
  type: string,
  c: Common,
  options: Record<string, unknown>,
  extraDefaults: Record<string, unknown> = {},
): QueryPanel {
  return {
    reads: c.reads,
    panel: {
      type,
      title: c.title,
      description: c.description,
      gridPos: c.gridPos,
      datasource: c.promql === undefined ? DRUID_DATASOURCE : PROMETHEUS_DATASOURCE,
      targets: [
        c.promql === undefined
          ? druidSqlTarget(c.sql)
          : prometheusTarget(c.promql, { legend: c.legend, instant: c.instant }),
      ],
      fieldConfig: fieldConfig(c.unit, c.decimals, { ...valueMappings(c.mappings), ...extraDefaults }),
      options,
      ...(c.transformations ? { transformations: c.transformations } : {}),
    },
  };
}

export function stat(
  c: Common & {
    readonly thresholds?: ReadonlyArray<{ color: string; value: number | null }>;
    /** One stat per result row (e.g. per currency) instead of the last row only. */
    readonly perRow?: boolean;
    /** The query returns the previous range and the range (trendOf): the change against the previous one is shown. */
    readonly trend?: boolean;
  },
): QueryPanel {
  const extra = c.thresholds
    ? { thresholds: { mode: 'absolute', steps: c.thresholds }, color: { mode: 'thresholds' } }
    : {};
  return queryPanel(
    'stat',
    c,
    {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: c.perRow === true },
      ...(c.trend ? { showPercentChange: true, percentChangeColorMode: 'standard' } : {}),
      colorMode: c.thresholds ? 'background' : 'value',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
    extra,
  );
}

/** Long rows (time, label…, value) become one series per label before drawing. */
export const LONG_TO_SERIES: DataTransformerConfig = { id: 'prepareTimeSeries', options: { format: 'multi' } };

export function timeseries(
  c: Common & {
    readonly stacked?: boolean;
    /** Series (by display name) drawn as red points on their own: marks, such as the minutes outside a band. */
    readonly marks?: readonly string[];
  },
): QueryPanel {
  const built = queryPanel(
    'timeseries',
    c,
    {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    {
      custom: {
        drawStyle: 'line',
        lineWidth: 1,
        fillOpacity: c.stacked ? 30 : 10,
        showPoints: 'never',
        spanNulls: false,
        ...(c.stacked ? { stacking: { mode: 'normal', group: 'A' } } : {}),
      },
    },
  );
  const overrides = (c.marks ?? []).map((name) => ({
    matcher: { id: 'byName', options: name },
    properties: [
      { id: 'custom.drawStyle', value: 'points' },
      { id: 'custom.pointSize', value: 9 },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ],
  }));
  if (overrides.length) built.panel.fieldConfig!.overrides = overrides;
  return built;
}

export function table(c: Common & { readonly sortBy?: string }): QueryPanel {
  return queryPanel('table', c, {
    showHeader: true,
    cellHeight: 'sm',
    ...(c.sortBy ? { sortBy: [{ displayName: c.sortBy, desc: true }] } : {}),
  });
}

export function barChart(c: Common & { readonly xField: string; readonly horizontal?: boolean }): QueryPanel {
  return queryPanel('barchart', c, {
    xField: c.xField,
    orientation: c.horizontal ? 'horizontal' : 'auto',
    showValue: 'auto',
    legend: { displayMode: 'list', placement: 'bottom', showLegend: false },
    tooltip: { mode: 'single', sort: 'none' },
  });
}

export function barGauge(c: Common): QueryPanel {
  return queryPanel('bargauge', c, {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    orientation: 'horizontal',
    displayMode: 'gradient',
    showUnfilled: true,
  });
}

export function pieChart(c: Common & { readonly labelField: string }): QueryPanel {
  return queryPanel('piechart', c, {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: true },
    pieType: 'donut',
    displayLabels: ['name', 'percent'],
    legend: { displayMode: 'table', placement: 'right', showLegend: true, values: ['value', 'percent'] },
    tooltip: { mode: 'single', sort: 'none' },
  });
}

/** A geomap with one marker layer placed by explicit latitude/longitude columns, sized by `sizeField`. */
export function geomap(c: Common & { readonly sizeField: string; readonly layerName: string }): QueryPanel {
  return queryPanel('geomap', c, {
    view: { id: 'fit', lat: 0, lon: 0, zoom: 2, allLayers: true },
    controls: { showZoom: true, mouseWheelZoom: true, showAttribution: true },
    basemap: { type: 'default', name: 'Basemap' },
    tooltip: { mode: 'details' },
    layers: [
      {
        type: 'markers',
        name: c.layerName,
        location: { mode: 'coords', latitude: 'latitude', longitude: 'longitude' },
        config: {
          showLegend: true,
          style: {
            size: { field: c.sizeField, min: 4, max: 30, fixed: 5 },
            color: { fixed: 'dark-green' },
            opacity: 0.6,
            symbol: { mode: 'fixed', fixed: 'img/icons/marker/circle.svg' },
          },
        },
      },
    ],
  });
}

export function text(title: string, gridPos: GridPos, markdown: string): TextPanel {
  return { panel: { type: 'text', title, gridPos, options: { mode: 'markdown', content: markdown } } };
}

export interface BuiltDashboard {
  /** File name under grafana/dashboards/. */
  readonly fileName: string;
  readonly dashboard: Dashboard;
  /** Result columns read by each query panel, by panel id. */
  readonly readsByPanelId: ReadonlyMap<number, readonly string[]>;
}

/** Assigns sequential panel ids (stable across builds) and assembles the dashboard. */
/** What every Pulso dashboard shares: read-only, shared crosshair, 5 s refresh, last hour, UTC. */
export const DASHBOARD_DEFAULTS: Pick<
  Dashboard,
  'editable' | 'graphTooltip' | 'refresh' | 'time' | 'timezone' | 'timepicker'
> = {
  editable: false,
  graphTooltip: 1,
  refresh: '5s',
  time: { from: 'now-1h', to: 'now' },
  timezone: 'utc',
  timepicker: { refresh_intervals: ['5s', '10s', '30s', '1m', '5m'] },
};

/** A header link to another Pulso dashboard, keeping the time range. */
export function dashboardLink(title: string, uid: string) {
  return {
    title,
    type: 'link' as const,
    url: `/d/${uid}`,
    icon: 'dashboard',
    tags: [],
    asDropdown: false,
    includeVars: false,
    keepTime: true,
    targetBlank: false,
    tooltip: '',
  };
}

export function assemble(
  fileName: string,
  base: Omit<Dashboard, 'panels' | 'schemaVersion'>,
  defs: readonly PanelDef[],
): BuiltDashboard {
  const readsByPanelId = new Map<number, readonly string[]>();
  const panels: Panel[] = defs.map((d, i) => {
    const id = i + 1;
    if (d.reads) readsByPanelId.set(id, d.reads);
    return { id, ...d.panel };
  });
  const dashboard = { ...base, schemaVersion: SCHEMA_VERSION, panels } satisfies Dashboard;
  return { fileName, dashboard, readsByPanelId };
}
