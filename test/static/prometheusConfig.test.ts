// The monitoring configuration is data that Prometheus itself must accept: promtool (Debian's prometheus package)
// checks the alert rules and the scrape configuration, and every alert has its runbook entry in docs/operations.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../lib/config.ts';

const PROMTOOL = '/usr/bin/promtool';
const dir = resolve(PROJECT_ROOT, 'prometheus');

function promtool(...args: string[]): string {
  if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: apt-get install prometheus`);
  return execFileSync(PROMTOOL, args, { cwd: dir, encoding: 'utf8' });
}

describe('prometheus/', () => {
  it('alerts.yml passes promtool check rules', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('prometheus.yml passes promtool check config (with its rule files)', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toMatch(/SUCCESS/);
  });

  it('every alert has a runbook entry in docs/operations.md, and its annotation points there', () => {
    const rules = parse(readFileSync(resolve(dir, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; annotations: { runbook: string } }[] }[];
    };
    const ops = readFileSync(resolve(PROJECT_ROOT, 'docs/operations.md'), 'utf8');
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const r of alerts) {
      expect(r.annotations.runbook, r.alert).toBe(`docs/operations.md#${r.alert.toLowerCase()}`);
      expect(ops, `a "### ${r.alert}" section in docs/operations.md`).toContain(`### ${r.alert}\n`);
    }
  });
});
