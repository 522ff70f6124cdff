// When the supervisor restarts a dead service and when it gives up (pure decision, no processes).
import { describe, it, expect } from 'vitest';
import {
  decideRestart,
  describeExit,
  DEFAULT_RESTART_POLICY,
  judgeTransformer,
  type RestartPolicy,
} from '../../stack/restartPolicy.ts';

const policy: RestartPolicy = { firstDelayMs: 500, maxDelayMs: 8000, budget: 5, windowMs: 600_000 };
const now = 10_000_000;

describe('decideRestart', () => {
  it('restarts a first death promptly', () => {
    expect(decideRestart([], now, policy)).toEqual({ action: 'restart', delayMs: 500, attempt: 1 });
  });
  it('doubles the delay with each recent restart, up to the cap', () => {
    expect(decideRestart([now - 1000], now, policy)).toEqual({ action: 'restart', delayMs: 1000, attempt: 2 });
    expect(decideRestart([now - 3000, now - 2000, now - 1000], now, policy)).toEqual({
      action: 'restart',
      delayMs: 4000,
      attempt: 4,
    });
    expect(decideRestart([now - 4000, now - 3000, now - 2000, now - 1000], now, policy)).toEqual({
      action: 'restart',
      delayMs: 8000,
      attempt: 5,
    });
  });
  it('gives up once the budget is spent within the window, and says why', () => {
    const five = [1, 2, 3, 4, 5].map((i) => now - i * 1000);
    const d = decideRestart(five, now, policy);
    expect(d).toEqual({ action: 'give-up', why: '5 restarts within 10 min (budget 5)' });
  });
  it('forgives restarts older than the window: a service that crashes now and then is always restarted', () => {
    const old = [1, 2, 3, 4, 5, 6].map((i) => now - policy.windowMs - i * 1000);
    expect(decideRestart(old, now, policy)).toEqual({ action: 'restart', delayMs: 500, attempt: 1 });
  });
  it('has a default that restarts within a second and stops after a handful of tries', () => {
    expect(DEFAULT_RESTART_POLICY.firstDelayMs).toBeLessThanOrEqual(1000);
    expect(DEFAULT_RESTART_POLICY.budget).toBeGreaterThanOrEqual(3);
  });
});

describe('describeExit', () => {
  it('names the signal or the status', () => {
    expect(describeExit(null, 'SIGKILL')).toBe('killed by SIGKILL');
    expect(describeExit(1, null)).toBe('exited with status 1');
    expect(describeExit(0, null)).toMatch(/unexpectedly/);
  });
});

describe('judgeTransformer: busy or stuck', () => {
  it('a consumer crash loop is stuck, with the crash count and the last error', () => {
    expect(judgeTransformer({ status: 'crash-looping', consumer_crashes: 3, last_error: 'boom' }, undefined)).toEqual({
      ok: false,
      why: 'its consumer keeps crashing (3 crashes, last: boom)',
    });
  });
  it('a state re-read that progresses is busy, one that stopped progressing is stuck', () => {
    const at = (restored: number) => ({ status: 'restoring', restored, to_restore: 1_000_000 });
    expect(judgeTransformer(at(10), undefined)).toEqual({ ok: true });
    expect(judgeTransformer(at(5000), at(10))).toEqual({ ok: true });
    expect(judgeTransformer(at(5000), at(5000))).toEqual({
      ok: false,
      why: 'its state re-read makes no progress (5000 of 1000000 records)',
    });
  });
  it('running, or not answering, is left to the health check', () => {
    expect(judgeTransformer({ status: 'running' }, { status: 'restoring', restored: 1 })).toEqual({ ok: true });
    expect(judgeTransformer(undefined, undefined)).toEqual({ ok: true });
  });
});
