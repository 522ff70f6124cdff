// The marketplace's population: stores with their catalogues, customers with their addresses.
// Built deterministically from the seed (faker with es / es_MX / pt_BR, our own Rng for numbers), or
// loaded from a database that already has one. Ids are PostgreSQL bigints kept as decimal strings.
import { Faker, base, en, es, es_MX, pt_BR } from '@faker-js/faker';
import { CITIES, countryOf, placeQuery, type City, type CountryCode } from './geo/gazetteer.ts';
import type { PulsoGeocoder } from './geo/geocoder.ts';
import {
  CATEGORY_PROFILES,
  MARKETS,
  STORE_CATEGORIES,
  drawProductPriceUsdCents,
  localShelfPrice,
  productName,
  storeName,
  type StoreCategory,
} from './catalog.ts';
import { AliasTable, Rng, clamp } from './random.ts';
import type { Cents } from './money.ts';
import { PulsoError } from '../lib/errors.ts';

/** A product's stock (stock_levels, sql/007_inventory.sql), as the generator's model keeps it in step. */
export interface StockModel {
  units: number;
  readonly reorderPoint: number;
  readonly targetUnits: number;
}

export interface ProductModel {
  dbId: string;
  readonly name: string;
  priceCents: Cents;
  /** Null: the product has no stock row, so it never runs out (a product someone added by hand, say). */
  readonly stock: StockModel | null;
}

export interface StoreModel {
  dbId: string;
  readonly index: number;
  readonly cityIndex: number;
  readonly category: StoreCategory;
  readonly products: ProductModel[];
  /** Product choice inside the store: a few best-sellers dominate. */
  readonly productPicker: AliasTable<ProductModel>;
  isActive: boolean;
  rating: number; // one decimal, 0–5
}

export interface CustomerModel {
  dbId: string;
  readonly index: number;
  readonly cityIndex: number;
  readonly addressIds: string[];
  email: string;
  phone: string;
  readonly lang: 'es' | 'pt';
}

export interface CityModel {
  readonly city: City;
  readonly stores: StoreModel[];
  readonly customers: CustomerModel[];
  storePicker?: AliasTable<StoreModel>;
  customerPicker?: AliasTable<CustomerModel>;
}

export interface World {
  readonly cities: CityModel[];
  readonly stores: StoreModel[];
  readonly customers: CustomerModel[];
  readonly products: ProductModel[];
}

export interface WorldScale {
  /** Stores across all cities (default 1,200). */
  readonly stores: number;
  /** Customers across all cities (default 20,000). */
  readonly customers: number;
}
export const DEFAULT_SCALE: WorldScale = { stores: 1200, customers: 20_000 };

// --- rows to insert (what the database gets on first run) -------------------------------------------

export interface NewStoreRow {
  readonly name: string;
  readonly category: StoreCategory;
  readonly cityId: number;
  readonly latitude: string;
  readonly longitude: string;
  readonly description: string | null;
  readonly rating: string;
  readonly createdAtMs: number;
}
export interface NewProductRow {
  readonly storeIndex: number;
  readonly name: string;
  readonly category: StoreCategory;
  readonly priceCents: Cents;
}
export interface NewCustomerRow {
  readonly fullName: string;
  readonly email: string;
  readonly phone: string;
  readonly cityId: number;
  readonly createdAtMs: number;
}
export interface NewAddressRow {
  readonly customerIndex: number;
  readonly cityId: number;
  readonly street: string;
  readonly latitude: string;
  readonly longitude: string;
}

export interface WorldSeed {
  readonly stores: NewStoreRow[];
  readonly products: NewProductRow[];
  readonly customers: NewCustomerRow[];
  readonly addresses: NewAddressRow[];
}

/** Geocoded anchor points per city: the city centre and its neighbourhoods. */
export type Anchors = Map<number, { latitude: number; longitude: number }[]>;

