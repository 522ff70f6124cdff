// Makes sure the database has a marketplace to simulate: when it has none the generator can use (an empty
// database, or one holding only a user's own rows: the README walkthrough's store without products, a
// customer without an address), builds the world from the seed (stores, products, customers, addresses —
// geocoded anchors) and inserts it in one transaction, beside whatever is there; then loads it into memory.
// A database that already has a usable world keeps it, so repeated runs add orders to the same marketplace.
// Rows inserted by hand with explicit ids are stepped over: the identity sequences are moved past them.
import type pg from 'pg';
import type { Logger } from '../lib/log.ts';
import { CITIES } from './geo/gazetteer.ts';
import type { PulsoGeocoder } from './geo/geocoder.ts';
import { centsToDecimal, decimalToCents } from './money.ts';
import { plainArray, textArray } from './pgArray.ts';
import { buildWorldModel, buildWorldSeed, geocodeAnchors, type World, type WorldScale } from './world.ts';
import type { StoreCategory } from './catalog.ts';
import { PulsoError } from '../lib/errors.ts';

type WorldSeed = ReturnType<typeof buildWorldSeed>;

// Serialises world creation between generators started at the same time on an empty database.
const WORLD_LOCK_KEY = 0x70756c736f01;

async function allocateIds(client: pg.ClientBase, table: string, n: number): Promise<string[]> {
  if (n === 0) return [];
  const res = await client.query<{ id: string }>(
    `SELECT nextval(pg_get_serial_sequence($1, 'id'))::text AS id FROM generate_series(1, $2)`,
    [table, n],
  );
  return res.rows.map((r) => r.id);
}

const ts = (ms: number) => new Date(ms).toISOString();
const CHUNK = 5000;

async function insertChunked(
  client: pg.ClientBase,
  n: number,
  insert: (from: number, to: number) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < n; i += CHUNK) await insert(i, Math.min(n, i + CHUNK));
}

/** The seed's stores, with ids from the identity sequence. */
async function insertStores(client: pg.ClientBase, seed: WorldSeed): Promise<string[]> {
  const storeIds = await allocateIds(client, 'stores', seed.stores.length);
  await insertChunked(client, seed.stores.length, (a, b) => {
    const s = seed.stores.slice(a, b);
    return client.query(
      `INSERT INTO stores (id, name, category, city_id, latitude, longitude, description, rating, is_active, created_at, updated_at)
               SELECT id, name, category, city_id, lat, lon, description, rating, true, created_at, created_at
               FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::numeric[], $6::numeric[], $7::text[], $8::numeric[], $9::timestamptz[])
                 AS t(id, name, category, city_id, lat, lon, description, rating, created_at)`,
      [
        plainArray(storeIds.slice(a, b)),
        textArray(s.map((x) => x.name)),
        plainArray(s.map((x) => x.category)),
        plainArray(s.map((x) => x.cityId)),
        plainArray(s.map((x) => x.latitude)),
        plainArray(s.map((x) => x.longitude)),
        textArray(s.map((x) => x.description)),
        plainArray(s.map((x) => x.rating)),
        textArray(s.map((x) => ts(x.createdAtMs))),
      ],
    );
  });
  return storeIds;
}

/** The seed's products, priced as of the run's start. */
async function insertProducts(
  client: pg.ClientBase,
  seed: WorldSeed,
  storeIds: string[],
  startMs: number,
): Promise<void> {
  const productIds = await allocateIds(client, 'products', seed.products.length);
  await insertChunked(client, seed.products.length, (a, b) => {
    const p = seed.products.slice(a, b);
    return client.query(
      `INSERT INTO products (id, store_id, name, category, price, updated_at)
       SELECT id, store_id, name, category, price, $6::timestamptz FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::numeric[])
         AS t(id, store_id, name, category, price)`,
      [
        plainArray(productIds.slice(a, b)),
        plainArray(p.map((x) => storeIds[x.storeIndex]!)),
        textArray(p.map((x) => x.name)),
        plainArray(p.map((x) => x.category)),
        plainArray(p.map((x) => centsToDecimal(x.priceCents))),
        ts(startMs),
      ],
    );
  });
}

/** The seed's customers, with ids from the identity sequence. */
async function insertCustomers(client: pg.ClientBase, seed: WorldSeed): Promise<string[]> {
  const customerIds = await allocateIds(client, 'customers', seed.customers.length);
  await insertChunked(client, seed.customers.length, (a, b) => {
    const c = seed.customers.slice(a, b);
    return client.query(
      `INSERT INTO customers (id, full_name, email, phone, city_id, created_at, updated_at)
               SELECT id, full_name, email, phone, city_id, created_at, created_at
               FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[]) AS t(id, full_name, email, phone, city_id, created_at)`,
      [
        plainArray(customerIds.slice(a, b)),
        textArray(c.map((x) => x.fullName)),
        textArray(c.map((x) => x.email)),
        textArray(c.map((x) => x.phone)),
        plainArray(c.map((x) => x.cityId)),
        textArray(c.map((x) => ts(x.createdAtMs))),
      ],
    );
  });
  return customerIds;
}

/** Each customer's addresses (geocoded around the city anchors). */
async function insertAddresses(client: pg.ClientBase, seed: WorldSeed, customerIds: string[]): Promise<void> {
  await insertChunked(client, seed.addresses.length, (a, b) => {
    const ad = seed.addresses.slice(a, b);
    return client.query(
      `INSERT INTO addresses (customer_id, city_id, street, latitude, longitude)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::numeric[], $5::numeric[])`,
      [
        plainArray(ad.map((x) => customerIds[x.customerIndex]!)),
        plainArray(ad.map((x) => x.cityId)),
        textArray(ad.map((x) => x.street)),
        plainArray(ad.map((x) => x.latitude)),
        plainArray(ad.map((x) => x.longitude)),
      ],
    );
  });
}

