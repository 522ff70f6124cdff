// The local dashboards server: renders the provisioned dashboards (grafana/dashboards/*.json, the very files
// Grafana loads) in a browser, without Grafana. It serves the dashboard files, a small page that lays out
// their panels with Apache ECharts, and one query endpoint that runs only the dashboards' own panel
// queries against Druid SQL, with the time range bound as parameters. Bound to 127.0.0.1.
//   npm run dashboards   (normally started by `npm run up` / `npm start`)
import { PrometheusError, prometheusAlerts } from '../lib/prometheusClient.ts';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type PulsoConfig } from '../lib/config.ts';
import { DruidError } from '../lib/druidClient.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { DashboardCatalog, QueryRequestError } from './panelQueries.ts';
import { runPanelQuery } from './panelData.ts';
import { PulsoError } from '../lib/errors.ts';
import { basemapJson } from './basemap.ts';

const PUBLIC_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), 'public');
const ECHARTS = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};
/** Every file the server hands out, by URL path: a fixed list, so no request can name another file. */
const STATIC_FILES: ReadonlyMap<string, string> = new Map([
  ['/static/app.js', resolve(PUBLIC_DIR, 'app.js')],
  ['/static/timeRange.js', resolve(PUBLIC_DIR, 'timeRange.js')],
  ['/static/style.css', resolve(PUBLIC_DIR, 'style.css')],
  ['/static/echarts.min.js', ECHARTS],
]);
const PAGE = resolve(PUBLIC_DIR, 'index.html');
export const MAX_BODY_BYTES = 16 * 1024;
/** Slow or idle clients are cut off: the page's requests take milliseconds, a query at most Druid's timeout. */
export interface ServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** How often node looks for connections past those timeouts. */
  readonly checkEveryMs: number;
  readonly maxConnections: number;
  readonly maxHeadersCount: number;
}
export const SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  checkEveryMs: 2_000,
  maxConnections: 128,
  maxHeadersCount: 64,
};
/** Headers sent with every answer: the page runs only its own scripts and is framed by nobody. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
} as const;

/** An answer to a bad request: its status and a message naming the problem and what to send instead. */
class RequestRejected extends PulsoError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}

/** The static files, read once: a request can neither name another file nor meet a file-system error. */
const fileCache = new Map<string, Buffer>();
function sendFile(res: ServerResponse, path: string): void {
  let body = fileCache.get(path);
  if (!body) fileCache.set(path, (body = readFileSync(path)));
  sendBody(res, body, TYPES[extname(path)] ?? 'application/octet-stream');
}

function sendBody(res: ServerResponse, body: Buffer, contentType: string): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': contentType,
    'content-length': String(body.length),
    'cache-control': 'no-cache',
  });
  res.end(body);
}

/**
 * DNS rebinding and cross-site requests: the Host must be the address the server is bound to (as the page
 * reaches it), and an Origin, when the browser sends one, must be the page's own.
 */
export function checkOrigin(headers: IncomingMessage['headers'], localPort: number | undefined): void {
  const allowed = new Set([`127.0.0.1:${localPort}`, `localhost:${localPort}`]);
  const host = headers.host?.toLowerCase();
  if (!host || !allowed.has(host)) {
    throw new RequestRejected(
      421,
      `Host ${JSON.stringify(headers.host ?? '')} is not this server: open http://127.0.0.1:${localPort}/ (DNS rebinding protection)`,
    );
  }
  const origin = headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    throw new RequestRejected(
      403,
      `Origin ${JSON.stringify(origin)} may not query this server: only pages served by http://${host} may`,
    );
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES)
    return Promise.reject(
      new RequestRejected(413, `request body of ${declared} bytes is over the ${MAX_BODY_BYTES}-byte limit`),
    );
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        // Stop reading; the 413 is sent, then the connection is closed (see answerRejected).
        req.pause();
        reject(new RequestRejected(413, `request body over the ${MAX_BODY_BYTES}-byte limit`));
      } else chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export interface QueryRequest {
  readonly uid: string;
  readonly panelId: number;
  readonly refId: string;
  readonly from: number;
  readonly to: number;
}

const QUERY_SHAPE = '{"uid": string, "panelId": integer, "refId": string, "from": epoch ms, "to": epoch ms}';

