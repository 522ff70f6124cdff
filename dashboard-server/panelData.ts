// One panel query of a provisioned dashboard, run against its own datasource: Druid SQL with the range as bound
// parameters, or PromQL with the range bound by prometheusQueries.ts. The server answers the page with it, and the
// browser tests ask the same function for the truth they compare the page with.
import type { PulsoConfig } from '../lib/config.ts';
import { queryDruidTable, type DruidTable } from '../lib/druidClient.ts';
import { queryPrometheus, queryPrometheusRange } from '../lib/prometheusClient.ts';
import type { SavedDashboard } from '../grafana/src/dashboardFiles.ts';
import { bindPanelQuery, checkRange } from './panelQueries.ts';
import { bindPrometheusQuery, promTable } from './prometheusQueries.ts';

export async function runPanelQuery(
  cfg: PulsoConfig,
  dashboard: SavedDashboard,
  panelId: number,
  refId: string,
  fromMs: number,
  toMs: number,
): Promise<DruidTable> {
  checkRange(fromMs, toMs);
  const prom = bindPrometheusQuery(dashboard, panelId, refId, fromMs, toMs);
  if (prom) {
    const url = cfg.monitoring.prometheusUrl;
    const answer = prom.instant
      ? await queryPrometheus(url, prom.expr, prom.endS)
      : await queryPrometheusRange(url, prom.expr, prom);
    return promTable(answer, prom);
  }
  const bound = bindPanelQuery(dashboard, panelId, refId, fromMs, toMs);
  return queryDruidTable(cfg, bound.query, bound.parameters, bound.context);
}
