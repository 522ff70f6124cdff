// The local geomaps' basemap, without any network: country borders from Natural Earth (world-atlas, 1:50m,
// through the npm registry), converted from TopoJSON once and cut to the Americas south of 33°N (Mexico to
// Patagonia, the Caribbean): a polygon is kept when its bounding box is centred in that box (France's mainland
// stays out, French Guiana in), coordinates rounded to 0.001° (about 100 m). Grafana, under compose, keeps its
// own basemap.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';

/** West, south, east, north in degrees: what the page zooms to and what the basemap keeps. */
export const LATIN_AMERICA_BOUNDS = { west: -120, south: -58, east: -28, north: 33 } as const;

/** ISO 3166-1 numeric (Natural Earth's feature id) of the marketplace's countries, by the alpha-2 code events carry. */
export const MARKET_COUNTRY_IDS: Readonly<Record<string, string>> = {
  AR: '032',
  BR: '076',
  CL: '152',
  CO: '170',
  MX: '484',
  PE: '604',
};

type Ring = number[][];
type PolygonCoords = Ring[];

export interface BasemapFeature {
  readonly type: 'Feature';
  readonly id: string;
  readonly properties: { readonly name: string };
  readonly geometry: { readonly type: 'MultiPolygon'; readonly coordinates: PolygonCoords[] };
}

export interface Basemap {
  readonly type: 'FeatureCollection';
  /** GeoJSON's bbox, [west, south, east, north]: the box the page frames its geomaps on. */
  readonly bbox: readonly [number, number, number, number];
  readonly features: BasemapFeature[];
}

function bounds(coords: PolygonCoords): [number, number, number, number] {
  let [w, s, e, n] = [180, 90, -180, -90];
  for (const ring of coords)
    for (const [x, y] of ring) {
      w = Math.min(w, x!);
      e = Math.max(e, x!);
      s = Math.min(s, y!);
      n = Math.max(n, y!);
    }
  return [w, s, e, n];
}

/**
 * A polygon belongs to the map when the centre of its bounding box lies in the box: Mexico and French Guiana do,
 * the US mainland and France's do not, and neither does a polygon across the antimeridian (Fiji: its box spans
 * the globe and would draw as a line across the map).
 */
function centredInBox(coords: PolygonCoords, box = LATIN_AMERICA_BOUNDS): boolean {
  const [w, s, e, n] = bounds(coords);
  const [x, y] = [(w + e) / 2, (s + n) / 2];
  return e - w < 180 && x > box.west && x < box.east && y > box.south && y < box.north;
}

const round = (p: PolygonCoords): PolygonCoords =>
  p.map((ring) => ring.map(([x, y]) => [Math.round(x! * 1000) / 1000, Math.round(y! * 1000) / 1000]));

/** Pure: the countries of a Natural Earth topology with their polygons inside the box. */
export function basemapOf(topology: Topology): Basemap {
  const countries = feature(topology, topology.objects.countries as GeometryCollection<{ name: string }>);
  const features: BasemapFeature[] = [];
  for (const f of countries.features) {
    const g = f.geometry;
    if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) continue;
    const polygons = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as PolygonCoords[];
    const kept = polygons.filter((p) => centredInBox(p)).map(round);
    if (!kept.length) continue;
    features.push({
      type: 'Feature',
      id: String(f.id),
      properties: { name: f.properties?.name ?? String(f.id) },
      geometry: { type: 'MultiPolygon', coordinates: kept },
    });
  }
  const { west, south, east, north } = LATIN_AMERICA_BOUNDS;
  return { type: 'FeatureCollection', bbox: [west, south, east, north], features };
}

let cached: string | undefined;

/** The basemap as the page loads it (GeoJSON text), built on first use and kept. */
export function basemapJson(): string {
  if (cached === undefined) {
    const path = createRequire(import.meta.url).resolve('world-atlas/countries-50m.json');
    cached = JSON.stringify(basemapOf(JSON.parse(readFileSync(path, 'utf8')) as Topology));
  }
  return cached;
}
