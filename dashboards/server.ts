// The local dashboards server: renders the provisioned dashboards (grafana/dashboards/*.json, the very files
// Grafana loads) in a browser, without Grafana. It serves the dashboard files, a small page that lays out
// their panels with Apache ECharts, and one query endpoint that runs only the dashboards' own panel
// queries against Druid SQL, with the time range bound as parameters. Bound to 127.0.0.1.
//   npm run dashboards   (normally started by `npm run up` / `npm start`)
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type PulsoConfig } from '../lib/config.ts';
import { DruidQueryError, queryDruidTable } from '../lib/druidClient.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { bindPanelQuery, QueryRequestError, readDashboards } from './panelQueries.ts';

const PUBLIC_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), 'public');
const ECHARTS = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const MAX_BODY_BYTES = 16 * 1024;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendFile(res: ServerResponse, path: string): void {
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(path).pipe(res);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new QueryRequestError(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** POST /api/query {uid, panelId, refId, from, to} → {columns, rows, ms}; a bad request is a 400 naming the problem. */
async function runQuery(cfg: PulsoConfig, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body: { uid?: unknown; panelId?: unknown; refId?: unknown; from?: unknown; to?: unknown };
  try {
    body = JSON.parse(await readBody(req)) as typeof body;
  } catch (e) {
    return sendJson(res, 400, { error: e instanceof QueryRequestError ? e.message : 'the body must be JSON: {"uid", "panelId", "refId", "from", "to"}' });
  }
  // Read on every request: the files are small, and an edited dashboard shows without a restart.
  const entry = typeof body.uid === 'string' ? readDashboards().get(body.uid) : undefined;
  if (!entry) return sendJson(res, 400, { error: `no provisioned dashboard with uid ${JSON.stringify(body.uid)}` });
  let bound;
  try {
    bound = bindPanelQuery(entry.dashboard, Number(body.panelId), String(body.refId ?? 'A'), Number(body.from), Number(body.to));
  } catch (e) {
    if (e instanceof QueryRequestError) return sendJson(res, 400, { error: e.message });
    throw e;
  }
  const t0 = performance.now();
  try {
    const table = await queryDruidTable(cfg, bound.query, bound.parameters, bound.context);
    sendJson(res, 200, { ...table, ms: Math.round(performance.now() - t0) });
  } catch (e) {
    // Druid's error reaches the panel as it said it; the page keeps refreshing the others.
    sendJson(res, 502, { error: e instanceof DruidQueryError ? e.message : String(e) });
  }
}

export function createDashboardsServer(cfg: PulsoConfig, log: Logger): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const handle = async () => {
      if (req.method === 'POST' && path === '/api/query') return runQuery(cfg, req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: `${req.method} is not served here` });
      if (path === '/health') return sendJson(res, 200, { status: 'ok' });
      if (path === '/api/dashboards') {
        return sendJson(res, 200, [...readDashboards().values()].map(({ file, dashboard }) => ({ uid: dashboard.uid, title: dashboard.title, file })));
      }
      const one = /^\/api\/dashboards\/([\w-]+)$/.exec(path);
      if (one) {
        const entry = readDashboards().get(one[1]!);
        return entry ? sendJson(res, 200, entry.dashboard) : sendJson(res, 404, { error: `no dashboard ${one[1]}` });
      }
      if (path === '/static/echarts.min.js') return sendFile(res, ECHARTS);
      const asset = /^\/static\/([\w.-]+)$/.exec(path);
      if (asset && existsSync(resolve(PUBLIC_DIR, asset[1]!))) return sendFile(res, resolve(PUBLIC_DIR, asset[1]!));
      if (path === '/' || /^\/d\/[\w-]+$/.test(path)) return sendFile(res, resolve(PUBLIC_DIR, 'index.html'));
      return sendJson(res, 404, { error: `nothing at ${path}`, try: ['/', '/d/<uid>', '/api/dashboards'] });
    };
    handle().catch((e: unknown) => {
      log.error('request failed', { path, error: e instanceof Error ? e.stack : String(e) });
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.end();
    });
  });
}

export async function startDashboardsServer(cfg: PulsoConfig, log: Logger = createLogger('dashboards', cfg.logLevel)): Promise<Server> {
  const server = createDashboardsServer(cfg, log);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(cfg.dashboards.port, '127.0.0.1', () => ok());
  });
  log.info('dashboards server listening', { url: `http://127.0.0.1:${cfg.dashboards.port}/`, druid: cfg.druid.url });
  return server;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cfg = loadConfig();
  const log = createLogger('dashboards', cfg.logLevel);
  startDashboardsServer(cfg, log).then(
    (server) => {
      const stop = () => server.close(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (e: unknown) => {
      log.error('dashboards server failed to start', { error: String(e) });
      process.exit(1);
    },
  );
}
