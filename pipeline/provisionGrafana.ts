// An existing Grafana (GRAFANA_URL) provisioned through its HTTP API: the Druid datasource and the dashboards
// of grafana/dashboards/. Compose provisions its own Grafana from the same files instead.
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT, type PulsoConfig } from '../lib/config.ts';
import { PulsoError } from '../lib/errors.ts';
import { httpRequest, serverMessage } from '../lib/http.ts';

/** Creates or updates the Druid datasource and the dashboards; says what it did. */
export async function provisionGrafana(cfg: PulsoConfig): Promise<string> {
  const base = cfg.grafana.url!;
  const auth = { username: cfg.grafana.user, password: cfg.grafana.password };
  const call = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    httpRequest({ method, url: `${base}${path}`, body, auth, timeoutMs: 10_000 });
  const health = await httpRequest({ method: 'GET', url: `${base}/api/health`, timeoutMs: 3000 });
  if (health.status !== 200) throw new PulsoError(`${base} answered ${health.status}`, { retriable: true });
  const ds = await call('GET', '/api/datasources/uid/druid');
  if (ds.status === 404) {
    const r = await call('POST', '/api/datasources', {
      name: 'Druid',
      uid: 'druid',
      type: 'grafadruid-druid-datasource',
      access: 'proxy',
      jsonData: { 'connection.url': cfg.druid.url },
    });
    if (r.status >= 300) throw new PulsoError(`datasource: ${serverMessage(r)}`);
  }
  const dir = resolve(PROJECT_ROOT, 'grafana/dashboards');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(resolve(dir, f), 'utf8'));
    const r = await call('POST', '/api/dashboards/db', { dashboard: { ...dashboard, id: null }, overwrite: true });
    if (r.status >= 300) throw new PulsoError(`${f}: ${serverMessage(r)}`);
  }
  return 'datasource and dashboards provisioned';
}
