// Renders the TypeScript dashboards to the JSON files Grafana provisions (grafana/dashboards/*.json).
// Run after editing a dashboard:  npx tsx grafana/src/build.ts
// test/static/dashboards.test.ts fails when the committed JSON differs from this output.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuiltDashboard } from './panelKit.ts';
import { pipelineHealthDashboard } from './pipelineHealth.ts';
import { riskInventoryDashboard } from './riskInventory.ts';
import { salesDashboard } from './sales.ts';

export const DASHBOARDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dashboards');

export const ALL_DASHBOARDS: readonly BuiltDashboard[] = [
  salesDashboard,
  riskInventoryDashboard,
  pipelineHealthDashboard,
];

/** The exact text of a dashboard file: 2-space JSON and a final newline. */
export function renderDashboardJson(built: BuiltDashboard): string {
  return `${JSON.stringify(built.dashboard, null, 2)}\n`;
}

function main(): void {
  for (const built of ALL_DASHBOARDS) {
    const path = resolve(DASHBOARDS_DIR, built.fileName);
    writeFileSync(path, renderDashboardJson(built));
    console.log(`wrote ${path} (${built.dashboard.panels?.length ?? 0} panels)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
