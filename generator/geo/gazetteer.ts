// The offline gazetteer: countries and cities the marketplace operates in, with real coordinates
// (city centres, WGS84, 6 decimals) and IANA time zones. sql/003_reference_data.sql seeds the same
// rows (test/sql checks they agree); the offline geocoder answers from this list, so the generator
// works with no network.
import { PulsoError } from '../../lib/errors.ts';

export type CountryCode = 'BR' | 'MX' | 'CO' | 'PE' | 'CL' | 'AR';

export interface Country {
  readonly code: CountryCode;
  readonly name: string;
  readonly currency: string;
  readonly timezone: string;
}

export interface Place {
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
}

export interface City extends Place {
  /** Stable id, also the primary key seeded by sql/003. */
  readonly id: number;
  readonly countryCode: CountryCode;
  readonly timezone: string;
  /** Metro population in millions: the share of orders, stores and customers. */
  readonly population: number;
  /** Radius in km within which stores and addresses are scattered around the anchors. */
  readonly radiusKm: number;
  /** Neighbourhoods used as anchors (geocoded like the city); empty → the city centre only. */
  readonly neighbourhoods: readonly Place[];
}

export const COUNTRIES: readonly Country[] = [
  { code: 'BR', name: 'Brasil', currency: 'BRL', timezone: 'America/Sao_Paulo' },
  { code: 'MX', name: 'México', currency: 'MXN', timezone: 'America/Mexico_City' },
  { code: 'CO', name: 'Colombia', currency: 'COP', timezone: 'America/Bogota' },
  { code: 'PE', name: 'Perú', currency: 'PEN', timezone: 'America/Lima' },
  { code: 'CL', name: 'Chile', currency: 'CLP', timezone: 'America/Santiago' },
  { code: 'AR', name: 'Argentina', currency: 'ARS', timezone: 'America/Argentina/Buenos_Aires' },
];

const n = (name: string, latitude: number, longitude: number): Place => ({ name, latitude, longitude });

