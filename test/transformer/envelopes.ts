// Hand-written Debezium envelopes shaped as the JsonConverter (schemas disabled) emits them for our
// connector settings (reference §1.2–1.6): decimal strings, ZonedTimestamp strings, sequence as a string.
// Built as JSON TEXT, not objects, so big integers can be written past 2^53 exactly as Kafka carries them.
import { decodeEnvelope } from '../../transformer/decode/decodeEnvelope.ts';
import { DimensionTables } from '../../transformer/dimensions.ts';
export interface EnvelopeParts {
  op: 'c' | 'u' | 'd' | 'r' | 't' | 'm';
  table: string;
  before?: string | null; // raw JSON text of the row
  after?: string | null;
  tsMs?: number;
  txId?: number;
  lsn?: number;
  commitLsn?: number | null;
  snapshot?: string | null;
}

export function envelope(p: EnvelopeParts): string {
  const tsMs = p.tsMs ?? 1764284400123;
  const lsn = p.lsn ?? 24023128;
  const commit = p.commitLsn === undefined ? 24023000 : p.commitLsn;
  const seq = JSON.stringify(JSON.stringify([commit === null ? null : String(commit), String(lsn)]));
  const snapshot = p.snapshot === undefined ? 'null' : JSON.stringify(p.snapshot);
  return (
    `{"before":${p.before ?? 'null'},"after":${p.after ?? 'null'},` +
    `"source":{"version":"3.6.1.Final","connector":"postgresql","name":"pulso","ts_ms":${tsMs},` +
    `"ts_us":${tsMs}000,"ts_ns":${tsMs}000000,"snapshot":${snapshot},"db":"pulso","sequence":${seq},` +
    `"schema":"public","table":"${p.table}","txId":${p.txId ?? 771},"lsn":${lsn},"xmin":null},` +
    `"transaction":null,"op":"${p.op}","ts_ms":${tsMs + 150},"ts_us":${tsMs + 150}000,"ts_ns":${tsMs + 150}000123}`
  );
}

export function orderRow(over: Record<string, string> = {}): string {
  const cols: Record<string, string> = {
    id: '1001',
    customer_id: '501',
    store_id: '42',
    address_id: '9001',
    status: '"placed"',
    payment_method: '"pix"',
    payment_status: '"pending"',
    currency: '"BRL"',
    subtotal: '"100.00"',
    delivery_fee: '"7.90"',
    discount: '"0.00"',
    tax: '"12.50"',
    total: '"120.40"',
    item_count: '3',
    business_date: '20419',
    created_at: '"2025-11-27T22:59:59.987654Z"',
    updated_at: '"2025-11-27T23:00:00.5Z"',
    delivered_at: 'null',
    version: '1',
    notes: 'null',
    ...over,
  };
  return (
    '{' +
    Object.entries(cols)
      .map(([k, v]) => `"${k}":${v}`)
      .join(',') +
    '}'
  );
}

export function itemRow(over: Record<string, string> = {}): string {
  const cols: Record<string, string> = {
    id: '7001',
    order_id: '1001',
    product_id: '3001',
    product_name: '"Pão de queijo"',
    quantity: '2',
    unit_price: '"19.99"',
    line_total: '"39.98"',
    ...over,
  };
  return (
    '{' +
    Object.entries(cols)
      .map(([k, v]) => `"${k}":${v}`)
      .join(',') +
    '}'
  );
}

export const STORE_ROW =
  '{"id":42,"name":"Padaria Central","category":"restaurant","city_id":7,"latitude":"-23.550520","longitude":"-46.633308",' +
  '"description":"Fresh bread","is_active":true,"rating":"4.5","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}';
export const CITY_ROW =
  '{"id":7,"country_code":"BR","name":"São Paulo","latitude":"-23.550520","longitude":"-46.633308","timezone":"America/Sao_Paulo"}';
export const COUNTRY_ROW = '{"code":"BR","name":"Brasil","currency":"BRL","timezone":"America/Sao_Paulo"}';

/** Dimension tables holding the fixture country, city and store (store 42 in city 7, BR). */
/** The BRL rate of orderRow()'s business date (20419 = 2025-11-27): 120.40 BRL → 22.59 USD. */
export const FX_ROW =
  '{"currency":"BRL","rate_date":20419,"usd_per_unit":"0.187654321098","source":"test","created_at":"2025-11-26T00:00:00Z"}';

/** An fx_rates change record, for the dimension tables. */
export function fxRecord(currency: string, rateDate: number, usdPerUnit: string) {
  const row = JSON.stringify({
    currency,
    rate_date: rateDate,
    usd_per_unit: usdPerUnit,
    source: 'test',
    created_at: '2025-11-26T00:00:00Z',
  });
  return decodeEnvelope({
    topic: 'pulso.public.fx_rates',
    key: JSON.stringify({ currency, rate_date: rateDate }),
    value: envelope({ op: 'c', table: 'fx_rates', after: row }),
  });
}

export function loadedDims(): DimensionTables {
  const dims = new DimensionTables();
  dims.apply(
    'countries',
    decodeEnvelope({
      topic: 'pulso.public.countries',
      key: '{"code":"BR"}',
      value: envelope({ op: 'r', table: 'countries', after: COUNTRY_ROW, snapshot: 'true' }),
    }),
  );
  dims.apply(
    'cities',
    decodeEnvelope({
      topic: 'pulso.public.cities',
      key: '{"id":7}',
      value: envelope({ op: 'r', table: 'cities', after: CITY_ROW, snapshot: 'true' }),
    }),
  );
  dims.apply(
    'stores',
    decodeEnvelope({
      topic: 'pulso.public.stores',
      key: '{"id":42}',
      value: envelope({ op: 'c', table: 'stores', after: STORE_ROW }),
    }),
  );
  dims.apply(
    'fx_rates',
    decodeEnvelope({
      topic: 'pulso.public.fx_rates',
      key: '{"currency":"BRL","rate_date":20419}',
      value: envelope({ op: 'c', table: 'fx_rates', after: FX_ROW }),
    }),
  );
  return dims;
}
