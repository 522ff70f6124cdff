// The dashboards page: lays out a provisioned Grafana dashboard (its panels, grid, units and refresh) and
// draws each panel with Apache ECharts from the rows the server's /api/query returns. The page only ever
// names a panel and a time range; the server owns the SQL. Every panel carries data-state (loading, ok,
// empty, error, unsupported) so a browser test can read what it shows.
/* global echarts, PulsoTimeRange */
'use strict';

// The range comes from the URL the Grafana way (timeRange.js): ?from=now-6h&to=now follows the clock,
// ?from=<ms|ISO>&to=<ms|ISO> pins it (tests, shared links); the picker writes it back.
const state = {
  dashboard: null,
  rangeMs: 3600000,
  fixed: null,
  refreshMs: undefined,
  range: { from: 0, to: 0 },
  timer: null,
  charts: new Map(),
  /** The geomaps' view, [[west, north], [east, south]], once the basemap is registered. */
  basemap: null,
};
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};

/** Text from data (store names, cities, anything a row holds) made safe to put where ECharts expects HTML. */
const escapeHtml = (s) =>
  String(s).replace(
    /[&<>"'`]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c],
  );

// ---- values and units (the subset of Grafana's units these dashboards use) ----
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
/** Grafana's value mappings (type value): the text a value is shown as (`up` 0 → DOWN), or undefined. */
function mappedValue(v, field) {
  for (const m of field.mappings ?? []) if (m.type === 'value' && m.options?.[String(v)]) return m.options[String(v)];
  return undefined;
}

function formatValue(v, field) {
  if (v === null || v === undefined) return 'No data';
  const mapped = mappedValue(v, field);
  if (mapped?.text !== undefined) return mapped.text;
  if (!isNum(v)) return String(v);
  const unit = field.unit;
  const d = field.decimals ?? (Number.isInteger(v) ? 0 : 2);
  const n = (x, dd = d) => x.toLocaleString('en-US', { minimumFractionDigits: dd, maximumFractionDigits: dd });
  switch (unit) {
    case 'percent':
      return `${n(v)}%`;
    case 'percentunit':
      return `${n(v * 100)}%`;
    case 'ms':
      return v >= 1000 ? `${n(v / 1000, 2)} s` : `${n(v)} ms`;
    case 's':
      return v >= 3600 ? `${n(v / 3600, 1)} h` : v >= 60 ? `${n(v / 60, 1)} min` : `${n(v)} s`;
    case 'm':
      return `${n(v)} min`;
    case 'currencyUSD':
      return `${v < 0 ? '-' : ''}$${n(Math.abs(v))}`;
    default:
      return n(v);
  }
}
function fieldConfig(panel, column) {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const cfg = { unit: defaults.unit, decimals: defaults.decimals, mappings: defaults.mappings };
  for (const o of panel.fieldConfig?.overrides ?? []) {
    if (o.matcher?.id === 'byName' && o.matcher.options === column) {
      for (const p of o.properties ?? []) {
        if (p.id === 'unit') cfg.unit = p.value;
        if (p.id === 'decimals') cfg.decimals = p.value;
        if (p.id === 'displayName') cfg.displayName = p.value;
      }
    }
  }
  return cfg;
}
/** Grafana's per-series overrides (matcher byName) that the time series draws: draw style, point size, fixed colour. */
function seriesOverrides(panel, name) {
  const out = {};
  for (const o of panel.fieldConfig?.overrides ?? []) {
    if (o.matcher?.id !== 'byName' || o.matcher.options !== name) continue;
    for (const p of o.properties ?? []) {
      if (p.id === 'custom.drawStyle') out.drawStyle = p.value;
      if (p.id === 'custom.pointSize') out.pointSize = p.value;
      if (p.id === 'color' && p.value?.mode === 'fixed') out.color = p.value.fixedColor;
    }
  }
  return out;
}
const label = (panel, column) => fieldConfig(panel, column).displayName ?? column.replace(/_/g, ' ');
const isTimeType = (t) => t === 'TIMESTAMP' || t === 'DATE';
const isNumType = (t) => ['BIGINT', 'INTEGER', 'DOUBLE', 'FLOAT', 'DECIMAL', 'REAL', 'SMALLINT', 'TINYINT'].includes(t);

/** Columns a Grafana "organize" transformation hides. */
function hiddenColumns(panel) {
  const hidden = new Set();
  for (const t of panel.transformations ?? [])
    if (t.id === 'organize') for (const [k, v] of Object.entries(t.options?.excludeByName ?? {})) if (v) hidden.add(k);
  return hidden;
}

// ---- panel renderers: (panel, table, body) → 'ok' | 'empty' ----
function chart(body, option) {
  const div = el('div', { class: 'chart' });
  body.append(div);
  const c = echarts.init(div, 'dark', { renderer: 'canvas' });
  c.setOption({ backgroundColor: 'transparent', animation: false, textStyle: { fontSize: 11 }, ...option });
  return c;
}

/**
 * The values a stat or bar gauge shows, as Grafana reduces a table: with reduceOptions.values one value per
 * row and numeric column, named by the row's string fields (and the column when there are several); without
 * it, each numeric column's last non-null value (calcs: lastNotNull), named by column, and with
 * showPercentChange its change from the column's first non-null value, in percent (null when that is 0).
 */
function reducedValues(panel, t) {
  const nums = t.columns.map((c, i) => [c, i]).filter(([c]) => isNumType(c.sqlType) || c.sqlType === '');
  const strings = t.columns
    .map((c, i) => [c, i])
    .filter(([c]) => !(isNumType(c.sqlType) || c.sqlType === '') && !isTimeType(c.sqlType));
  if (panel.options?.reduceOptions?.values !== true) {
    return nums.map(([c, i]) => {
      const present = t.rows.map((r) => r[i]).filter((v) => v !== null && v !== undefined);
      const [first, last] = [present[0], present.at(-1)];
      const change =
        panel.options?.showPercentChange && present.length > 1 && isNum(first) && first !== 0
          ? ((last - first) / Math.abs(first)) * 100
          : null;
      return { column: c.name, row: '', name: label(panel, c.name), v: last ?? null, change };
    });
  }
  return t.rows.flatMap((r) => {
    const rowName = strings.map(([, i]) => String(r[i] ?? '')).join(' ');
    return nums.map(([c, i]) => ({
      column: c.name,
      row: rowName,
      name: [rowName, nums.length > 1 || !rowName ? label(panel, c.name) : ''].filter(Boolean).join(' · '),
      v: r[i],
    }));
  });
}

/**
 * A time series' lines. Stacked as Grafana stacks them (fieldConfig custom.stacking.mode 'normal', fill at
 * custom.fillOpacity): every series gets a point at every time any series has one, a missing one counting as 0.
 */
function lineSeries(panel, series) {
  const custom = panel.fieldConfig?.defaults?.custom ?? {};
  const stacked = custom.stacking?.mode === 'normal';
  const times = stacked
    ? [...new Set([...series.values()].flatMap((d) => d.map(([t]) => t)))].sort((a, b) => a - b)
    : [];
  return [...series].map(([name, data]) => {
    const byTime = stacked ? new Map(data) : undefined;
    const points = stacked ? times.map((t) => [t, byTime.get(t) ?? 0]) : data;
    const mark = seriesOverrides(panel, name);
    // A series drawn as points (Grafana custom.drawStyle points): marks, such as minutes outside a band.
    if (mark.drawStyle === 'points')
      return { name, type: 'scatter', data: points, symbolSize: mark.pointSize ?? 8, itemStyle: { color: mark.color } };
    return {
      name,
      type: 'line',
      showSymbol: points.length < 3,
      data: points,
      ...(stacked ? { stack: 'total' } : {}),
      areaStyle: { opacity: stacked ? (custom.fillOpacity ?? 30) / 100 : 0.08 },
    };
  });
}

const RENDERERS = {
  stat(panel, t, body) {
    const values = reducedValues(panel, t);
    // Many values (one per row: GMV by currency) share the panel in a grid of smaller figures, as Grafana's auto layout does.
    const box = el('div', { class: values.length > 3 ? 'stat many' : 'stat' });
    for (const { column, row, name, v, change } of values) {
      const f = fieldConfig(panel, column);
      const cell = el(
        'div',
        {},
        el('div', {
          class: 'value',
          'data-column': column,
          'data-row': row,
          'data-value': v === null || v === undefined ? '' : String(v),
          ...(mappedValue(v, f)?.color ? { style: `color: ${mappedValue(v, f).color}` } : {}),
          text: formatValue(v, f),
        }),
      );
      // Grafana's percent change: against the previous range, green up, red down.
      if (change !== null && change !== undefined)
        cell.append(
          el('div', {
            class: `change ${change > 0 ? 'up' : change < 0 ? 'down' : ''}`,
            'data-change': String(change),
            text: `${change > 0 ? '▲' : change < 0 ? '▼' : '='} ${formatValue(Math.abs(change), { unit: 'percent', decimals: 1 })}`,
          }),
        );
      if (values.length > 1 || row) cell.append(el('div', { class: 'label', text: name }));
      box.append(cell);
    }
    body.append(box);
    return values.some(({ v }) => v !== null && v !== undefined) ? 'ok' : 'empty';
  },

  timeseries(panel, t, body) {
    const ti = t.columns.findIndex((c) => isTimeType(c.sqlType) || c.name === 'time');
    const nums = t.columns.map((c, i) => [c, i]).filter(([c, i]) => i !== ti && isNumType(c.sqlType));
    const groups = t.columns.map((c, i) => [c, i]).filter(([c, i]) => i !== ti && !isNumType(c.sqlType));
    const series = new Map();
    for (const r of t.rows) {
      const key = groups.map(([, i]) => r[i]).join(' ');
      for (const [c, i] of nums) {
        const name = [key, nums.length > 1 || !key ? label(panel, c.name) : ''].filter(Boolean).join(' · ');
        if (!series.has(name)) series.set(name, []);
        series.get(name).push([Date.parse(r[ti]), r[i]]);
      }
    }
    // Rows whose values are all null (a quantile of no observations) draw nothing: "No data", as in Grafana.
    if (!t.rows.some((r) => nums.some(([, i]) => r[i] !== null && r[i] !== undefined))) return 'empty';
    const f = fieldConfig(panel, nums[0]?.[0].name ?? '');
    state.charts.set(
      panel.id,
      chart(body, {
        grid: { left: 56, right: 12, top: 12, bottom: 40 },
        tooltip: { trigger: 'axis', valueFormatter: (v) => formatValue(v, f) },
        legend: { bottom: 0, type: 'scroll', textStyle: { color: '#ccc' } },
        // The x axis is the dashboard's time range, as in Grafana (ECharts would otherwise pad a lone point by days).
        xAxis: { type: 'time', min: state.range.from, max: state.range.to },
        yAxis: {
          type: 'value',
          minInterval: f.decimals === 0 ? 1 : 0,
          axisLabel: {
            formatter: (v) => formatValue(v, { ...f, decimals: f.decimals === 0 || Number.isInteger(v) ? 0 : 2 }),
          },
        },
        series: lineSeries(panel, series),
      }),
    );
    return 'ok';
  },

  barchart(panel, t, body) {
    const hidden = hiddenColumns(panel);
    const cols = t.columns.map((c, i) => [c, i]).filter(([c]) => !hidden.has(c.name));
    const xName = panel.options?.xField;
    const x = cols.find(([c]) => c.name === xName) ?? cols.find(([c]) => !isNumType(c.sqlType)) ?? cols[0];
    const ys = cols.filter(([c]) => c !== x[0] && isNumType(c.sqlType));
    if (t.rows.length === 0) return 'empty';
    state.charts.set(
      panel.id,
      chart(body, {
        grid: { left: 56, right: 12, top: 12, bottom: 44 },
        tooltip: { trigger: 'axis' },
        legend: { show: ys.length > 1, bottom: 0, textStyle: { color: '#ccc' } },
        xAxis: { type: 'category', data: t.rows.map((r) => String(r[x[1]])), axisLabel: { hideOverlap: true } },
        yAxis: { type: 'value' },
        series: ys.map(([c, i]) => ({
          name: label(panel, c.name),
          type: 'bar',
          stack: panel.options?.stacking === 'normal' ? 'all' : undefined,
          data: t.rows.map((r) => r[i]),
        })),
      }),
    );
    return 'ok';
  },

  piechart(panel, t, body) {
    const name = t.columns.findIndex((c) => !isNumType(c.sqlType));
    const value = t.columns.findIndex((c) => isNumType(c.sqlType));
    const data =
      panel.options?.reduceOptions?.values === false && t.rows.length === 1
        ? t.columns.map((c, i) => ({ name: label(panel, c.name), value: t.rows[0][i] })).filter((d) => isNum(d.value))
        : t.rows.map((r) => ({ name: String(r[name]), value: r[value] }));
    if (data.length === 0) return 'empty';
    state.charts.set(
      panel.id,
      chart(body, {
        tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
        legend: { orient: 'vertical', right: 0, top: 'middle', type: 'scroll', textStyle: { color: '#ccc' } },
        series: [
          {
            type: 'pie',
            radius: panel.options?.pieType === 'donut' ? ['45%', '75%'] : '75%',
            center: ['38%', '50%'],
            data,
            label: { formatter: '{b} {d}%', color: '#ccc' },
          },
        ],
      }),
    );
    return 'ok';
  },

  bargauge(panel, t, body) {
    const items = reducedValues(panel, t).filter(({ v }) => isNum(v));
    if (items.length === 0) return 'empty';
    const max = Math.max(1, ...items.map(({ v }) => v));
    const g = el('div', { class: 'gauge' });
    for (const { column, row, name, v } of items) {
      const track = el('div', { class: 'track' }, el('div', { class: 'bar', style: `width:${(100 * v) / max}%` }));
      g.append(
        el('div', { text: name }),
        track,
        el('div', {
          class: 'num',
          'data-column': column,
          'data-row': row,
          'data-value': String(v),
          text: formatValue(v, fieldConfig(panel, column)),
        }),
      );
    }
    body.append(g);
    return 'ok';
  },

  table(panel, t, body) {
    if (t.rows.length === 0) return 'empty';
    const hidden = hiddenColumns(panel);
    const cols = t.columns.map((c, i) => [c, i]).filter(([c]) => !hidden.has(c.name));
    const table = el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ...cols.map(([c]) => el('th', { text: label(panel, c.name) })))),
    );
    const tbody = el('tbody');
    for (const r of t.rows) {
      tbody.append(
        el(
          'tr',
          {},
          ...cols.map(([c, i]) => {
            const v = r[i];
            const text = isTimeType(c.sqlType)
              ? String(v)
                  .replace('T', ' ')
                  .replace(/\.000Z$/, 'Z')
              : formatValue(v, fieldConfig(panel, c.name));
            // data-cell: the value as the datasource returned it, for the browser tests to compare every cell.
            return el('td', {
              class: isNum(v) ? 'num' : '',
              text,
              'data-cell': v === null || v === undefined ? '' : String(v),
            });
          }),
        ),
      );
    }
    table.append(tbody);
    body.append(table);
    return 'ok';
  },

  geomap(panel, t, body) {
    const layer = panel.options?.layers?.[0] ?? {};
    const latName = layer.location?.latitude ?? 'latitude';
    const lonName = layer.location?.longitude ?? 'longitude';
    const sizeName = layer.config?.style?.size?.field;
    const idx = (n) => t.columns.findIndex((c) => c.name === n);
    const [lat, lon, size] = [idx(latName), idx(lonName), idx(sizeName)];
    const nameCol = t.columns.findIndex((c) => !isNumType(c.sqlType));
    const points = t.rows.filter((r) => isNum(r[lat]) && isNum(r[lon]));
    if (points.length === 0) return 'empty';
    const maxSize = Math.max(1, ...points.map((r) => (size >= 0 ? r[size] : 1)));
    const scatter = {
      type: 'scatter',
      data: points.map((r) => ({
        name: String(r[nameCol] ?? ''),
        value: [r[lon], r[lat]],
        size: size >= 0 ? r[size] : undefined,
      })),
      symbolSize: (_v, p) => (size >= 0 ? 6 + 30 * Math.sqrt(p.data.size / maxSize) : 8),
      itemStyle: { color: '#73bf69', opacity: 0.8 },
    };
    // A function formatter's return value is HTML to ECharts: every value from data is escaped.
    const tooltip = {
      formatter: (p) =>
        p.seriesType === 'scatter'
          ? `${escapeHtml(p.data.name)}<br>${escapeHtml(sizeName ?? '')} ${escapeHtml(p.data.size ?? '')}`
          : escapeHtml(p.name),
    };
    // Country borders under the points (dashboard-server/basemap.ts); without them, a longitude/latitude grid.
    const option = state.basemap
      ? {
          tooltip,
          geo: {
            map: BASEMAP,
            roam: false, // a refresh redraws the panel: a zoom would not survive it
            boundingCoords: state.basemap,
            itemStyle: { areaColor: '#22252b', borderColor: '#5a6270', borderWidth: 0.6 },
            emphasis: { disabled: true },
            label: { show: false },
          },
          series: [{ ...scatter, coordinateSystem: 'geo' }],
        }
      : {
          tooltip,
          grid: { left: 48, right: 12, top: 12, bottom: 28 },
          xAxis: { type: 'value', name: 'longitude', nameLocation: 'middle', nameGap: 20, scale: true },
          yAxis: { type: 'value', name: 'latitude', scale: true },
          series: [scatter],
        };
    state.charts.set(panel.id, chart(body, option));
    return 'ok';
  },
};

