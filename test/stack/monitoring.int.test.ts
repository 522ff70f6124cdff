// Monitoring against the real stack: Prometheus scrapes every stage (transformer, Kafka and Connect through the
// JMX exporter, PostgreSQL through postgres_exporter, Druid and freshness through the pipeline exporter), and an
// alert works end to end: pausing the connector through Connect's REST API fires ConnectorNotRunning within 60 s,
// shown by `npm run status` and at the top of the dashboard page in Chromium; resuming clears both within 60 s.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, inheritedEnv, loadConfig } from '../../lib/config.ts';
import { setConnectorPaused } from '../../lib/connectClient.ts';
import { stopService, up } from '../../stack/manager.ts';
import { CONNECTOR_NAME } from '../../lib/names.ts';
import { pollUntil } from '../../lib/poll.ts';
import { prometheusTargets, type PromTarget } from '../../lib/prometheusClient.ts';
import { launchChromium } from '../../dashboard-server/chromium.ts';
import { runPanelQuery } from '../../dashboard-server/panelData.ts';
import { ALL_DASHBOARDS } from '../../grafana/src/build.ts';
import { flatPanels, promQueryTargets, readDashboardFiles } from '../../grafana/src/dashboardFiles.ts';

const cfg = loadConfig();
const log = (m: string) => process.stderr.write(`[monitoring.int ${new Date().toISOString()}] ${m}\n`);
const run = promisify(execFile);
let browser: Browser;

/** What `npm run status` prints about alerts. */
async function statusAlertLines(): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/stack.ts', 'status'], {
    cwd: PROJECT_ROOT,
    env: inheritedEnv({}),
    timeout: 60_000,
  });
  return stdout.split('\n').filter((l) => /^(ALERT|alerts )/.test(l));
}

