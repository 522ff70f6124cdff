// npm run screenshots [-- --range 6h --out docs/img]: renders both provisioned dashboards in Chromium from the
// running local dashboards server and saves full-page PNGs (the README's pictures).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { parseFlags, runCommand } from '../lib/cliArgs.ts';
import { parseDuration } from '../generator/cli.ts';
import { launchChromium } from '../dashboard-server/chromium.ts';
import { readDashboardFiles } from '../grafana/src/dashboardFiles.ts';

const USAGE = 'usage: npm run screenshots [-- --range 6h --out docs/img]';

runCommand('screenshots', USAGE, async () => {
  const { values } = parseFlags(process.argv.slice(2), {
    range: { type: 'string', default: '6h' },
    out: { type: 'string', default: 'docs/img' },
  });
  const rangeMs = parseDuration(values.range!);
  const out = resolve(PROJECT_ROOT, values.out!);
  mkdirSync(out, { recursive: true });
  const cfg = loadConfig();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    for (const {
      file,
      dashboard: { uid },
    } of readDashboardFiles()) {
      await page.goto(`http://127.0.0.1:${cfg.dashboards.port}/d/${uid}?range=${rangeMs}`);
      await page.waitForFunction(() => document.body.hasAttribute('data-refreshed'), null, { timeout: 60_000 });
      const states = await page.$$eval('.panel', (ps) => ps.map((p) => p.getAttribute('data-state')));
      const path = resolve(out, file.replace('.json', '.png'));
      await page.screenshot({ path, fullPage: true });
      process.stdout.write(
        `${path}: ${states.length} panels (${states.filter((s) => s === 'ok').length} with data, ${states.filter((s) => s === 'error').length} errors)\n`,
      );
    }
  } finally {
    await browser.close();
  }
});
