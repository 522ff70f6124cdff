// The local dashboards server against hostile and malformed requests (issue "Hardening"): each one ends in a
// 4xx naming the problem, never in a crash, a 500 or a held connection, and /health answers throughout.
// Druid is pointed at a closed port: nothing here may reach it, and a well-formed query gets a 502.
import { createConnection, type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/log.ts';
import { createDashboardsServer, MAX_BODY_BYTES, SERVER_LIMITS } from '../../dashboard-server/server.ts';

const cfg = loadConfig();
let server: Server;
let port = 0;
let host = '';

/** One raw HTTP/1.1 exchange: the bytes as given (no client normalises the path), the status line's code (0: none). */
function raw(
  request: string | Buffer,
  timeoutMs = 5000,
  halfClose = false,
): Promise<{ status: number; text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${String(request).slice(0, 80)}`));
    }, timeoutMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => undefined); // a reset after the answer is how a rejected body ends
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, closed: true });
    });
    socket.write(request);
    // A client that sends FIN after its request (half-close); the others wait for the server to close.
    if (halfClose) socket.end();
  });
}

const get = (path: string, headers: Record<string, string> = {}) =>
  raw(
    `GET ${path} HTTP/1.1\r\n${Object.entries({ host, connection: 'close', ...headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  );
const post = (body: string, headers: Record<string, string> = {}) =>
  raw(
    `POST /api/query HTTP/1.1\r\n${Object.entries({
      host,
      connection: 'close',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n${body}`,
  );
const health = async () => (await get('/health')).status;
const errorOf = (r: { text: string }) =>
  (JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { error: string }).error;

beforeAll(async () => {
  const down = { ...cfg, druid: { ...cfg.druid, url: 'http://127.0.0.1:9' } };
  server = createDashboardsServer(down, createLogger('dashboards-test', 'error'), {
    ...SERVER_LIMITS,
    headersTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    checkEveryMs: 250,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('static files', () => {
  it('serves only its own files: dot paths, traversal and directories are 404, and the server lives on', async () => {
    for (const path of [
      '/static/.',
      '/static/..',
      '/static/../server.ts',
      '/static/%2e%2e/server.ts',
      '/static/',
      '/static',
      '/static/index.html/',
      '/static/app.js/..',
    ]) {
      expect((await get(path)).status, path).toBe(404);
      expect(await health(), `after ${path}`).toBe(200);
    }
    expect((await get('/static/app.js')).status).toBe(200);
    expect((await get('/d/pulso-sales')).text).toMatch(/content-security-policy: default-src 'self'/i);
  });
});

describe('who may ask', () => {
  it('refuses a Host that is not the bound address (DNS rebinding), naming the address to use', async () => {
    const r = await get('/api/dashboards', { host: `evil.example:${port}` });
    expect(r.status).toBe(421);
    expect(errorOf(r)).toContain(`http://127.0.0.1:${port}/`);
    expect((await get('/api/dashboards', { host: `localhost:${port}` })).status).toBe(200);
  });

  it('refuses a cross-origin query (blind CSRF) and a text/plain one', async () => {
    const valid = JSON.stringify({ uid: 'pulso-sales', panelId: 1, refId: 'A', from: 0, to: 3600_000 });
    const foreign = await post(valid, { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(errorOf(foreign)).toMatch(/Origin "http:\/\/evil\.example" may not query/);
    const plain = await post(valid, { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(errorOf(plain)).toMatch(/content-type must be application\/json/);
    // The page's own origin passes the checks and reaches (the closed) Druid.
    expect((await post(valid, { origin: `http://${host}` })).status).toBe(502);
  });
});

describe('malformed bodies', () => {
  it.each([
    ['null', /must be a JSON object/],
    ['[]', /must be a JSON object/],
    ['"x"', /must be a JSON object/],
    ['{', /must be JSON/],
    ['{"uid": 5, "panelId": 1, "from": 0, "to": 1}', /"uid" must be a string/],
    ['{"uid": "pulso-sales", "panelId": 1, "refId": {"a": 1}, "from": 0, "to": 1}', /"refId" must be a string/],
    ['{"uid": "pulso-sales", "panelId": "1", "from": 0, "to": 1}', /"panelId" must be an integer/],
    ['{"uid": "pulso-sales", "panelId": 1, "from": 1e400, "to": 1}', /"from" must be an integer/],
    ['{"uid": "pulso-sales", "panelId": 1, "from": 5, "to": 1}', /from < to/],
    ['{"uid": "__proto__", "panelId": 1, "from": 0, "to": 1}', /no provisioned dashboard/],
  ])('%s → 400 naming the problem', async (body, message) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(errorOf(r)).toMatch(message);
  });

  it('an oversize body gets 413, declared or streamed, not a connection reset', async () => {
    const big = JSON.stringify({ uid: 'x'.repeat(MAX_BODY_BYTES + 10) });
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(errorOf(declared)).toMatch(/over the 16384-byte limit/);
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const streamed = await raw(
      `POST /api/query HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${chunk(big.slice(0, 9000))}${chunk(big.slice(9000))}0\r\n\r\n`,
    );
    expect(streamed.status).toBe(413);
    expect(await health()).toBe(200);
  });

  it('a client that never finishes its headers is cut off by the headers timeout', async () => {
    const started = Date.now();
    const r = await raw(`GET /health HTTP/1.1\r\nhost: ${host}\r\nx-slow: `, 10_000).catch((e: Error) => e);
    expect(r).not.toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('fuzz', () => {
  it('a few thousand malformed requests: every answer a 4xx (or 502 from the closed Druid), /health 200 throughout', async () => {
    // Seeded, so a failure reproduces.
    let seed = 0x5eed; // mulberry32
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const junk = (n: number) =>
      Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256))).toString('latin1');
    const paths = [
      '/',
      '/static/.',
      '/static/..',
      '/static/%00',
      '/static/app.js%00.html',
      '/d/..',
      '/d/<script>',
      '/api/dashboards/..',
      '/api/query',
      '/api/dashboards/%2e%2e',
      '//etc/passwd',
      '/static/' + 'a'.repeat(3000),
      '/health?x=' + junk(20),
    ];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'HEAD', 'G\u00e9T', 'CONNECT'];
    const bodies = () =>
      pick([
        '',
        'null',
        '{}',
        '[]',
        '{"uid":null}',
        '{"uid":"pulso-sales","panelId":-1,"from":0,"to":1}',
        '{"uid":"pulso-sales","panelId":1,"refId":[],"from":0,"to":1}',
        junk(64),
        '{"a":' + '['.repeat(5000),
        JSON.stringify({ uid: 'pulso-sales', panelId: 1e21, from: 0, to: 1 }),
      ]);
    const counts = new Map<number, number>();
    const total = 2500;
    for (let i = 0; i < total; i++) {
      const method = pick(methods);
      const body = bodies();
      const headers: Record<string, string> = {
        host: pick([host, host, host, 'evil.example', `localhost:${port}`, '']),
        connection: 'close',
      };
      if (rand() < 0.6)
        headers['content-type'] = pick([
          'application/json',
          'text/plain',
          'application/json; charset=utf-8',
          junk(8).replace(/[\r\n]/g, ''),
        ]);
      if (rand() < 0.3) headers.origin = pick(['null', 'http://evil.example', `http://${host}`]);
      if (rand() < 0.8)
        headers['content-length'] = String(rand() < 0.9 ? Buffer.byteLength(body, 'latin1') : Math.floor(rand() * 1e9));
      const request =
        rand() < 0.05
          ? junk(200)
          : `${method} ${pick(paths)} HTTP/1.1\r\n${Object.entries(headers)
              .map(([k, v]) => `${k}: ${v}\r\n`)
              .join('')}\r\n${body}`;
      const r = await raw(request, 5000, true).catch(() => ({ status: -1 }));
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      expect((r.status >= 200 && r.status < 500) || r.status === 502, `request ${i}: ${request.slice(0, 120)}`).toBe(
        true,
      );
      if (i % 100 === 0) expect(await health(), `after request ${i}`).toBe(200);
    }
    expect(await health()).toBe(200);
    process.stderr.write(
      `[fuzz] ${total} requests, status codes ${JSON.stringify(Object.fromEntries([...counts].sort((a, b) => a[0] - b[0])))}, /health 200 at every 100th and at the end\n`,
    );
    expect(counts.get(-1) ?? 0).toBe(0);
  });
});