/** The markdown subset the text panels use: paragraphs, list items, **bold** and `code`. */
function renderText(panel, body) {
  const inline = (s) =>
    escapeHtml(s)
      .replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
      .replace(/`([^`]+)`/g, '<code>$1</code>');
  const div = el('div', { class: 'text' });
  div.innerHTML = String(panel.options?.content ?? '')
    .split('\n')
    .map((l) => (l.startsWith('- ') ? `<div>• ${inline(l.slice(2))}</div>` : l.trim() ? `<p>${inline(l)}</p>` : ''))
    .join('');
  body.append(div);
}

// ---- layout and refresh ----
function panelsOf(d) {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

function layout(d) {
  const main = $('#main');
  main.replaceChildren(el('h1', { text: d.title ?? d.uid }));
  const grid = el('div', { class: 'grid' });
  for (const p of panelsOf(d)) {
    if (p.type === 'row') continue;
    const g = p.gridPos ?? { x: 0, y: 0, w: 12, h: 8 };
    const box = el(
      'section',
      {
        class: 'panel',
        'data-panel-id': String(p.id),
        'data-panel-type': p.type,
        'data-state': 'loading',
        style: `grid-column:${g.x + 1} / span ${g.w};grid-row:${g.y + 1} / span ${g.h}`,
      },
      el('h2', { text: p.title ?? '', title: p.description ?? '' }),
      el('div', { class: 'body' }),
    );
    grid.append(box);
  }
  main.append(grid);
}

async function refreshPanel(d, p, fromMs, toMs) {
  const box = document.querySelector(`.panel[data-panel-id="${p.id}"]`);
  if (!box) return;
  const body = box.querySelector('.body');
  const setState = (s) => box.setAttribute('data-state', s);
  if (p.type === 'text') {
    body.replaceChildren();
    renderText(p, body);
    return setState('ok');
  }
  const render = RENDERERS[p.type];
  if (!render) {
    body.replaceChildren(
      el('div', {
        class: 'nodata',
        text: `Panel type "${p.type}" is not rendered by the local dashboards server; Grafana (docker compose) shows it.`,
      }),
    );
    return setState('unsupported');
  }
  const target = (p.targets ?? [])[0];
  try {
    const res = await fetch('/api/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: d.uid, panelId: p.id, refId: target?.refId ?? 'A', from: fromMs, to: toMs }),
    });
    const data = await res.json();
    state.charts.get(p.id)?.dispose();
    state.charts.delete(p.id);
    body.replaceChildren();
    if (!res.ok) {
      body.textContent = data.error ?? `HTTP ${res.status}`;
      return setState('error');
    }
    box.setAttribute('data-rows', String(data.rows.length));
    const shown = render(p, data, body);
    if (shown === 'empty' && !body.querySelector('.stat')) body.append(el('div', { class: 'nodata', text: 'No data' }));
    setState(shown);
  } catch (e) {
    body.textContent = `request failed: ${e.message}`;
    setState('error');
  }
}

/** The banner of firing (and pending) alerts at the top of every dashboard; every text set as text, never HTML. */
async function refreshAlerts() {
  const box = $('#alerts');
  box.replaceChildren();
  let answer;
  try {
    const res = await fetch('/api/alerts');
    answer = await res.json();
    if (!res.ok) throw new Error(answer.error ?? `HTTP ${res.status}`);
  } catch (e) {
    box.append(el('div', { class: 'alert unknown', text: `alerts unknown: ${e.message}` }));
    box.hidden = false;
    return;
  }
  for (const a of answer.alerts) {
    box.append(
      el(
        'div',
        { class: `alert ${a.state} ${a.severity}`, 'data-alert': a.name, 'data-state': a.state },
        el('strong', { text: `${a.state === 'firing' ? 'FIRING' : 'pending'} ${a.name}` }),
        el('span', { text: ` ${a.summary} (since ${a.since.slice(11, 19)} UTC) ` }),
        el('span', { class: 'muted', text: `runbook: docs/operations.md#${a.name.toLowerCase()}` }),
      ),
    );
  }
  box.hidden = answer.alerts.length === 0;
}