export const CITIES: readonly City[] = [
  // Brazil
  {
    id: 1001,
    countryCode: 'BR',
    name: 'São Paulo',
    latitude: -23.55052,
    longitude: -46.633308,
    timezone: 'America/Sao_Paulo',
    population: 22.4,
    radiusKm: 12,
    neighbourhoods: [
      n('Pinheiros', -23.566667, -46.693056),
      n('Moema', -23.600833, -46.665),
      n('Vila Mariana', -23.589167, -46.634722),
      n('Tatuapé', -23.540278, -46.576389),
      n('Santana', -23.502222, -46.625),
    ],
  },
  {
    id: 1002,
    countryCode: 'BR',
    name: 'Rio de Janeiro',
    latitude: -22.906847,
    longitude: -43.172897,
    timezone: 'America/Sao_Paulo',
    population: 13.6,
    radiusKm: 10,
    neighbourhoods: [
      n('Copacabana', -22.971177, -43.182543),
      n('Tijuca', -22.925, -43.2325),
      n('Barra da Tijuca', -23.000372, -43.365894),
      n('Botafogo', -22.951193, -43.180784),
    ],
  },
  {
    id: 1003,
    countryCode: 'BR',
    name: 'Belo Horizonte',
    latitude: -19.916681,
    longitude: -43.934493,
    timezone: 'America/Sao_Paulo',
    population: 6.0,
    radiusKm: 7,
    neighbourhoods: [],
  },
  {
    id: 1004,
    countryCode: 'BR',
    name: 'Brasília',
    latitude: -15.793889,
    longitude: -47.882778,
    timezone: 'America/Sao_Paulo',
    population: 4.8,
    radiusKm: 8,
    neighbourhoods: [],
  },
  {
    id: 1005,
    countryCode: 'BR',
    name: 'Curitiba',
    latitude: -25.428954,
    longitude: -49.267137,
    timezone: 'America/Sao_Paulo',
    population: 3.7,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 1006,
    countryCode: 'BR',
    name: 'Porto Alegre',
    latitude: -30.034647,
    longitude: -51.217658,
    timezone: 'America/Sao_Paulo',
    population: 4.3,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 1007,
    countryCode: 'BR',
    name: 'Salvador',
    latitude: -12.977749,
    longitude: -38.50163,
    timezone: 'America/Bahia',
    population: 4.0,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 1008,
    countryCode: 'BR',
    name: 'Recife',
    latitude: -8.047562,
    longitude: -34.877003,
    timezone: 'America/Recife',
    population: 4.0,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 1009,
    countryCode: 'BR',
    name: 'Fortaleza',
    latitude: -3.731862,
    longitude: -38.526669,
    timezone: 'America/Fortaleza',
    population: 4.1,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 1010,
    countryCode: 'BR',
    name: 'Manaus',
    latitude: -3.119028,
    longitude: -60.021731,
    timezone: 'America/Manaus',
    population: 2.3,
    radiusKm: 6,
    neighbourhoods: [],
  },
  // Mexico
  {
    id: 2001,
    countryCode: 'MX',
    name: 'Ciudad de México',
    latitude: 19.432608,
    longitude: -99.133209,
    timezone: 'America/Mexico_City',
    population: 21.8,
    radiusKm: 12,
    neighbourhoods: [
      n('Roma Norte', 19.419444, -99.162778),
      n('Condesa', 19.411389, -99.173611),
      n('Polanco', 19.433333, -99.2),
      n('Coyoacán', 19.35, -99.1625),
      n('Del Valle', 19.3875, -99.1675),
    ],
  },
  {
    id: 2002,
    countryCode: 'MX',
    name: 'Guadalajara',
    latitude: 20.659699,
    longitude: -103.349609,
    timezone: 'America/Mexico_City',
    population: 5.3,
    radiusKm: 8,
    neighbourhoods: [],
  },
  {
    id: 2003,
    countryCode: 'MX',
    name: 'Monterrey',
    latitude: 25.686614,
    longitude: -100.316113,
    timezone: 'America/Monterrey',
    population: 5.3,
    radiusKm: 8,
    neighbourhoods: [],
  },
  {
    id: 2004,
    countryCode: 'MX',
    name: 'Puebla',
    latitude: 19.04144,
    longitude: -98.206273,
    timezone: 'America/Mexico_City',
    population: 3.2,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 2005,
    countryCode: 'MX',
    name: 'Tijuana',
    latitude: 32.514947,
    longitude: -117.038247,
    timezone: 'America/Tijuana',
    population: 2.2,
    radiusKm: 7,
    neighbourhoods: [],
  },
  {
    id: 2006,
    countryCode: 'MX',
    name: 'Mérida',
    latitude: 20.96737,
    longitude: -89.592586,
    timezone: 'America/Merida',
    population: 1.3,
    radiusKm: 5,
    neighbourhoods: [],
  },
  {
    id: 2007,
    countryCode: 'MX',
    name: 'Cancún',
    latitude: 21.161908,
    longitude: -86.851528,
    timezone: 'America/Cancun',
    population: 0.9,
    radiusKm: 5,
    neighbourhoods: [],
  },
  // Colombia
  {
    id: 3001,
    countryCode: 'CO',
    name: 'Bogotá',
    latitude: 4.710989,
    longitude: -74.072092,
    timezone: 'America/Bogota',
    population: 11.0,
    radiusKm: 10,
    neighbourhoods: [
      n('Chapinero', 4.648333, -74.063889),
      n('Usaquén', 4.702778, -74.030556),
      n('Teusaquillo', 4.6375, -74.081944),
      n('Suba', 4.741667, -74.083333),
    ],
  },
  {
    id: 3002,
    countryCode: 'CO',
    name: 'Medellín',
    latitude: 6.244203,
    longitude: -75.581212,
    timezone: 'America/Bogota',
    population: 4.0,
    radiusKm: 7,
    neighbourhoods: [n('El Poblado', 6.208333, -75.566667), n('Laureles', 6.245, -75.596111)],
  },
  {
    id: 3003,
    countryCode: 'CO',
    name: 'Cali',
    latitude: 3.451647,
    longitude: -76.532097,
    timezone: 'America/Bogota',
    population: 2.8,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 3004,
    countryCode: 'CO',
    name: 'Barranquilla',
    latitude: 10.96854,
    longitude: -74.78132,
    timezone: 'America/Bogota',
    population: 2.3,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 3005,
    countryCode: 'CO',
    name: 'Cartagena',
    latitude: 10.391049,
    longitude: -75.479426,
    timezone: 'America/Bogota',
    population: 1.1,
    radiusKm: 5,
    neighbourhoods: [],
  },
  {
    id: 3006,
    countryCode: 'CO',
    name: 'Bucaramanga',
    latitude: 7.119349,
    longitude: -73.122742,
    timezone: 'America/Bogota',
    population: 1.2,
    radiusKm: 5,
    neighbourhoods: [],
  },
  // Peru
  {
    id: 4001,
    countryCode: 'PE',
    name: 'Lima',
    latitude: -12.046374,
    longitude: -77.042793,
    timezone: 'America/Lima',
    population: 11.0,
    radiusKm: 10,
    neighbourhoods: [
      n('Miraflores', -12.121944, -77.029722),
      n('San Isidro', -12.0975, -77.036667),
      n('Barranco', -12.149444, -77.021389),
      n('Surco', -12.145, -76.991667),
    ],
  },
  {
    id: 4002,
    countryCode: 'PE',
    name: 'Arequipa',
    latitude: -16.409047,
    longitude: -71.537451,
    timezone: 'America/Lima',
    population: 1.1,
    radiusKm: 5,
    neighbourhoods: [],
  },
  {
    id: 4003,
    countryCode: 'PE',
    name: 'Trujillo',
    latitude: -8.111763,
    longitude: -79.028687,
    timezone: 'America/Lima',
    population: 1.0,
    radiusKm: 5,
    neighbourhoods: [],
  },
  {
    id: 4004,
    countryCode: 'PE',
    name: 'Cusco',
    latitude: -13.53195,
    longitude: -71.967463,
    timezone: 'America/Lima',
    population: 0.5,
    radiusKm: 4,
    neighbourhoods: [],
  },
  {
    id: 4005,
    countryCode: 'PE',
    name: 'Piura',
    latitude: -5.19449,
    longitude: -80.63282,
    timezone: 'America/Lima',
    population: 0.5,
    radiusKm: 4,
    neighbourhoods: [],
  },
  // Chile
  {
    id: 5001,
    countryCode: 'CL',
    name: 'Santiago',
    latitude: -33.44889,
    longitude: -70.669265,
    timezone: 'America/Santiago',
    population: 7.1,
    radiusKm: 10,
    neighbourhoods: [
      n('Providencia', -33.4314, -70.6093),
      n('Las Condes', -33.4167, -70.5833),
      n('Ñuñoa', -33.4569, -70.5978),
    ],
  },
  {
    id: 5002,
    countryCode: 'CL',
    name: 'Valparaíso',
    latitude: -33.047238,
    longitude: -71.612688,
    timezone: 'America/Santiago',
    population: 1.0,
    radiusKm: 5,
    neighbourhoods: [],
  },
  {
    id: 5003,
    countryCode: 'CL',
    name: 'Viña del Mar',
    latitude: -33.024527,
    longitude: -71.552369,
    timezone: 'America/Santiago',
    population: 0.4,
    radiusKm: 4,
    neighbourhoods: [],
  },
  {
    id: 5004,
    countryCode: 'CL',
    name: 'Concepción',
    latitude: -36.827015,
    longitude: -73.050316,
    timezone: 'America/Santiago',
    population: 1.0,
    radiusKm: 5,
    neighbourhoods: [],
  },
  {
    id: 5005,
    countryCode: 'CL',
    name: 'Antofagasta',
    latitude: -23.65236,
    longitude: -70.3954,
    timezone: 'America/Santiago',
    population: 0.4,
    radiusKm: 4,
    neighbourhoods: [],
  },
  // Argentina
  {
    id: 6001,
    countryCode: 'AR',
    name: 'Buenos Aires',
    latitude: -34.603684,
    longitude: -58.381559,
    timezone: 'America/Argentina/Buenos_Aires',
    population: 15.6,
    radiusKm: 12,
    neighbourhoods: [
      n('Palermo', -34.588056, -58.430556),
      n('Recoleta', -34.5875, -58.3975),
      n('Belgrano', -34.5627, -58.4583),
      n('Caballito', -34.6167, -58.4333),
    ],
  },
  {
    id: 6002,
    countryCode: 'AR',
    name: 'Córdoba',
    latitude: -31.420083,
    longitude: -64.188776,
    timezone: 'America/Argentina/Cordoba',
    population: 1.6,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 6003,
    countryCode: 'AR',
    name: 'Rosario',
    latitude: -32.944243,
    longitude: -60.650539,
    timezone: 'America/Argentina/Cordoba',
    population: 1.4,
    radiusKm: 6,
    neighbourhoods: [],
  },
  {
    id: 6004,
    countryCode: 'AR',
    name: 'Mendoza',
    latitude: -32.889459,
    longitude: -68.845839,
    timezone: 'America/Argentina/Mendoza',
    population: 1.1,
    radiusKm: 5,
    neighbourhoods: [],
  },
  {
    id: 6005,
    countryCode: 'AR',
    name: 'La Plata',
    latitude: -34.92145,
    longitude: -57.95453,
    timezone: 'America/Argentina/Buenos_Aires',
    population: 0.9,
    radiusKm: 5,
    neighbourhoods: [],
  },
];

export function countryOf(code: string): Country {
  const c = COUNTRIES.find((x) => x.code === code);
  if (!c) throw new PulsoError(`unknown country code ${code}`);
  return c;
}

/** "Pinheiros, São Paulo, Brasil": the query string used for a neighbourhood or a city. */
export function placeQuery(city: City, place?: Place): string {
  const country = countryOf(city.countryCode).name;
  return place ? `${place.name}, ${city.name}, ${country}` : `${city.name}, ${country}`;
}
