// The transformer's HTTP endpoints: Prometheus text, the JSON snapshot, and /health for the supervisor.
import { createServer, type Server } from 'node:http';
import type { TransformerMetrics } from './metrics.ts';
import { removeScrapeTarget, writeScrapeTarget } from '../lib/prometheusTargets.ts';

export const METRICS_PATHS = { prometheus: '/metrics', json: '/metrics.json', health: '/health' } as const;

/**
 * GET /metrics → Prometheus text; /metrics.json → the snapshot; /health → {status, consumer_crashes,
 * last_error}, HTTP 200 only while running and not crash-looping. Bound to `host` (127.0.0.1 unless TRANSFORMER_METRICS_HOST says otherwise, as in a container).
 */
export function serveMetrics(
  metrics: TransformerMetrics,
  port: number,
  host = '127.0.0.1',
  /** The local stack's home: the instance registers itself as a Prometheus target there while it serves. */
  scrapeTargetHome?: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === METRICS_PATHS.prometheus) {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (e: unknown) => send(500, { error: String(e) }),
      );
    } else if (path === METRICS_PATHS.json) send(200, metrics.snapshot());
    else if (path === METRICS_PATHS.health) {
      const h = metrics.health();
      const { consumer_crashes: c, restore } = metrics.snapshot();
      const restoring = h.status === 'restoring' ? { restored: restore.read, to_restore: restore.total } : {};
      send(h.healthy ? 200 : 503, {
        status: h.status,
        consumer_crashes: c.recent,
        last_error: c.last_error,
        ...restoring,
      });
    } else send(404, { error: 'not found', paths: Object.values(METRICS_PATHS) });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      if (scrapeTargetHome && host === '127.0.0.1') {
        const instance = metrics.snapshot().instance;
        const file = writeScrapeTarget(scrapeTargetHome, `transformer-${port}`, `127.0.0.1:${port}`, {
          component: 'transformer',
          transformer_instance: instance,
        });
        server.once('close', () => removeScrapeTarget(file));
      }
      resolve(server);
    });
  });
}