async function refreshAll() {
  const d = state.dashboard;
  if (!d) return;
  const toMs = state.fixed ? state.fixed.to : Date.now();
  const fromMs = state.fixed ? state.fixed.from : toMs - state.rangeMs;
  state.range = { from: fromMs, to: toMs };
  // Each panel on its own: one failing query never stops the others.
  await Promise.allSettled(
    panelsOf(d)
      .filter((p) => p.type !== 'row')
      .map((p) => refreshPanel(d, p, fromMs, toMs)),
  );
  await refreshAlerts();
  $('#updated').textContent = `updated ${new Date(toMs).toLocaleTimeString()}`;
  document.body.setAttribute('data-refreshed', String(toMs));
}

function schedule() {
  clearInterval(state.timer);
  const own = Number(/^(\d+)s$/.exec(state.dashboard?.refresh ?? '5s')?.[1]) || 5;
  const everyMs = Math.max(1000, state.refreshMs ?? own * 1000);
  $('#every').textContent = PulsoTimeRange.durationText(everyMs);
  if ($('#auto').checked) state.timer = setInterval(refreshAll, everyMs);
}

/** The range and refresh in the address bar, Grafana's way, so that a copied link reproduces the view. */
function writeUrl() {
  const q = PulsoTimeRange.rangeQuery({
    relativeMs: state.rangeMs,
    fixed: state.fixed,
    refreshMs: state.refreshMs,
    refreshOff: !$('#auto').checked,
  });
  history.replaceState(null, '', `${location.pathname}?${q}`);
}

