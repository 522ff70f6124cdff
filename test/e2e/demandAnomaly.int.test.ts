// Demand anomalies, end to end: orders flow live for a few minutes, then the generator stops (demand falls off a
// cliff). The pipeline exporter judges the empty minutes against the curve's expectation, the panel "Orders per
// minute against expected" marks them as points outside the band, and the DemandAnomaly alert fires.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { prometheusAlerts, queryPrometheus } from '../../lib/prometheusClient.ts';
import { pollUntil } from '../../lib/poll.ts';
import { runGenerator } from '../../generator/index.ts';
import { runPanelQuery } from '../../dashboard-server/panelData.ts';
import { flatPanels, readDashboardFiles } from '../../grafana/src/dashboardFiles.ts';

const cfg = loadConfig();
const log = (m: string) => process.stderr.write(`[demand ${new Date().toISOString()}] ${m}\n`);
const prom = cfg.monitoring.prometheusUrl;

async function gauge(expr: string): Promise<number | undefined> {
  const v = (await queryPrometheus(prom, expr)).result[0]?.value?.[1];
  return v === undefined ? undefined : Number(v);
}

describe('demand anomalies', () => {
  it('a pause in demand is marked on the panel and raised as an alert', async () => {
    // 2 orders a second, flat, for three and a half minutes: enough minutes for the level behind the expectation.
    const started = Date.now();
    const run = await runGenerator({
      rate: 2,
      clock: 'live',
      curve: 'flat',
      durationMs: 210_000,
      drain: false,
      seed: `demand-${started}`,
      progress: 'off',
    });
    const stoppedAt = Date.now();
    log(`generator: ${run.ordersCreated} orders in ${run.wallMs} ms, then nothing`);
    // Before the stop the minutes were in their band.
    const expected = await gauge('pulso_demand_expected_orders');
    log(`expected orders per minute when demand stopped: ${expected}`);
    expect(expected).toBeGreaterThan(60);

    // The first minute with no order at all (the stop's own minute is only partly empty): judged an anomaly.
    const firstEmpty = (Math.floor(stoppedAt / 60_000) + 1) * 60;
    await pollUntil(
      async () =>
        (await gauge('pulso_demand_minute_seconds')) === firstEmpty && (await gauge('max(pulso_demand_anomaly)')) === 1,
      {
        what: 'the pipeline exporter to judge the first empty minute an anomaly',
        timeoutMs: 150_000,
        intervalMs: 2000,
      },
    );
    log(`anomaly judged ${Math.round((Date.now() - stoppedAt) / 1000)} s after the stop`);

    // The panel the dashboards draw: its query, through the same function the page uses, until it shows the
    // minutes judged after the stop (the stop's own minute, partly empty, may be marked too: it fell short).
    const dashboard = readDashboardFiles().find((f) => f.file === 'risk-inventory.json')!.dashboard;
    const panel = flatPanels(dashboard.panels).find((p) => p.title === 'Orders per minute against expected')!;
    const judgedAfterStop = firstEmpty * 1000 + 75_000;
    const { table, afterStop } = await pollUntil(
      async () => {
        const t = await runPanelQuery(cfg, dashboard, panel.id!, 'A', started, Date.now());
        const col = (name: string) => t.columns.findIndex((c) => c.name === name);
        const marks = t.rows.filter(
          (r) => r[col('series')] === 'outside the band' && Date.parse(String(r[col('time')])) >= judgedAfterStop,
        );
        return marks.length ? { table: t, afterStop: marks.map((r) => Number(r[col('value')])) } : undefined;
      },
      { what: 'the panel to mark the empty minutes', timeoutMs: 60_000, intervalMs: 2000 },
    );
    const [series, value] = ['series', 'value'].map((n) => table.columns.findIndex((c) => c.name === n));
    const orders = table.rows.filter((r) => r[series!] === 'orders');
    log(
      `panel: ${orders.length} order samples; marked after the stop with values ${[...new Set(afterStop)].join(', ')}`,
    );
    expect(orders.some((r) => Number(r[value!]) > 60)).toBe(true);
    expect(afterStop.every((v) => v < (expected ?? 0) / 2)).toBe(true);

    await pollUntil(
      async () =>
        (await prometheusAlerts(prom)).some((a) => a.labels.alertname === 'DemandAnomaly' && a.state === 'firing'),
      { what: 'DemandAnomaly to fire', timeoutMs: 150_000, intervalMs: 2000 },
    );
    log(`DemandAnomaly firing ${Math.round((Date.now() - stoppedAt) / 1000)} s after the stop`);
  }, 600_000);
});
