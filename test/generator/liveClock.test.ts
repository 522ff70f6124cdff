// The live clock: the backfill runs at speed, then the simulated "now" is the wall clock, never past it.
import { describe, expect, it } from 'vitest';
import { liveClock } from '../../generator/writeLoop.ts';

describe('liveClock', () => {
  const wallStart = Date.parse('2026-12-02T12:00:00Z');
  const sixHours = 6 * 3600_000;

  it('runs the backfill at the speedup, then follows the wall clock exactly', () => {
    const clock = liveClock(true, wallStart - sixHours, 180);
    expect(clock(wallStart, wallStart)).toBe(wallStart - sixHours);
    expect(clock(wallStart + 60_000, wallStart)).toBe(wallStart - sixHours + 180 * 60_000); // 3 h in a minute
    expect(clock(wallStart + 120_000, wallStart)).toBe(wallStart); // 6 h written, the wall clock moved on 2 min
    expect(clock(wallStart + 121_000, wallStart)).toBe(wallStart + 121_000); // caught up: 6 h / 179 ≈ 120.7 s
    expect(clock(wallStart + 3600_000, wallStart)).toBe(wallStart + 3600_000);
  });

  it('is never ahead of the wall clock and never goes backwards', () => {
    const clock = liveClock(true, wallStart - sixHours, 180);
    let last = -Infinity;
    for (let w = wallStart; w < wallStart + 600_000; w += 997) {
      const sim = clock(w, wallStart);
      expect(sim).toBeLessThanOrEqual(w);
      expect(sim).toBeGreaterThanOrEqual(last);
      last = sim;
    }
  });

  it('leaves the simulated clock of offline runs alone', () => {
    expect(liveClock(false, 0, 60)(wallStart + 1000, wallStart)).toBe(60_000);
  });
});
