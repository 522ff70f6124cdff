// The geomaps' offline basemap: Natural Earth's borders cut to Latin America, with every city the marketplace
// simulates inside its own country (Bogotá in Colombia), and nothing of Europe.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Topology } from 'topojson-specification';
import { basemapJson, basemapOf, LATIN_AMERICA_BOUNDS, MARKET_COUNTRY_IDS } from '../../dashboard-server/basemap.ts';
import { CITIES } from '../../generator/geo/gazetteer.ts';
import { degreesFrom, inMultiPolygon } from '../support/geo.ts';

const topology = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('world-atlas/countries-50m.json'), 'utf8'),
) as Topology;
const map = basemapOf(topology);

describe('basemap', () => {
  it('keeps the countries of the Americas south of 33°N, with their names, and nothing else', () => {
    const names = map.features.map((f) => f.properties.name);
    for (const n of ['Argentina', 'Brazil', 'Chile', 'Colombia', 'Mexico', 'Peru', 'Uruguay', 'Venezuela', 'Cuba'])
      expect(names).toContain(n);
    // Nothing across the antimeridian (Fiji drew a line over the whole map), and not the US mainland.
    expect(names).not.toContain('Fiji');
    expect(map.features.filter((f) => inMultiPolygon([-98, 38], f.geometry.coordinates))).toEqual([]); // Kansas
    expect(map.features.length).toBeGreaterThan(40);
    expect(map.bbox).toEqual([
      LATIN_AMERICA_BOUNDS.west,
      LATIN_AMERICA_BOUNDS.south,
      LATIN_AMERICA_BOUNDS.east,
      LATIN_AMERICA_BOUNDS.north,
    ]);
    for (const f of map.features)
      for (const polygon of f.geometry.coordinates) {
        const xs = polygon[0]!.map((p) => p[0]!);
        const ys = polygon[0]!.map((p) => p[1]!);
        expect(Math.max(...xs), f.properties.name).toBeGreaterThan(LATIN_AMERICA_BOUNDS.west);
        expect(Math.min(...xs), f.properties.name).toBeLessThan(LATIN_AMERICA_BOUNDS.east);
        expect(Math.min(...ys), f.properties.name).toBeLessThan(LATIN_AMERICA_BOUNDS.north);
        expect(Math.max(...xs) - Math.min(...xs), f.properties.name).toBeLessThan(180);
      }
    // France stays for French Guiana; Paris does not.
    const france = map.features.find((f) => f.properties.name === 'France')!;
    expect(inMultiPolygon([2.35, 48.86], france.geometry.coordinates)).toBe(false);
    expect(inMultiPolygon([-52.33, 4.94], france.geometry.coordinates)).toBe(true); // Cayenne
  });

  // 0.05° (about 5 km): the 1:50m coastline is generalised, and Rio de Janeiro's and Salvador's centres sit 3 and
  // 2 km off it, in the bay.
  it('puts every simulated city inside its own country (coastal ones within 0.05° of it) and inside no other', () => {
    const byId = new Map(map.features.map((f) => [f.id, f]));
    const wrong: string[] = [];
    for (const c of CITIES) {
      const point = [c.longitude, c.latitude] as const;
      const home = byId.get(MARKET_COUNTRY_IDS[c.countryCode]!)!;
      const off = degreesFrom(point, home.geometry.coordinates);
      if (off > 0.05) wrong.push(`${c.name} is ${off.toFixed(3)}° outside ${home.properties.name}`);
      const others = map.features.filter((f) => f !== home && inMultiPolygon(point, f.geometry.coordinates));
      if (others.length) wrong.push(`${c.name} also in ${others.map((f) => f.properties.name).join(', ')}`);
    }
    expect(CITIES.length).toBe(38);
    expect(wrong).toEqual([]);
  });

  it('is served as GeoJSON text of about a quarter megabyte, built once', () => {
    const text = basemapJson();
    expect(basemapJson()).toBe(text);
    expect(JSON.parse(text)).toEqual(map);
    expect(text.length).toBeLessThan(400_000);
  });
});