/** Builds the marketplace from the seed and inserts it in one transaction, beside whatever is there. */
async function createWorld(
  client: pg.ClientBase,
  opts: { seed: string; scale: WorldScale; geocoder: PulsoGeocoder; startMs: number; log: Logger },
): Promise<void> {
  const cityIds = await client.query<{ id: string }>('SELECT id FROM cities WHERE id = ANY($1::bigint[])', [
    CITIES.map((c) => c.id),
  ]);
  if (cityIds.rowCount !== CITIES.length) throw new PulsoError('reference cities are missing: run `npm run migrate`');
  const { stores, customers } = opts.scale;
  opts.log.info('creating the marketplace', { seed: opts.seed, stores, customers, geocoder: opts.geocoder.provider });
  const anchors = await geocodeAnchors(opts.geocoder);
  const seed = buildWorldSeed(opts.seed, opts.scale, anchors, opts.startMs);
  await client.query('BEGIN');
  try {
    const storeIds = await insertStores(client, seed);
    await insertProducts(client, seed, storeIds, opts.startMs);
    const customerIds = await insertCustomers(client, seed);
    await insertAddresses(client, seed, customerIds);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  opts.log.info('marketplace created', {
    stores: seed.stores.length,
    products: seed.products.length,
    customers: seed.customers.length,
    addresses: seed.addresses.length,
  });
}

export async function ensureWorld(
  client: pg.ClientBase,
  opts: { seed: string; scale: WorldScale; geocoder: PulsoGeocoder; startMs: number; log: Logger },
): Promise<{ world: World; created: boolean }> {
  let created = false;
  await client.query('SELECT pg_advisory_lock($1)', [WORLD_LOCK_KEY]);
  try {
    await client.query('SELECT pulso_align_sequences()');
    const usable = await hasUsableWorld(client);
    if (!usable.ok) {
      if (usable.found)
        opts.log.info(
          'the database holds rows the generator cannot simulate with alone; adding its marketplace beside them',
          usable.found,
        );
      await createWorld(client, opts);
      created = true;
    }
    // Every product has its stock row (sql/007_inventory.sql), whoever added the product.
    await client.query('SELECT pulso_stock_for_new_products()');
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [WORLD_LOCK_KEY]);
  }
  return { world: await loadWorld(client, opts.seed), created };
}

/**
 * Whether the database already holds a world the generator can simulate: a store in a simulated city with
 * products, and a customer there with an address. `found` counts what is there otherwise (for the log).
 */
async function hasUsableWorld(client: pg.ClientBase): Promise<{ ok: boolean; found?: Record<string, number> }> {
  const cities = CITIES.map((c) => c.id);
  const { rows } = await client.query<{
    stores: string;
    usable_stores: boolean;
    customers: string;
    usable_customers: boolean;
  }>(
    `SELECT (SELECT count(*) FROM stores) AS stores,
            EXISTS (SELECT 1 FROM stores s WHERE s.city_id = ANY($1::bigint[]) AND EXISTS (SELECT 1 FROM products p WHERE p.store_id = s.id)) AS usable_stores,
            (SELECT count(*) FROM customers) AS customers,
            EXISTS (SELECT 1 FROM customers c WHERE c.city_id = ANY($1::bigint[]) AND EXISTS (SELECT 1 FROM addresses a WHERE a.customer_id = c.id)) AS usable_customers`,
    [cities],
  );
  const r = rows[0]!;
  if (r.usable_stores && r.usable_customers) return { ok: true };
  const found = { stores: Number(r.stores), customers: Number(r.customers) };
  return { ok: false, found: found.stores + found.customers > 0 ? found : undefined };
}

export async function loadWorld(client: pg.ClientBase, seed: string): Promise<World> {
  // One connection runs one query at a time: read the tables one after the other.
  const stores = await client.query<{
    id: string;
    city_id: string;
    category: StoreCategory;
    is_active: boolean;
    rating: string | null;
  }>('SELECT id, city_id, category, is_active, rating FROM stores');
  const products = await client.query<{
    id: string;
    store_id: string;
    name: string;
    price: string;
    units: number | null;
    reorder_point: number | null;
    target_units: number | null;
  }>(
    `SELECT p.id, p.store_id, p.name, p.price, s.units, s.reorder_point, s.target_units
     FROM products p LEFT JOIN stock_levels s ON s.product_id = p.id`,
  );
  const customers = await client.query<{ id: string; city_id: string; email: string; phone: string | null }>(
    'SELECT id, city_id, email, phone FROM customers',
  );
  const addresses = await client.query<{ id: string; customer_id: string }>('SELECT id, customer_id FROM addresses');
  return buildWorldModel(seed, {
    stores: stores.rows.map((s) => ({
      id: s.id,
      cityId: Number(s.city_id),
      category: s.category,
      isActive: s.is_active,
      rating: s.rating === null ? 4.5 : Number(s.rating),
    })),
    products: products.rows.map((p) => ({
      id: p.id,
      storeId: p.store_id,
      name: p.name,
      priceCents: decimalToCents(p.price),
      stock: p.units === null ? null : { units: p.units, reorderPoint: p.reorder_point!, targetUnits: p.target_units! },
    })),
    customers: customers.rows.map((c) => ({
      id: c.id,
      cityId: Number(c.city_id),
      email: c.email,
      phone: c.phone ?? '',
    })),
    addresses: addresses.rows.map((a) => ({ id: a.id, customerId: a.customer_id })),
  });
}