export async function geocodeAnchors(geocoder: PulsoGeocoder, cities: readonly City[] = CITIES): Promise<Anchors> {
  const anchors: Anchors = new Map();
  for (const city of cities) {
    const points: { latitude: number; longitude: number }[] = [];
    for (const place of [undefined, ...city.neighbourhoods]) {
      // A place the provider does not know falls back to the gazetteer's own coordinates.
      const p = await geocoder.geocode(placeQuery(city, place));
      points.push(p ?? { latitude: (place ?? city).latitude, longitude: (place ?? city).longitude });
    }
    anchors.set(city.id, points);
  }
  return anchors;
}

function fakerFor(country: CountryCode, seed: number): Faker {
  const locale = country === 'BR' ? [pt_BR, en, base] : country === 'MX' ? [es_MX, es, en, base] : [es, en, base];
  const f = new Faker({ locale });
  f.seed(seed);
  return f;
}

/** A point within about `radiusKm` of one of the anchors (denser near the anchor, like a real city). */
function scatter(
  rng: Rng,
  anchors: readonly { latitude: number; longitude: number }[],
  radiusKm: number,
): [string, string] {
  const a = rng.pick(anchors);
  const r = Math.abs(rng.normal(0, radiusKm / 2.5));
  const theta = rng.uniform(0, 2 * Math.PI);
  const dLat = (r * Math.cos(theta)) / 111.32;
  const dLon = (r * Math.sin(theta)) / (111.32 * Math.cos((a.latitude * Math.PI) / 180));
  return [clamp(a.latitude + dLat, -90, 90).toFixed(6), clamp(a.longitude + dLon, -180, 180).toFixed(6)];
}

/** Splits `total` across cities in proportion to population (every city gets at least `min`). */
function apportion(total: number, min: number): number[] {
  const pop = CITIES.reduce((s, c) => s + c.population, 0);
  return CITIES.map((c) => Math.max(min, Math.round((total * c.population) / pop)));
}

const phoneFormat: Record<CountryCode, (rng: Rng) => string> = {
  BR: (r) => `+55 11 9${r.int(1000, 9999)}-${r.int(1000, 9999)}`,
  MX: (r) => `+52 55 ${r.int(1000, 9999)} ${r.int(1000, 9999)}`,
  CO: (r) => `+57 3${r.int(0, 2)}${r.int(0, 9)} ${r.int(100, 999)} ${r.int(1000, 9999)}`,
  PE: (r) => `+51 9${r.int(10, 99)} ${r.int(100, 999)} ${r.int(100, 999)}`,
  CL: (r) => `+56 9 ${r.int(1000, 9999)} ${r.int(1000, 9999)}`,
  AR: (r) => `+54 9 11 ${r.int(1000, 9999)}-${r.int(1000, 9999)}`,
};
export function drawPhone(rng: Rng, country: CountryCode): string {
  return phoneFormat[country](rng);
}

const EMAIL_DOMAINS = ['gmail.com', 'hotmail.com', 'outlook.com', 'yahoo.com', 'icloud.com'];
function emailFor(fullName: string, rng: Rng): string {
  const local = fullName
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/[^a-z]+/g, '.')
    .replace(/^\.|\.$/g, '');
  return `${local}${rng.int(1, 999)}@${rng.pick(EMAIL_DOMAINS)}`;
}

