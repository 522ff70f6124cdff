// An offline node-geocoder provider backed by the bundled gazetteer: answers "Pinheiros, São Paulo,
// Brasil", "Bogotá, Colombia" or "Lima" with no network, in node-geocoder's entry format, so the
// generator can swap it for Nominatim without other changes.
import type NodeGeocoder from 'node-geocoder';
import { CITIES, countryOf, type City, type Place } from './gazetteer.ts';

/** Lower case, no accents, single spaces: "São  Paulo" → "sao paulo". */
export function normalizePlaceName(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

function entry(city: City, place?: Place): NodeGeocoder.Entry {
  const country = countryOf(city.countryCode);
  return {
    latitude: (place ?? city).latitude,
    longitude: (place ?? city).longitude,
    formattedAddress: [place?.name, city.name, country.name].filter(Boolean).join(', '),
    city: city.name,
    country: country.name,
    countryCode: city.countryCode,
    neighbourhood: place?.name ?? '',
    provider: 'offline',
  };
}

/** Matches a free-text query against the gazetteer; most specific match first. */
export function lookupGazetteer(query: string): NodeGeocoder.Entry[] {
  const parts = normalizePlaceName(query)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return [];
  const countryPart = parts.length > 1 ? parts[parts.length - 1] : undefined;
  const results: NodeGeocoder.Entry[] = [];
  for (const city of CITIES) {
    const country = countryOf(city.countryCode);
    const countryMatches = (p: string | undefined) =>
      p === undefined || p === normalizePlaceName(country.name) || p === city.countryCode.toLowerCase();
    const cityName = normalizePlaceName(city.name);
    // "neighbourhood, city[, country]"
    if (
      parts.length >= 2 &&
      normalizePlaceName(parts[1]!) === cityName &&
      countryMatches(parts.length > 2 ? countryPart : undefined)
    ) {
      const hood = city.neighbourhoods.find((h) => normalizePlaceName(h.name) === parts[0]);
      if (hood) results.push(entry(city, hood));
    }
    // "city[, country]"
    if (parts[0] === cityName && (parts.length === 1 || (parts.length === 2 && countryMatches(countryPart))))
      results.push(entry(city));
  }
  return results;
}

function haversineKm(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const rad = Math.PI / 180;
  const dLat = (bLat - aLat) * rad;
  const dLon = (bLon - aLon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(aLat * rad) * Math.cos(bLat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

export const offlineProvider: NodeGeocoder.Provider = {
  geocode(value, callback) {
    const query =
      typeof value === 'string'
        ? value
        : String((value as { address?: unknown; q?: unknown }).address ?? (value as { q?: unknown }).q ?? '');
    const results = lookupGazetteer(query);
    callback(false, Object.assign(results, { raw: { provider: 'offline', query } }));
  },
  reverse(query, callback) {
    let best: City | undefined;
    let bestKm = Infinity;
    for (const c of CITIES) {
      const km = haversineKm(query.lat, query.lon, c.latitude, c.longitude);
      if (km < bestKm) [best, bestKm] = [c, km];
    }
    // Beyond 60 km of any city we serve, say nothing rather than something wrong.
    callback(false, Object.assign(best && bestKm <= 60 ? [entry(best)] : [], { raw: { provider: 'offline', query } }));
  },
};
