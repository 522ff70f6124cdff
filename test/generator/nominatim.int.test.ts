// The Nominatim path through node-geocoder, against a local server that answers as Nominatim does:
// identified requests, at most one a second, and answers cached in geocode_cache.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../sql/migrate.ts';
import { createGeocoder } from '../../generator/geo/geocoder.ts';
import { startTestServer, type TestServer } from '../support/testPostgres.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const requests: { at: number; path: string; query: URLSearchParams; headers: IncomingHttpHeaders }[] = [];
let http: Server;
let nominatimUrl: string;
let server: TestServer;
let db: pg.Client;

beforeAll(async () => {
  http = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ at: Date.now(), path: u.pathname, query: u.searchParams, headers: req.headers });
    const q = u.searchParams.get('q') ?? '';
    const body = q.startsWith('Palermo')
      ? [
          {
            place_id: 1,
            lat: '-34.5880556',
            lon: '-58.4305556',
            display_name: 'Palermo, Buenos Aires, Argentina',
            class: 'place',
            type: 'suburb',
            address: { suburb: 'Palermo', city: 'Buenos Aires', country: 'Argentina', country_code: 'ar' },
          },
        ]
      : [];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  nominatimUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  server = await startTestServer();
  const url = await server.freshDatabase();
  await migrate(url, { log: quiet });
  db = new pg.Client({ connectionString: url });
  await db.connect();
}, 120_000);
afterAll(async () => {
  await db?.end();
  await server?.stop();
  await new Promise((r) => http?.close(r));
}, 60_000);

describe('openstreetmap geocoder', () => {
  it('asks Nominatim /search in JSON, identifies itself, caches, and spaces requests by a second', async () => {
    const geocoder = createGeocoder({ provider: 'openstreetmap', url: nominatimUrl, cache: db, log: quiet });
    const first = await geocoder.geocode('Palermo, Buenos Aires, Argentina');
    expect(first).toEqual({
      latitude: -34.588056,
      longitude: -58.430556,
      displayName: 'Palermo, Buenos Aires, Argentina',
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.path).toBe('/search');
    expect(requests[0]!.query.get('format')).toBe('json');
    expect(requests[0]!.query.get('q')).toBe('Palermo, Buenos Aires, Argentina');
    expect(requests[0]!.headers['user-agent']).toMatch(/^pulso-generator\//);

    // Second lookup of the same query: answered from geocode_cache, the server is not asked again.
    expect(await geocoder.geocode('Palermo, Buenos Aires, Argentina')).toEqual(first);
    expect(requests).toHaveLength(1);
    expect(geocoder.stats).toEqual({ requests: 1, cacheHits: 1 });
    const cached = await db.query(
      'SELECT provider, latitude, longitude, display_name FROM geocode_cache WHERE query = $1',
      ['Palermo, Buenos Aires, Argentina'],
    );
    expect(cached.rows).toEqual([
      {
        provider: 'openstreetmap',
        latitude: '-34.588056',
        longitude: '-58.430556',
        display_name: 'Palermo, Buenos Aires, Argentina',
      },
    ]);

    // Unknown places: null, cached as "not found" too; and no two requests within a second.
    expect(await geocoder.geocode('Atlantis, Argentina')).toBeNull();
    expect(await geocoder.geocode('El Dorado, Colombia')).toBeNull();
    expect(await geocoder.geocode('Atlantis, Argentina')).toBeNull();
    expect(requests).toHaveLength(3);
    for (let i = 1; i < requests.length; i++)
      expect(requests[i]!.at - requests[i - 1]!.at).toBeGreaterThanOrEqual(1000);
  }, 30_000);

  it('shares the cache across geocoder instances (one query asked once per database)', async () => {
    const before = requests.length;
    const again = createGeocoder({ provider: 'openstreetmap', url: nominatimUrl, cache: db, log: quiet });
    expect(await again.geocode('Palermo, Buenos Aires, Argentina')).toMatchObject({ latitude: -34.588056 });
    expect(requests.length).toBe(before);
  });
});