/** The range picker shows the URL's range (adding it when it is not one of the presets). */
function applyUrlRange() {
  const r = PulsoTimeRange.readRange(new URLSearchParams(location.search), Date.now());
  state.rangeMs = r.relativeMs;
  state.fixed = r.fixed;
  state.refreshMs = r.refreshMs;
  if (r.refreshOff) $('#auto').checked = false;
  const select = $('#range');
  if (!r.fixed && ![...select.options].some((o) => Number(o.value) === r.relativeMs)) {
    select.append(
      el('option', { value: String(r.relativeMs), text: `Last ${PulsoTimeRange.durationText(r.relativeMs)}` }),
    );
  }
  if (!r.fixed) select.value = String(r.relativeMs);
  $('#note').textContent = r.notes.join('; ');
  $('#note').hidden = r.notes.length === 0;
}

const BASEMAP = 'pulso-latin-america';

/** Registers the country borders for the geomaps once; a page without them still draws its points. */
async function loadBasemap() {
  try {
    const res = await fetch('/static/basemap.json');
    if (!res.ok) return;
    const geoJson = await res.json();
    echarts.registerMap(BASEMAP, geoJson);
    // West-north and east-south corners of the box the server cut the borders to (its GeoJSON bbox).
    const [west, south, east, north] = geoJson.bbox;
    state.basemap = [
      [west, north],
      [east, south],
    ];
  } catch {
    /* no borders: the points are drawn on a plain grid */
  }
}

