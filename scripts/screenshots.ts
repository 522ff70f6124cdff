// npm run screenshots [-- --range 6h | --from <iso> --to <iso>] [--only risk-inventory] [--out docs/img]: renders the
// provisioned dashboards in Chromium from the running local dashboards server and saves full-page PNGs (the
// README's pictures). A fixed range shows a past run (the risk test's seeded window, say) as it was.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { parseFlags, runCommand } from '../lib/cliArgs.ts';
import { parseDuration } from '../generator/cli.ts';
import { launchChromium } from '../dashboard-server/chromium.ts';
import { readDashboardFiles } from '../grafana/src/dashboardFiles.ts';
import { PulsoError } from '../lib/errors.ts';

const USAGE =
  'usage: npm run screenshots [-- --range 6h | --from 2026-11-30T17:00:00Z --to 2026-12-01T01:00:00Z] [--only risk-inventory] [--out docs/img]';

runCommand('screenshots', USAGE, async () => {
  const { values } = parseFlags(process.argv.slice(2), {
    range: { type: 'string', default: '6h' },
    from: { type: 'string' },
    to: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string', default: 'docs/img' },
  });
  if ((values.from === undefined) !== (values.to === undefined)) throw new PulsoError('--from and --to go together');
  const range =
    values.from !== undefined
      ? `from=${encodeURIComponent(values.from)}&to=${encodeURIComponent(values.to!)}`
      : `range=${parseDuration(values.range!)}`;
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
      if (values.only !== undefined && file !== `${values.only}.json`) continue;
      await page.goto(`http://127.0.0.1:${cfg.dashboards.port}/d/${uid}?${range}`);
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