/** The rows of a new world. Pure given (seed, scale, anchors, startMs). */
export function buildWorldSeed(seed: string, scale: WorldScale, anchors: Anchors, startMs: number): WorldSeed {
  const rng = Rng.derive(seed, 'world');
  const fakers = new Map<CountryCode, Faker>();
  const faker = (c: CountryCode) => {
    let f = fakers.get(c);
    if (!f) fakers.set(c, (f = fakerFor(c, rng.nextUint32())));
    return f;
  };
  const categoryPicker = new AliasTable(
    STORE_CATEGORIES,
    STORE_CATEGORIES.map((c) => CATEGORY_PROFILES[c].storeShare),
  );
  const stores: NewStoreRow[] = [];
  const products: NewProductRow[] = [];
  const storesPerCity = apportion(scale.stores, 3);
  CITIES.forEach((city, ci) => {
    const f = faker(city.countryCode);
    const market = MARKETS[city.countryCode];
    for (let i = 0; i < storesPerCity[ci]!; i++) {
      const category = categoryPicker.sample(rng);
      const [latitude, longitude] = scatter(rng, anchors.get(city.id) ?? [city], city.radiusKm);
      const storeIndex = stores.length;
      const [minP, maxP] = CATEGORY_PROFILES[category].catalogSize;
      const names = new Set<string>();
      const count = rng.int(minP, maxP);
      for (let p = 0; p < count * 3 && names.size < count; p++) names.add(productName(rng, category, city.countryCode));
      const storeProducts = [...names].map((name) => ({
        storeIndex,
        name,
        category,
        priceCents: localShelfPrice(drawProductPriceUsdCents(rng, category), market),
      }));
      products.push(...storeProducts);
      // About a fifth of stores publish a long menu/description (several kB): it is stored out of line
      // (TOAST), which exercises Debezium's unavailable-value placeholder on store updates.
      const description = rng.chance(0.2)
        ? storeProducts
            .map((p) => `${p.name} — ${f.lorem.sentence({ min: 8, max: 16 })}`)
            .join('\n')
            .padEnd(3000, ` ${f.lorem.paragraph()}`)
            .repeat(2)
        : f.lorem.sentence({ min: 6, max: 14 });
      stores.push({
        name: storeName(rng, category, city.countryCode, f.person.lastName()),
        category,
        cityId: city.id,
        latitude,
        longitude,
        description,
        rating: clamp(rng.normal(4.4, 0.35), 2.5, 5).toFixed(1),
        createdAtMs: startMs - rng.int(30, 900) * 86_400_000,
      });
    }
  });
  const customers: NewCustomerRow[] = [];
  const addresses: NewAddressRow[] = [];
  const customersPerCity = apportion(scale.customers, 20);
  CITIES.forEach((city, ci) => {
    const f = faker(city.countryCode);
    for (let i = 0; i < customersPerCity[ci]!; i++) {
      const fullName = f.person.fullName();
      const customerIndex = customers.length;
      customers.push({
        fullName,
        email: emailFor(fullName, rng),
        phone: drawPhone(rng, city.countryCode),
        cityId: city.id,
        createdAtMs: startMs - rng.int(1, 1500) * 86_400_000,
      });
      const nAddresses = rng.chance(0.25) ? 2 : 1; // home, and for some a work address
      for (let a = 0; a < nAddresses; a++) {
        const [latitude, longitude] = scatter(rng, anchors.get(city.id) ?? [city], city.radiusKm);
        addresses.push({ customerIndex, cityId: city.id, street: f.location.streetAddress(), latitude, longitude });
      }
    }
  });
  return { stores, products, customers, addresses };
}

// --- the in-memory model the event stream draws from ------------------------------------------------

export interface LoadedStore {
  id: string;
  cityId: number;
  category: StoreCategory;
  isActive: boolean;
  rating: number;
}
export interface LoadedProduct {
  id: string;
  storeId: string;
  name: string;
  priceCents: Cents;
  stock?: StockModel | null;
}
export interface LoadedCustomer {
  id: string;
  cityId: number;
  email: string;
  phone: string;
}
export interface LoadedAddress {
  id: string;
  customerId: string;
}

/**
 * The model from database rows (sorted by id, so it does not depend on the order rows come back in).
 * Popularity weights are drawn from the seed: a few stores and customers account for much of the demand.
 */
type WorldRows = {
  stores: LoadedStore[];
  products: LoadedProduct[];
  customers: LoadedCustomer[];
  addresses: LoadedAddress[];
};

const byId = (a: { id: string }, b: { id: string }) =>
  BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0;

/** Rows in id order, grouped by `key` and mapped: the same order whatever order the database returned. */
function groupSorted<R extends { id: string }, T>(rows: readonly R[], key: (r: R) => string, map: (r: R) => T) {
  const out = new Map<string, T[]>();
  for (const r of [...rows].sort(byId)) {
    let list = out.get(key(r));
    if (!list) out.set(key(r), (list = []));
    list.push(map(r));
  }
  return out;
}