/** The body of POST /api/query, checked field by field; anything else is a 400 naming the field. */
export function parseQueryRequest(text: string): QueryRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestRejected(400, `the body must be JSON: ${QUERY_SHAPE}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new RequestRejected(400, `the body must be a JSON object: ${QUERY_SHAPE}`);
  const b = body as Record<string, unknown>;
  if (typeof b.uid !== 'string') throw new RequestRejected(400, `"uid" must be a string: ${QUERY_SHAPE}`);
  const refId = b.refId ?? 'A';
  if (typeof refId !== 'string') throw new RequestRejected(400, `"refId" must be a string: ${QUERY_SHAPE}`);
  for (const k of ['panelId', 'from', 'to'] as const) {
    if (typeof b[k] !== 'number' || !Number.isSafeInteger(b[k]))
      throw new RequestRejected(400, `"${k}" must be an integer: ${QUERY_SHAPE}`);
  }
  return { uid: b.uid, panelId: b.panelId as number, refId, from: b.from as number, to: b.to as number };
}

/** POST /api/query {uid, panelId, refId, from, to} → {columns, rows, ms}; a bad request is a 4xx naming the problem. */
async function runQuery(
  cfg: PulsoConfig,
  catalog: DashboardCatalog,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    throw new RequestRejected(415, `content-type must be application/json, not ${JSON.stringify(type)}`);
  const q = parseQueryRequest(await readBody(req));
  const entry = catalog.get(q.uid);
  if (!entry) throw new RequestRejected(400, `no provisioned dashboard with uid ${JSON.stringify(q.uid)}`);
  const t0 = performance.now();
  let table;
  try {
    table = await runPanelQuery(cfg, entry.dashboard, q.panelId, q.refId, q.from, q.to);
  } catch (e) {
    if (e instanceof QueryRequestError) throw new RequestRejected(400, e.message);
    // Druid's or Prometheus' error reaches the panel as it said it; the page keeps refreshing the others.
    return sendJson(res, 502, {
      error: e instanceof DruidError || e instanceof PrometheusError ? e.message : String(e),
    });
  }
  sendJson(res, 200, { ...table, ms: Math.round(performance.now() - t0) });
}

/**
 * The alerts Prometheus has firing or pending (prometheus/alerts.yml), for the banner on every page: names,
 * severities and summaries only. The page sends nothing to Prometheus; an unreachable Prometheus is said so.
 */
async function sendAlerts(cfg: PulsoConfig, res: ServerResponse): Promise<void> {
  try {
    const alerts = (await prometheusAlerts(cfg.monitoring.prometheusUrl)).filter((a) => a.state !== 'inactive');
    sendJson(res, 200, {
      alerts: alerts.map((a) => ({
        name: a.labels.alertname ?? '',
        state: a.state,
        severity: a.labels.severity ?? '',
        summary: a.annotations.summary ?? '',
        since: a.activeAt,
      })),
    });
  } catch (e) {
    sendJson(res, 502, { error: e instanceof PrometheusError ? e.message : String(e) });
  }
}

async function route(
  cfg: PulsoConfig,
  catalog: DashboardCatalog,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD'))
    return sendJson(res, 200, { status: 'ok' });
  checkOrigin(req.headers, req.socket.localPort);
  if (req.method === 'POST' && path === '/api/query') return runQuery(cfg, catalog, req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD')
    throw new RequestRejected(405, `${req.method} ${path} is not served here`);
  if (path === '/api/dashboards') {
    return sendJson(
      res,
      200,
      [...catalog.all().values()].map(({ file, dashboard }) => ({
        uid: dashboard.uid,
        title: dashboard.title,
        file,
      })),
    );
  }
  const one = /^\/api\/dashboards\/([\w-]+)$/.exec(path);
  if (one) {
    const entry = catalog.get(one[1]!);
    return entry ? sendJson(res, 200, entry.dashboard) : sendJson(res, 404, { error: `no dashboard ${one[1]}` });
  }
  if (path === '/api/alerts') return sendAlerts(cfg, res);
  if (path === '/static/basemap.json') return sendBody(res, Buffer.from(basemapJson()), TYPES['.json']!);
  const file = STATIC_FILES.get(path);
  if (file) return sendFile(res, file);
  if (path === '/' || /^\/d\/[\w-]+$/.test(path)) return sendFile(res, PAGE);
  return sendJson(res, 404, { error: `nothing at ${path.slice(0, 200)}`, try: ['/', '/d/<uid>', '/api/dashboards'] });
}

export function createDashboardsServer(cfg: PulsoConfig, log: Logger, limits: ServerLimits = SERVER_LIMITS): Server {
  const catalog = new DashboardCatalog();
  const server = createServer(
    { maxHeaderSize: 16 * 1024, connectionsCheckingInterval: limits.checkEveryMs },
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      route(cfg, catalog, req, res, path).catch((e: unknown) => {
        if (e instanceof RequestRejected) {
          // After a rejected body the rest of it is never read: close the connection once the answer is out.
          const close: Record<string, string> = e.status === 413 ? { connection: 'close' } : {};
          if (!res.headersSent) sendJson(res, e.status, { error: e.message }, close);
          if (e.status === 413) res.once('finish', () => req.destroy());
          return;
        }
        log.error('request failed', { path: path.slice(0, 200), error: e instanceof Error ? e.stack : String(e) });
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error; the server log has the details' });
        else res.destroy();
      });
    },
  );
  // CONNECT would otherwise be dropped without an answer: this is no proxy.
  server.on('connect', (_req, socket) => {
    const text = JSON.stringify({ error: 'CONNECT is not served here: this is no proxy' });
    socket.on('error', () => undefined);
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = limits.maxHeadersCount;
  server.on('close', () => catalog.close());
  return server;
}

export async function startDashboardsServer(
  cfg: PulsoConfig,
  log: Logger = createLogger('dashboards', cfg.logLevel),
): Promise<Server> {
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