/** The alert banner of a dashboard page once it has refreshed: [name, state] per alert shown. */
async function pageAlerts(uid: string): Promise<string[][]> {
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${cfg.dashboards.port}/d/${uid}?refresh=off`);
    await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
    return await page.$$eval('#alerts [data-alert]', (as) =>
      as.map((a) => [a.getAttribute('data-alert') ?? '', a.getAttribute('data-state') ?? '']),
    );
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await setConnectorPaused(cfg.connect.url, CONNECTOR_NAME, false).catch(() => undefined);
  await browser?.close();
});

describe('Prometheus monitoring', () => {
  it("scrapes every stage: each of the stack's targets up", async () => {
    // Transformer instances that other tests started and SIGKILLed leave their target behind, rightly DOWN: the
    // stack's own instance is the one that must be up.
    const own = `127.0.0.1:${cfg.transformer.metricsPort}`;
    const required = (t: PromTarget) => t.labels.job !== 'transformer' || t.labels.instance === own;
    const targets = await pollUntil(
      async () => {
        const t = await prometheusTargets(cfg.monitoring.prometheusUrl).catch(() => []);
        const jobs = new Set(t.filter(required).map((x) => x.labels.job));
        const all = ['prometheus', 'transformer', 'kafka', 'connect', 'postgres', 'pipeline'].every((j) => jobs.has(j));
        return all && t.filter(required).every((x) => x.health === 'up') ? t : undefined;
      },
      { what: 'every Prometheus target of the stack up', timeoutMs: 90_000, intervalMs: 1000 },
    ).catch(async (e: Error) => {
      const t = await prometheusTargets(cfg.monitoring.prometheusUrl).catch(() => []);
      throw new Error(
        `${e.message}: ${JSON.stringify(t.map((x) => [x.labels.job, x.labels.instance, x.health, x.lastError]))}`,
      );
    });
    log(`targets: ${targets.map((t) => `${t.labels.job} ${t.scrapeUrl} ${t.health}`).join('; ')}`);
  });

  it('runs every PromQL query of the dashboards against the real Prometheus: each returns the series and columns its panel reads', async () => {
    const readsByFile = new Map(ALL_DASHBOARDS.map((d) => [d.fileName, d.readsByPanelId]));
    const seen: string[] = [];
    const toMs = Date.now();
    for (const { file, dashboard } of readDashboardFiles())
      for (const panel of flatPanels(dashboard.panels))
        for (const target of promQueryTargets(panel)) {
          const what = `${file} / ${panel.title}`;
          const table = await pollUntil(
            async () => {
              const t = await runPanelQuery(cfg, dashboard, panel.id!, target.refId ?? 'A', toMs - 900_000, toMs);
              return t.rows.length > 0 ? t : undefined;
            },
            { what: `${what}: series from Prometheus`, timeoutMs: 120_000, intervalMs: 2000 },
          );
          expect(
            table.columns.map((c) => c.name),
            what,
          ).toEqual(readsByFile.get(file)!.get(panel.id!));
          seen.push(`${panel.title}: ${new Set(table.rows.map((r) => r[table.columns.length - 2])).size} series`);
        }
    expect(seen.length).toBeGreaterThanOrEqual(10);
    log(`PromQL panels: ${seen.join('; ')}`);
  });

  it('a scrape target that is down shows DOWN on the dashboard, not an empty panel; back up, it shows up', async () => {
    const targetValue = async () => {
      const page = await browser.newPage();
      try {
        await page.goto(
          `http://127.0.0.1:${cfg.dashboards.port}/d/pulso-pipeline-health?from=now-15m&to=now&refresh=off`,
        );
        await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 90_000 });
        return await page.$$eval('.panel[data-panel-type="stat"] [data-row^="postgres "]', (vs) =>
          vs.map((v) => `${v.getAttribute('data-value')} ${v.textContent}`),
        );
      } finally {
        await page.close();
      }
    };
    await stopService(cfg, 'postgres-exporter');
    try {
      const shown = await pollUntil(async () => ((await targetValue()).includes('0 DOWN') ? true : undefined), {
        what: 'the postgres target shown DOWN',
        timeoutMs: 60_000,
        intervalMs: 3000,
      });
      expect(shown).toBe(true);
    } finally {
      await up(cfg, () => undefined);
    }
    await pollUntil(async () => ((await targetValue()).includes('1 up') ? true : undefined), {
      what: 'the postgres target shown up again',
      timeoutMs: 60_000,
      intervalMs: 3000,
    });
    log('postgres-exporter stopped: its target showed DOWN; started again: up');
  }, 240_000);

  it('a paused connector fires ConnectorNotRunning within 60 s, in npm run status and on the dashboard page; resuming clears it within 60 s', async () => {
    expect((await statusAlertLines()).join('\n')).not.toMatch(/ConnectorNotRunning/);
    const pausedAt = Date.now();
    await setConnectorPaused(cfg.connect.url, CONNECTOR_NAME, true);
    try {
      const lines = await pollUntil(
        async () => {
          const l = await statusAlertLines();
          return l.some((x) => /^ALERT FIRING\s+ConnectorNotRunning .*paused/.test(x)) ? l : undefined;
        },
        { what: 'ConnectorNotRunning firing in npm run status', timeoutMs: 60_000, intervalMs: 2000 },
      );
      log(`fired after ${Date.now() - pausedAt} ms: ${lines.join(' | ')}`);
      const shown = await pageAlerts('pulso-pipeline-health');
      expect(shown).toContainEqual(['ConnectorNotRunning', 'firing']);
      expect(await pageAlerts('pulso-sales')).toContainEqual(['ConnectorNotRunning', 'firing']);
    } finally {
      await setConnectorPaused(cfg.connect.url, CONNECTOR_NAME, false);
    }
    const resumedAt = Date.now();
    await pollUntil(
      async () => ((await statusAlertLines()).some((x) => /ConnectorNotRunning/.test(x)) ? undefined : true),
      { what: 'ConnectorNotRunning to clear in npm run status', timeoutMs: 60_000, intervalMs: 2000 },
    );
    log(`cleared after ${Date.now() - resumedAt} ms`);
    expect((await pageAlerts('pulso-pipeline-health')).map(([n]) => n)).not.toContain('ConnectorNotRunning');
  }, 240_000);
});
