// In-memory copies of the small dimension tables (countries, cities, stores, fx_rates, products, customers' sign-up
// instants), maintained from their CDC
// topics. They are rebuilt at start by reading the (compacted) topics from the beginning, and kept current
// in the background. Under REPLICA IDENTITY DEFAULT an update that does not touch a TOASTed column (e.g.
// stores.description) carries the placeholder instead: the stored previous value is kept for it.
import type { DecodedRecord } from './decode/decodeEnvelope.ts';
import { decodeDecimal, type ExactDecimal } from './decode/decodeDecimal.ts';
import { DecodeError } from './decode/errors.ts';
import { decodeId } from './decode/values.ts';
import { decodeZonedTimestamp } from './decode/decodeTemporal.ts';

import { DIMENSION_TABLES, type DimensionTable } from '../lib/names.ts';
export { DIMENSION_TABLES, type DimensionTable };

export type Row = Readonly<Record<string, unknown>>;

export interface StoreInfo {
  readonly storeId: string;
  readonly name: string | null;
  readonly category: string | null;
  readonly cityId: string | null;
  readonly latitude: number | null;
  readonly longitude: number | null;
}
export interface CityInfo {
  readonly cityId: string;
  readonly name: string | null;
  readonly countryCode: string | null;
}

/** Primary key text from a Debezium key object ({"id":…} or {"code":"BR"}); multi-column keys joined by '|'. */
export function keyText(key: Readonly<Record<string, unknown>>): string {
  const parts = Object.values(key).map((v) =>
    typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v),
  );
  return parts.join('|');
}

function coordinate(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  try {
    // numeric(9,6): 6 decimals, ≤ 9 digits, so a double holds it exactly enough for a map.
    return Number(decodeDecimal(v, { scale: 6 }).text);
  } catch {
    return null;
  }
}

function positiveDecimal(v: unknown): ExactDecimal | null {
  try {
    const d = decodeDecimal(v, { scale: 12 });
    return d.unscaled > 0n ? d : null;
  } catch {
    return null;
  }
}

function optionalText(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function optionalId(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  try {
    return decodeId(v, 'id');
  } catch {
    return null;
  }
}

export interface DimensionStats {
  readonly applied: number;
  readonly rows: Record<DimensionTable, number>;
}

export class DimensionTables {
  private readonly tables = new Map<DimensionTable, Map<string, Row>>(DIMENSION_TABLES.map((t) => [t, new Map()]));
  private applied = 0;

  static isDimensionTable(table: string): table is DimensionTable {
    return (DIMENSION_TABLES as readonly string[]).includes(table);
  }

  /**
   * Applies one decoded record of a dimension topic. Returns false for records that carry no row change
   * (heartbeats, logical messages). Throws DecodeError for changes without a usable key.
   */
  apply(table: DimensionTable, record: DecodedRecord): boolean {
    const rows = this.tables.get(table)!;
    switch (record.kind) {
      case 'heartbeat':
      case 'message':
        return false;
      case 'truncate':
        rows.clear();
        break;
      case 'tombstone':
        // Compaction marker that follows a delete: the row is already gone; deleting again is harmless.
        if (record.key) rows.delete(keyText(record.key));
        break;
      case 'change': {
        const image = record.op === 'd' ? record.before : record.after;
        const keyObj = record.key ?? pkFromRow(table, image?.columns);
        if (!keyObj) throw new DecodeError('missing_field', `${table} change without a key`);
        const key = keyText(keyObj);
        if (record.op === 'd') {
          rows.delete(key);
        } else {
          const previous = rows.get(key);
          const merged: Record<string, unknown> = { ...image!.columns };
          for (const col of image!.unavailable) {
            // The placeholder means "unchanged": keep what we had (absent if we never saw it).
            if (previous && col in previous) merged[col] = previous[col];
          }
          rows.set(key, table === 'customers' ? { created_at: merged.created_at } : merged);
        }
        break;
      }
    }
    this.applied++;
    return true;
  }

  row(table: DimensionTable, key: string): Row | undefined {
    return this.tables.get(table)!.get(key);
  }

  /** Decoded store rows, cached per row object: a CDC update replaces the object, which drops its entry. */
  private readonly storeCache = new WeakMap<Row, StoreInfo>();

  store(storeId: string): StoreInfo | undefined {
    const r = this.row('stores', storeId);
    if (!r) return undefined;
    let info = this.storeCache.get(r);
    if (!info) this.storeCache.set(r, (info = this.decodeStore(storeId, r)));
    return info;
  }

  private decodeStore(storeId: string, r: Row): StoreInfo {
    return {
      storeId,
      name: optionalText(r.name),
      category: optionalText(r.category),
      cityId: optionalId(r.city_id),
      latitude: coordinate(r.latitude),
      longitude: coordinate(r.longitude),
    };
  }

  /** Decoded rates, cached per row object as stores are. */
  private readonly rateCache = new WeakMap<Row, ExactDecimal | null>();

  /**
   * USD per unit of `currency` on a date (Debezium's io.debezium.time.Date: days since 1970-01-01), from
   * fx_rates; undefined when there is no rate for that date, or its value is not a positive decimal.
   */
  usdPerUnit(currency: string, dateDays: number): ExactDecimal | undefined {
    const r = this.row('fx_rates', `${currency}|${dateDays}`);
    if (!r) return undefined;
    let rate = this.rateCache.get(r);
    if (rate === undefined) this.rateCache.set(r, (rate = positiveDecimal(r.usd_per_unit)));
    return rate ?? undefined;
  }

  /**
   * When a customer signed up (customers.created_at, ISO-8601 UTC), for the new-account risk signal; undefined when
   * the customer is not known (yet). Only this column of a customer is kept: no personal data in memory.
   */
  customerSince(customerId: string): string | undefined {
    const v = this.row('customers', customerId)?.created_at;
    if (typeof v !== 'string') return undefined;
    try {
      return decodeZonedTimestamp(v).iso;
    } catch {
      return undefined;
    }
  }

  /** A product's name (the stock rollups show it), from the products topic. */
  productName(productId: string): string | null {
    const r = this.row('products', productId);
    return r ? optionalText(r.name) : null;
  }

  city(cityId: string): CityInfo | undefined {
    const r = this.row('cities', cityId);
    if (!r) return undefined;
    return { cityId, name: optionalText(r.name), countryCode: optionalText(r.country_code) };
  }

  stats(): DimensionStats {
    const rows = {} as Record<DimensionTable, number>;
    for (const t of DIMENSION_TABLES) rows[t] = this.tables.get(t)!.size;
    return { applied: this.applied, rows };
  }
}

function pkFromRow(
  table: DimensionTable,
  columns: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> | null {
  if (!columns) return null;
  if (table === 'fx_rates')
    return columns.currency === undefined || columns.rate_date === undefined
      ? null
      : { currency: columns.currency, rate_date: columns.rate_date };
  const pk = table === 'countries' ? 'code' : 'id';
  return columns[pk] === undefined ? null : { [pk]: columns[pk] };
}
