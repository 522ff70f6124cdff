// Coordinates through node-geocoder. Offline (the bundled gazetteer) by default; with
// GEOCODER_PROVIDER=openstreetmap it asks Nominatim (GEOCODER_URL), at most one request per second as
// the usage policy requires, identifying itself, and caches every answer in geocode_cache so each
// query is asked once per database.
import { createRequire } from 'node:module';
import NodeGeocoder from 'node-geocoder';
import type pg from 'pg';
import type { Logger } from '../../lib/log.ts';
import { offlineProvider } from './offlineProvider.ts';
import { sleep } from '../../lib/poll.ts';

export interface GeoPoint {
  readonly latitude: number;
  readonly longitude: number;
  readonly displayName: string;
}

export interface GeocoderStats {
  requests: number;
  cacheHits: number;
}

export interface PulsoGeocoder {
  readonly provider: 'offline' | 'openstreetmap';
  /** null when the provider knows no such place. */
  geocode(query: string): Promise<GeoPoint | null>;
  readonly stats: GeocoderStats;
}

export interface GeocoderOptions {
  readonly provider: 'offline' | 'openstreetmap';
  /** Nominatim base URL (openstreetmap only). */
  readonly url?: string;
  /** Connection used for geocode_cache (openstreetmap only; without it nothing is cached). */
  readonly cache?: pg.ClientBase;
  /** Minimum gap between two requests to the server (default 1000 ms: Nominatim's policy). */
  readonly minIntervalMs?: number;
  readonly log?: Logger;
}

const USER_AGENT = 'pulso-generator/0.1 (real-time sales analytics demo; https://github.com/pulso)';

// node-geocoder's factory copies every option into the query string and the fetch options, and sends
// a browser User-Agent; building the OpenStreetMap provider from its parts keeps the request clean and
// lets us identify ourselves as Nominatim asks.
const require = createRequire(import.meta.url);
interface OsmProvider extends NodeGeocoder.Provider {
  _getCommonParams(): Record<string, unknown>;
}
type OsmCtor = new (adapter: unknown, options: Record<string, unknown>) => OsmProvider;
type FetchAdapterCtor = new (options: { fetch: typeof fetch }) => unknown;
const OpenStreetMapGeocoder = require('node-geocoder/lib/geocoder/openstreetmapgeocoder.js') as OsmCtor;
const FetchAdapter = require('node-geocoder/lib/httpadapter/fetchadapter.js') as FetchAdapterCtor;

function nominatimProvider(url: string): NodeGeocoder.Provider {
  const identifiedFetch: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), 'user-agent': USER_AGENT, accept: 'application/json' },
    });
  const osm = new OpenStreetMapGeocoder(new FetchAdapter({ fetch: identifiedFetch }), {
    osmServer: url.replace(/\/+$/, ''),
  });
  osm._getCommonParams = () => ({});
  return osm;
}

/**
 * Serialises calls and starts each at least `intervalMs` after the previous one finished (stricter
 * than spacing the starts: the server never sees two requests within the interval).
 */
function rateLimited(intervalMs: number) {
  let lastDone = 0;
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(async () => {
      const wait = lastDone + intervalMs - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        return await fn();
      } finally {
        lastDone = Date.now();
      }
    });
    chain = run.catch(() => undefined);
    return run;
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function createGeocoder(opts: GeocoderOptions): PulsoGeocoder {
  const stats: GeocoderStats = { requests: 0, cacheHits: 0 };
  if (opts.provider === 'offline') {
    const geocoder = NodeGeocoder({ provider: offlineProvider });
    return {
      provider: 'offline',
      stats,
      async geocode(query) {
        stats.requests++;
        const [first] = await geocoder.geocode(query);
        return first?.latitude !== undefined && first.longitude !== undefined
          ? { latitude: first.latitude, longitude: first.longitude, displayName: first.formattedAddress ?? query }
          : null;
      },
    };
  }

  const url = opts.url ?? 'https://nominatim.openstreetmap.org';
  const geocoder = NodeGeocoder({ provider: nominatimProvider(url) });
  const limit = rateLimited(opts.minIntervalMs ?? 1000);
  const cache = opts.cache;
  return {
    provider: 'openstreetmap',
    stats,
    async geocode(query) {
      if (cache) {
        const hit = await cache.query<{
          latitude: string | null;
          longitude: string | null;
          display_name: string | null;
        }>('SELECT latitude, longitude, display_name FROM geocode_cache WHERE query = $1', [query]);
        const row = hit.rows[0];
        if (row) {
          stats.cacheHits++;
          return row.latitude === null || row.longitude === null
            ? null
            : {
                latitude: Number(row.latitude),
                longitude: Number(row.longitude),
                displayName: row.display_name ?? query,
              };
        }
      }
      const results = await limit(async () => {
        stats.requests++;
        return geocoder.geocode(query);
      });
      const first = results[0];
      const point: GeoPoint | null =
        first?.latitude !== undefined && first.longitude !== undefined && Number.isFinite(first.latitude)
          ? // numeric(9,6), as stored: a fresh answer and a cached one are the same point.
            {
              latitude: round6(first.latitude),
              longitude: round6(first.longitude),
              displayName: first.formattedAddress ?? query,
            }
          : null;
      opts.log?.debug('geocoded', { query, found: point !== null });
      if (cache) {
        await cache.query(
          `INSERT INTO geocode_cache (query, provider, latitude, longitude, display_name, raw)
           VALUES ($1, 'openstreetmap', $2, $3, $4, $5) ON CONFLICT (query) DO NOTHING`,
          [
            query,
            point?.latitude ?? null,
            point?.longitude ?? null,
            point?.displayName ?? null,
            JSON.stringify(results.raw ?? []),
          ],
        );
      }
      return point;
    },
  };
}
