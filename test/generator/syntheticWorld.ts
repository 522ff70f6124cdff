// A small synthetic marketplace for the generator's pure tests (no database).
import { CITIES } from '../../generator/geo/gazetteer.ts';
import { STORE_CATEGORIES } from '../../generator/catalog.ts';
import { Rng } from '../../generator/random.ts';
import {
  buildWorldModel,
  type LoadedAddress,
  type LoadedCustomer,
  type LoadedProduct,
  type LoadedStore,
  type World,
} from '../../generator/world.ts';

/** A small marketplace: a few stores and customers in every city, ids as a database would give. */
export function syntheticWorld(seed: string, stock?: (rng: Rng) => LoadedProduct['stock']): World {
  const rng = new Rng(`world-${seed}`);
  const stores: LoadedStore[] = [],
    products: LoadedProduct[] = [],
    customers: LoadedCustomer[] = [],
    addresses: LoadedAddress[] = [];
  let id = 2n ** 53n + 1000n; // beyond 2^53: ids must stay exact strings
  const next = () => String(id++);
  for (const city of CITIES) {
    for (let s = 0; s < 4; s++) {
      const storeId = next();
      stores.push({
        id: storeId,
        cityId: city.id,
        category: STORE_CATEGORIES[s % STORE_CATEGORIES.length]!,
        isActive: true,
        rating: 4.5,
      });
      for (let p = 0; p < 12; p++)
        products.push({
          id: next(),
          storeId,
          name: `Producto ${p}`,
          priceCents: rng.int(5, 300) * 100,
          stock: stock?.(rng),
        });
    }
    for (let c = 0; c < 10; c++) {
      const customerId = next();
      customers.push({ id: customerId, cityId: city.id, email: `c${c}@example.com`, phone: '+55 11 90000-0000' });
      addresses.push({ id: next(), customerId });
    }
  }
  return buildWorldModel(seed, { stores, products, customers, addresses });
}
