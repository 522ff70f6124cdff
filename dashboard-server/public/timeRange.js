// Grafana's URL conventions for a dashboard's time range, for the local dashboards page: `from` / `to` as
// `now`, `now-6h` (s, m, h, d, w), epoch milliseconds or an ISO date; `refresh` as `5s`, `1m`… or `off`; and
// this page's own `range` (`6h`, or milliseconds). Pure, so that the unit tests run the same code the page
// does. An unreadable parameter never fails the page: the default range is used and a note says why.
'use strict';
(() => {
  const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  const MAX_RANGE_MS = 31 * 86_400_000; // what the server accepts
  const DEFAULT_RANGE_MS = 3_600_000;

  /** `now` → {offsetMs: 0}; `now-6h` → {offsetMs: 21600000}; digits → {atMs}; an ISO date → {atMs}; else null. */
  function parseTime(text) {
    if (text === 'now') return { offsetMs: 0 };
    const rel = /^now-(\d{1,6})([smhdw])$/.exec(text);
    if (rel) return { offsetMs: Number(rel[1]) * UNIT_MS[rel[2]] };
    if (/^\d{10,16}$/.test(text)) return { atMs: Number(text) };
    if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
      const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
      return Number.isFinite(ms) ? { atMs: ms } : null;
    }
    return null;
  }

  /** `6h` or milliseconds → ms; else null. */
  function parseDuration(text) {
    const m = /^(\d{1,6})([smhdw])$/.exec(text);
    if (m) return Number(m[1]) * UNIT_MS[m[2]];
    return /^\d{4,12}$/.test(text) ? Number(text) : null;
  }

  /** The shortest of `15m`, `6h`, `2d` that says exactly `ms`. */
  function durationText(ms) {
    for (const u of ['w', 'd', 'h', 'm', 's']) if (ms % UNIT_MS[u] === 0) return `${ms / UNIT_MS[u]}${u}`;
    return `${Math.round(ms / 1000)}s`;
  }

  /**
   * The range a page's URL asks for: {relativeMs} (follows the clock) or {fixed: {from, to}}, the refresh
   * ({refreshMs} or {refreshOff: true}, undefined for the dashboard's own), and notes for what was unreadable.
   */
  function readRange(params, nowMs) {
    const notes = [];
    const out = { relativeMs: DEFAULT_RANGE_MS, fixed: null, refreshMs: undefined, refreshOff: false, notes };
    const from = params.get('from');
    const to = params.get('to');
    const range = params.get('range');
    if (from !== null || to !== null) {
      const f = from === null ? null : parseTime(from);
      const t = to === null ? { offsetMs: 0 } : parseTime(to);
      if (!f || !t) {
        notes.push(
          `could not read from=${JSON.stringify(from)} to=${JSON.stringify(to)} (use now-6h, now, epoch ms or an ISO date): showing the last ${durationText(DEFAULT_RANGE_MS)}`,
        );
      } else if (t.offsetMs === 0 && f.offsetMs !== undefined) {
        out.relativeMs = f.offsetMs;
      } else {
        const fromMs = f.atMs ?? nowMs - f.offsetMs;
        const toMs = t.atMs ?? nowMs - t.offsetMs;
        out.fixed = { from: fromMs, to: toMs };
      }
    } else if (range !== null) {
      const ms = parseDuration(range);
      if (ms === null)
        notes.push(
          `could not read range=${JSON.stringify(range)} (use 6h, 15m or milliseconds): showing the last ${durationText(DEFAULT_RANGE_MS)}`,
        );
      else out.relativeMs = ms;
    }
    const span = out.fixed ? out.fixed.to - out.fixed.from : out.relativeMs;
    if (!(span > 0) || span > MAX_RANGE_MS) {
      notes.push(
        `the range ${out.fixed ? `${new Date(out.fixed.from).toISOString()} – ${new Date(out.fixed.to).toISOString()}` : durationText(out.relativeMs)} is empty, reversed or longer than 31 days: showing the last ${durationText(DEFAULT_RANGE_MS)}`,
      );
      out.relativeMs = DEFAULT_RANGE_MS;
      out.fixed = null;
    }
    const refresh = params.get('refresh');
    if (refresh === 'off' || refresh === '') out.refreshOff = true;
    else if (refresh !== null) {
      const ms = parseDuration(refresh);
      if (ms === null || ms < 1000)
        notes.push(
          `could not read refresh=${JSON.stringify(refresh)} (use 5s, 1m or off): the dashboard's own refresh applies`,
        );
      else out.refreshMs = ms;
    }
    return out;
  }

  /** The URL query that reproduces a range and refresh, in Grafana's form. */
  function rangeQuery(r) {
    const q = r.fixed ? `from=${r.fixed.from}&to=${r.fixed.to}` : `from=now-${durationText(r.relativeMs)}&to=now`;
    return r.refreshOff ? `${q}&refresh=off` : r.refreshMs ? `${q}&refresh=${durationText(r.refreshMs)}` : q;
  }

  globalThis.PulsoTimeRange = { readRange, rangeQuery, durationText, parseTime };
})();
