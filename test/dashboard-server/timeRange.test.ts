// The dashboards page reads its range from the URL the way Grafana writes it (a link copied from Grafana opens
// the same view), and never turns an unreadable parameter into an error on every panel. The page's own code.
import { beforeAll, describe, expect, it } from 'vitest';

interface Range {
  relativeMs: number;
  fixed: { from: number; to: number } | null;
  refreshMs?: number;
  refreshOff: boolean;
  notes: string[];
}
let tr: { readRange(p: URLSearchParams, now: number): Range; rangeQuery(r: Partial<Range>): string };
const NOW = Date.parse('2026-12-05T12:00:00Z');
const read = (q: string) => tr.readRange(new URLSearchParams(q), NOW);

beforeAll(async () => {
  await import('../../dashboard-server/public/timeRange.js');
  tr = (globalThis as unknown as { PulsoTimeRange: typeof tr }).PulsoTimeRange;
});

describe('the range in the URL', () => {
  it("Grafana's relative form follows the clock", () => {
    expect(read('from=now-6h&to=now')).toMatchObject({ relativeMs: 21_600_000, fixed: null, notes: [] });
    expect(read('from=now-15m&to=now').relativeMs).toBe(900_000);
    expect(read('from=now-2d').relativeMs).toBe(172_800_000);
  });

  it('epoch milliseconds and ISO dates pin it; a relative end pins it too', () => {
    expect(read('from=1764900000000&to=1764903600000').fixed).toEqual({ from: 1764900000000, to: 1764903600000 });
    expect(read('from=2026-12-05T06:00:00Z&to=2026-12-05T12:00:00Z').fixed).toEqual({
      from: NOW - 21_600_000,
      to: NOW,
    });
    expect(read('from=2026-12-04&to=2026-12-05').fixed).toEqual({
      from: Date.parse('2026-12-04T00:00:00Z'),
      to: Date.parse('2026-12-05T00:00:00Z'),
    });
    expect(read('from=now-7h&to=now-1h').fixed).toEqual({ from: NOW - 25_200_000, to: NOW - 3_600_000 });
  });

  it("this page's own range=6h (and milliseconds)", () => {
    expect(read('range=6h').relativeMs).toBe(21_600_000);
    expect(read('range=86400000').relativeMs).toBe(86_400_000);
  });

  it('anything unreadable, reversed or too long falls back to the last hour with a note saying why', () => {
    for (const q of [
      'from=yesterday&to=now',
      'range=six-hours',
      'from=1764903600000&to=1764900000000',
      'from=now-90d&to=now',
      'from=now-6h&to=tomorrow',
    ]) {
      const r = read(q);
      expect(r, q).toMatchObject({ relativeMs: 3_600_000, fixed: null });
      expect(r.notes.join(' '), q).toMatch(/showing the last 1h/);
    }
  });

  it('refresh: 10s, 1m or off; anything else keeps the dashboard’s own with a note', () => {
    expect(read('refresh=10s').refreshMs).toBe(10_000);
    expect(read('refresh=1m').refreshMs).toBe(60_000);
    expect(read('refresh=off').refreshOff).toBe(true);
    const bad = read('refresh=fast');
    expect(bad.refreshMs).toBeUndefined();
    expect(bad.notes[0]).toMatch(/could not read refresh="fast"/);
  });

  it('writes back what reproduces the view', () => {
    expect(tr.rangeQuery({ relativeMs: 21_600_000, fixed: null })).toBe('from=now-6h&to=now');
    expect(tr.rangeQuery({ relativeMs: 900_000, fixed: null, refreshOff: true })).toBe(
      'from=now-15m&to=now&refresh=off',
    );
    expect(tr.rangeQuery({ fixed: { from: 1, to: 2 } })).toBe('from=1&to=2');
    const back = read(tr.rangeQuery({ relativeMs: 86_400_000, fixed: null, refreshMs: 30_000 }));
    expect(back).toMatchObject({ relativeMs: 86_400_000, fixed: null, refreshMs: 30_000, notes: [] });
  });
});