async function main() {
  const basemap = loadBasemap();
  const list = await (await fetch('/api/dashboards')).json();
  const uid = /^\/d\/([\w-]+)$/.exec(location.pathname)?.[1];
  $('#dashboards').replaceChildren(
    ...list.map((x) => el('a', { href: `/d/${x.uid}`, class: x.uid === uid ? 'active' : '', text: x.title })),
  );
  applyUrlRange();
  if (!uid) {
    $('#main').replaceChildren(
      el(
        'div',
        { class: 'list' },
        ...list.map((x) => el('a', { href: `/d/${x.uid}`, text: `${x.title} — grafana/dashboards/${x.file}` })),
      ),
    );
    return;
  }
  const res = await fetch(`/api/dashboards/${uid}`);
  if (!res.ok) {
    $('#main').replaceChildren(el('div', { class: 'list', text: `No dashboard ${uid}.` }));
    return;
  }
  state.dashboard = await res.json();
  document.title = `${state.dashboard.title} · Pulso`;
  layout(state.dashboard);
  $('#range').onchange = () => {
    state.rangeMs = Number($('#range').value);
    state.fixed = null;
    $('#note').hidden = true;
    writeUrl();
    refreshAll();
  };
  $('#auto').onchange = () => {
    writeUrl();
    schedule();
  };
  window.addEventListener('resize', () => state.charts.forEach((c) => c.resize()));
  await basemap;
  await refreshAll();
  schedule();
}

main();