/** Stores with products in a simulated city, each with a product picker weighted by a seeded popularity. */
function storeModels(
  rows: WorldRows,
  productsByStore: ReadonlyMap<string, ProductModel[]>,
  cities: CityModel[],
  rng: Rng,
): StoreModel[] {
  const cityIndex = new Map(CITIES.map((c, i) => [c.id, i]));
  const stores: StoreModel[] = [];
  for (const s of [...rows.stores].sort(byId)) {
    const ci = cityIndex.get(s.cityId);
    const storeProducts = productsByStore.get(s.id);
    if (ci === undefined || !storeProducts?.length) continue; // a city we do not simulate, or an empty store
    const weights = storeProducts.map(() => rng.lognormal(1, 0.9));
    const store: StoreModel = {
      dbId: s.id,
      index: stores.length,
      cityIndex: ci,
      category: s.category,
      products: storeProducts,
      productPicker: new AliasTable(storeProducts, weights),
      isActive: s.isActive,
      rating: s.rating,
    };
    stores.push(store);
    cities[ci]!.stores.push(store);
  }
  return stores;
}

/** Customers in a simulated city with at least one address. */
function customerModels(rows: WorldRows, cities: CityModel[]): CustomerModel[] {
  const cityIndex = new Map(CITIES.map((c, i) => [c.id, i]));
  const addressesByCustomer = groupSorted(
    rows.addresses,
    (a) => a.customerId,
    (a) => a.id,
  );
  const customers: CustomerModel[] = [];
  for (const c of [...rows.customers].sort(byId)) {
    const ci = cityIndex.get(c.cityId);
    const addressIds = addressesByCustomer.get(c.id);
    if (ci === undefined || !addressIds?.length) continue;
    const customer: CustomerModel = {
      dbId: c.id,
      index: customers.length,
      cityIndex: ci,
      addressIds,
      email: c.email,
      phone: c.phone,
      lang: CITIES[ci]!.countryCode === 'BR' ? 'pt' : 'es',
    };
    customers.push(customer);
    cities[ci]!.customers.push(customer);
  }
  return customers;
}

export function buildWorldModel(seed: string, rows: WorldRows): World {
  // One popularity stream, drawn in a fixed order (stores' products, then each city's stores and customers),
  // so a seed and a database give the same world every time.
  const rng = Rng.derive(seed, 'popularity');
  const cities: CityModel[] = CITIES.map((city) => ({ city, stores: [], customers: [] }));
  // Every product in id order; each store lists the same objects, in the same order.
  const sortedProducts = [...rows.products].sort(byId);
  const products = sortedProducts.map((p): ProductModel => ({
    dbId: p.id,
    name: p.name,
    priceCents: p.priceCents,
    stock: p.stock ? { ...p.stock } : null,
  }));
  const productsByStore = new Map<string, ProductModel[]>();
  sortedProducts.forEach((p, i) => {
    const list = productsByStore.get(p.storeId) ?? [];
    if (!list.length) productsByStore.set(p.storeId, list);
    list.push(products[i]!);
  });
  const stores = storeModels(rows, productsByStore, cities, rng);
  const customers = customerModels(rows, cities);
  for (const cm of cities) {
    if (cm.stores.length)
      cm.storePicker = new AliasTable(
        cm.stores,
        cm.stores.map(() => rng.lognormal(1, 1)),
      );
    if (cm.customers.length)
      cm.customerPicker = new AliasTable(
        cm.customers,
        cm.customers.map(() => rng.lognormal(1, 1.2)),
      );
  }
  if (!stores.length || !customers.length) {
    throw new PulsoError(
      `the database has ${stores.length} store(s) with products in a simulated city and ${customers.length} customer(s) with an address there ` +
        `(of ${rows.stores.length} stores and ${rows.customers.length} customers in all), so there is nothing to simulate. ` +
        'The generator creates its marketplace only when none is usable: run it once against this database, or `npm run down -- --reset` for a fresh one.',
    );
  }
  return { cities, stores, customers, products };
}

export function countryOfCity(world: World, cityIndex: number): CountryCode {
  return world.cities[cityIndex]!.city.countryCode;
}
export { countryOf };
