// A large synthetic history for bench:dashboards, built without PostgreSQL, Debezium or Kafka: the
// generator's pure event stream → change records shaped like the decoded Debezium envelopes → the
// transformer's pure mapping (toOrderEvent, toOrderItemEvent, the rollup deltas) → rows for Druid.
//
// The rollup cubes are pre-aggregated here by (minute, the cube's dimensions) exactly as Druid's rollup
// plus a full compaction would leave them, zero-sum rows included (a retracted state leaves a row whose
// sums are 0; Druid keeps it too). Delivery facts stay raw: their quantiles sketch is Druid's to build.
import type { ChangeRecord, RowImage } from '../../transformer/decode/decodeEnvelope.ts';
import { decodeEnvelope } from '../../transformer/decode/decodeEnvelope.ts';
import { addDays, RATED_CURRENCIES, usdPerUnitOn } from '../../generator/fxRates.ts';
import { DimensionTables } from '../../transformer/dimensions.ts';
import type { OrderEvent, OrderItemEvent } from '../../transformer/events.ts';
import { itemRollupChange } from '../../transformer/rollup/itemDeltas.ts';
import type { AssertedItem, AssertedOrder, AssertedStock } from '../../transformer/rollup/ledger.ts';
import { stockRollupChange, type StockState } from '../../transformer/rollup/stockDeltas.ts';
import { orderRollupChange } from '../../transformer/rollup/orderDeltas.ts';
import { toOrderEvent } from '../../transformer/toOrderEvent.ts';
import { toOrderItemEvent } from '../../transformer/toOrderItemEvent.ts';
import { COUNTRIES, CITIES } from '../../generator/geo/gazetteer.ts';
import { createGeocoder } from '../../generator/geo/geocoder.ts';
import { centsToDecimal } from '../../generator/money.ts';
import { EventStream, type GenEvent, type LiveOrder } from '../../generator/eventStream.ts';
import {
  buildWorldModel,
  buildWorldSeed,
  DEFAULT_SCALE,
  geocodeAnchors,
  type ProductModel,
  type World,
} from '../../generator/world.ts';
import type { KafkaSupervisorSpec } from '../../druid-specs/renderSpec.ts';
import { PulsoError } from '../../lib/errors.ts';

/** Characters of an ISO timestamp that name its bucket, per query granularity. */
const BUCKET_CHARS: Readonly<Record<string, number>> = { minute: 16, hour: 13, day: 10 };

/**
 * Aggregates rows into one cube of a rollup supervisor spec: key = time bucket (the spec's query granularity) +
 * dimension values. Sums, maxima and lasts (a row's value replaces the last one: rows come in time order).
 */
export class CubeAccumulator {
  private readonly groups = new Map<string, { minute: number; dims: unknown[]; sums: number[] }>();
  private readonly dims: string[];
  private readonly metrics: { name: string; field: string; kind: 'sum' | 'max' | 'last' }[];
  private readonly timeField: string;
  private readonly bucketChars: number;
  rowsIn = 0;
  constructor(readonly spec: KafkaSupervisorSpec) {
    const ds = spec.spec.dataSchema;
    this.timeField = ds.timestampSpec.column;
    this.dims = ds.dimensionsSpec.dimensions.map((d) => d.name);
    const chars = BUCKET_CHARS[ds.granularitySpec.queryGranularity];
    if (chars === undefined)
      throw new PulsoError(`${ds.dataSource}: query granularity ${ds.granularitySpec.queryGranularity}`);
    this.bucketChars = chars;
    this.metrics = (ds.metricsSpec ?? []).map((m) => {
      const kind = ({ longSum: 'sum', longMax: 'max', longLast: 'last' } as const)[m.type as 'longSum'];
      if (!kind) throw new PulsoError(`${ds.dataSource}: ${m.type} cannot be pre-aggregated`);
      return { name: m.name, field: m.fieldName, kind };
    });
  }
  add(row: Readonly<Record<string, unknown>>): void {
    this.rowsIn++;
    // ISO timestamps: the bucket is a prefix of the text, no date parsing per row.
    const ts = row[this.timeField] as string;
    let key = ts.slice(0, this.bucketChars);
    for (const d of this.dims) key += `\u0001${String(row[d] ?? '\u0000')}`;
    let g = this.groups.get(key);
    if (!g) {
      const dims = this.dims.map((d) => row[d] ?? null);
      const bucket = Date.parse(`${key.slice(0, this.bucketChars)}${'0000-01-01T00:00'.slice(this.bucketChars)}:00Z`);
      g = {
        minute: Math.floor(bucket / 60_000),
        dims,
        sums: this.metrics.map((m) => (m.kind === 'max' ? -Infinity : 0)),
      };
      this.groups.set(key, g);
    }
    const sums = g.sums;
    for (let i = 0; i < this.metrics.length; i++) {
      const m = this.metrics[i]!;
      const v = row[m.field];
      if (typeof v !== 'number') continue;
      sums[i] = m.kind === 'max' ? Math.max(sums[i]!, v) : m.kind === 'last' ? v : sums[i]! + v;
    }
  }
  /** Removes and returns the rows of minutes before `beforeMinute` (all when omitted), as Druid input rows. */
  drain(beforeMinute = Infinity): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const [key, g] of this.groups) {
      if (g.minute >= beforeMinute) continue;
      const row: Record<string, unknown> = { [this.timeField]: new Date(g.minute * 60_000).toISOString() };
      this.dims.forEach((d, i) => (row[d] = g.dims[i]));
      this.metrics.forEach((m, i) => (row[m.field] = Number.isFinite(g.sums[i]) ? g.sums[i] : null));
      out.push(row);
      this.groups.delete(key);
    }
    return out;
  }
}

export interface HistorySink {
  /** A clean order / item event (only called when events are wanted). */
  orderEvent?(e: OrderEvent): void;
  itemEvent?(e: OrderItemEvent): void;
  orderDelta(row: Readonly<Record<string, unknown>>): void;
  itemDelta(row: Readonly<Record<string, unknown>>): void;
  delivery(row: Readonly<Record<string, unknown>>): void;
  /** A stock delta (transformer/rollup/stockDeltas.ts): the generator's stock moves as stock_levels changes. */
  stockDelta(row: Readonly<Record<string, unknown>>): void;
  /** The transformer's counters for one minute of production (what transformer_stats would hold). */
  stats(row: Readonly<Record<string, unknown>>): void;
  /** Simulated time has passed `ms`: nothing earlier than ~3 h before it changes any more. Awaited. */
  progress(ms: number, orders: number): Promise<void> | void;
}

/**
 * The bench's world: every part knows every store, product and customer (the dimension tables), and places orders
 * at its own share of the stores (store i belongs to part i mod parts). A store's stock is then moved by one order
 * stream only, as in PostgreSQL; when every part simulated every store, "stock now" summed each product's stock
 * over the parts (twice the units at 2 parts) and a product was low when it was low in any part.
 */
async function benchWorld(
  seed: string,
  startMs: number,
  part: number,
  parts: number,
): Promise<{ world: World; dims: DimensionTables }> {
  const anchors = await geocodeAnchors(createGeocoder({ provider: 'offline' }));
  const s = buildWorldSeed(seed, DEFAULT_SCALE, anchors, startMs);
  const stores = s.stores.map((x, i) => ({
    id: String(i + 1),
    cityId: x.cityId,
    category: x.category,
    isActive: true,
    rating: Number(x.rating),
  }));
  // Stock sized as sql/007_inventory.sql sizes it (pulso_stock_for_new_products), full at the start.
  const products = s.products.map((p, i) => {
    const target = 4 + (((i + 1) * 37) % 20);
    return {
      id: String(i + 1),
      storeId: String(p.storeIndex + 1),
      name: p.name,
      priceCents: p.priceCents,
      stock: { units: target, reorderPoint: Math.floor(target / 4), targetUnits: target },
    };
  });
  const customers = s.customers.map((c, i) => ({
    id: String(i + 1),
    cityId: c.cityId,
    email: c.email,
    phone: c.phone,
  }));
  let addressId = 0;
  const addresses = s.addresses.map((a) => ({ id: String(++addressId), customerId: String(a.customerIndex + 1) }));
  const ownStore = new Set(stores.filter((_, i) => i % parts === part).map((x) => x.id));
  const world = buildWorldModel(seed, {
    stores: stores.filter((x) => ownStore.has(x.id)),
    products: products.filter((p) => ownStore.has(p.storeId)),
    customers,
    addresses,
  });
  return { world, dims: benchDimensions(s, startMs) };
}

/** The dimension tables as the transformer would hold them after the initial snapshot of the whole world. */
function benchDimensions(s: ReturnType<typeof buildWorldSeed>, startMs: number): DimensionTables {
  const dims = new DimensionTables();
  const snap = (table: string, key: string, after: string) =>
    decodeEnvelope({
      topic: `pulso.public.${table}`,
      key,
      value: `{"before":null,"after":${after},"source":{"schema":"public","table":"${table}","ts_ms":${startMs}},"op":"r"}`,
    });
  for (const c of COUNTRIES)
    dims.apply(
      'countries',
      snap(
        'countries',
        `{"code":"${c.code}"}`,
        JSON.stringify({ code: c.code, name: c.name, currency: c.currency, timezone: c.timezone }),
      ),
    );
  for (const c of CITIES)
    dims.apply(
      'cities',
      snap('cities', `{"id":${c.id}}`, JSON.stringify({ id: c.id, country_code: c.countryCode, name: c.name })),
    );
  s.stores.forEach((x, i) =>
    dims.apply(
      'stores',
      snap(
        'stores',
        `{"id":${i + 1}}`,
        JSON.stringify({
          id: i + 1,
          name: x.name,
          category: x.category,
          city_id: x.cityId,
          latitude: x.latitude,
          longitude: x.longitude,
        }),
      ),
    ),
  );
  applyFxRates(dims, startMs, snap);
  s.products.forEach((p, i) =>
    dims.apply('products', snap('products', `{"id":${i + 1}}`, JSON.stringify({ id: i + 1, name: p.name }))),
  );
  s.customers.forEach((c, i) =>
    dims.apply(
      'customers',
      snap('customers', `{"id":${i + 1}}`, JSON.stringify({ id: i + 1, created_at: iso(c.createdAtMs) })),
    ),
  );
  return dims;
}

/** The generator's rates for every currency, from the day before the history starts to a year after it. */
function applyFxRates(
  dims: DimensionTables,
  startMs: number,
  snap: (table: string, key: string, after: string) => ReturnType<typeof decodeEnvelope>,
): void {
  const first = addDays(new Date(startMs).toISOString().slice(0, 10), -1);
  for (let d = 0; d <= 366; d++) {
    const date = addDays(first, d);
    const days = Date.parse(`${date}T00:00:00Z`) / 86_400_000;
    for (const currency of RATED_CURRENCIES)
      dims.apply(
        'fx_rates',
        snap(
          'fx_rates',
          JSON.stringify({ currency, rate_date: days }),
          JSON.stringify({ currency, rate_date: days, usd_per_unit: usdPerUnitOn(currency, date) }),
        ),
      );
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Cancelled orders kept for a purge: more than the event stream's ring of purge candidates (2,000). */
const CANCELLED_KEPT = 4000;
const image = (columns: Record<string, unknown>): RowImage => ({ columns, unavailable: [] });

interface OrderRowState {
  status: string;
  paymentStatus: string;
  cancelReason: string | null;
  version: number;
  deliveredAtMs: number | null;
  updatedAtMs: number;
}

function orderColumns(o: LiveOrder, id: number, s: OrderRowState): Record<string, unknown> {
  const t = o.totals;
  return {
    id,
    customer_id: Number(o.customer.dbId),
    store_id: Number(o.store.dbId),
    address_id: Number(o.addressId),
    status: s.status,
    payment_method: o.payment.method,
    payment_status: s.paymentStatus,
    currency: o.currency,
    subtotal: centsToDecimal(t.subtotalCents),
    delivery_fee: centsToDecimal(t.deliveryFeeCents),
    discount: centsToDecimal(t.discountCents),
    tax: centsToDecimal(t.taxCents),
    total: centsToDecimal(t.totalCents),
    item_count: t.itemCount,
    business_date: Date.parse(`${o.businessDate}T00:00:00Z`) / 86_400_000,
    created_at: iso(o.createdAtMs),
    updated_at: iso(s.updatedAtMs),
    delivered_at: s.deliveredAtMs === null ? null : iso(s.deliveredAtMs),
    version: s.version,
    notes: null,
    cancel_reason: s.cancelReason,
  };
}

function change(
  table: string,
  op: 'c' | 'u' | 'd',
  atMs: number,
  before: RowImage | null,
  after: RowImage | null,
  lsn: number,
): ChangeRecord {
  return {
    kind: 'change',
    op,
    key: null,
    before,
    after,
    isSnapshot: false,
    source: {
      connectorName: 'pulso',
      db: 'pulso',
      schema: 'public',
      table,
      tsMs: atMs,
      txId: String(lsn),
      lsn: String(lsn),
      commitLsn: String(lsn),
      snapshot: null,
    },
  };
}

interface HistoryOptions {
  orders: number;
  startMs: number;
  spanMs: number;
  seed: string;
  sink: HistorySink;
  /** Part `index` of `count` independent streams over the same world and day (one per core); ids never collide. */
  part?: { index: number; count: number };
}

/** The rows of an order line, as order_items holds them. */
function itemColumns(line: LiveOrder['lines'][number], itemId: number, orderId: number) {
  return {
    id: itemId,
    order_id: orderId,
    product_id: Number(line.product.dbId),
    product_name: line.productName,
    quantity: line.quantity,
    unit_price: centsToDecimal(line.unitPriceCents),
    line_total: centsToDecimal(line.lineTotalCents),
  };
}

/** One part's history: generator events in, the transformer's events, deltas, facts and counters out. */
class HistoryBuilder {
  private readonly ids = new Map<LiveOrder, { id: number; row: OrderRowState; itemIds: number[] }>();
  private readonly ledger = new Map<number, AssertedOrder>();
  private readonly itemLedger = new Map<number, AssertedItem>();
  private readonly stats = new Map<
    string,
    { minute: number; table: string; type: string; count: number; latency: number }
  >();
  private readonly stock = new Map<string, AssertedStock>();
  private readonly cancelled: LiveOrder[] = [];
  private newCustomers = 0;
  private nextOrderId: number;
  private nextItemId: number;
  private lsn = 1;
  changes = 0;
  lastMs: number;

  constructor(
    private readonly sink: HistorySink,
    private readonly dims: Awaited<ReturnType<typeof benchWorld>>['dims'],
    private readonly part: number,
    private readonly parts: number,
    startMs: number,
    private readonly storeOfProduct: ReadonlyMap<ProductModel, string>,
  ) {
    // Part i of n numbers its orders and items i+1, i+1+n, i+1+2n, …: disjoint across parts.
    this.nextOrderId = part + 1;
    this.nextItemId = part + 1;
    this.lastMs = startMs;
  }

  private takeOrderId(): number {
    return ((this.nextOrderId += this.parts), this.nextOrderId - this.parts);
  }

  private takeItemId(): number {
    return ((this.nextItemId += this.parts), this.nextItemId - this.parts);
  }

  private count(atMs: number, table: string, type: string): void {
    const minute = Math.floor((atMs + 250) / 60_000);
    const key = `${minute}|${table}|${type}`;
    const s = this.stats.get(key) ?? { minute, table, type, count: 0, latency: 0 };
    s.count++;
    s.latency += 250;
    this.stats.set(key, s);
  }

  /** The per-minute counters of every minute before `beforeMinute` (they can no longer change). */
  flushStats(beforeMinute: number): void {
    for (const [k, s] of this.stats) {
      if (s.minute >= beforeMinute) continue;
      this.sink.stats({
        produced_at: iso(s.minute * 60_000),
        instance: 'bench',
        table: s.table,
        kind: 'event',
        type: s.type,
        count: s.count,
        latency_count: s.count,
        latency_ms_sum: s.latency,
        latency_ms_max: 250,
        max_source_ts_ms: s.minute * 60_000,
        produced_ms: s.minute * 60_000 + 250,
      });
      this.stats.delete(k);
    }
  }

  private emitOrder(c: ChangeRecord, id: number): void {
    this.changes++;
    const event = toOrderEvent(c, this.dims, c.source.tsMs + 250);
    this.sink.orderEvent?.(event);
    this.count(c.source.tsMs, 'orders', event.event_type);
    const delta = orderRollupChange(String(id), event.event_id, this.ledger.get(id), c.op === 'd' ? null : event);
    for (const d of delta.deltas) this.sink.orderDelta(d as unknown as Record<string, unknown>);
    for (const d of delta.deliveries) this.sink.delivery(d as unknown as Record<string, unknown>);
    if (delta.next) this.ledger.set(id, delta.next);
    else this.ledger.delete(id);
  }

  private emitItem(c: ChangeRecord, id: number): void {
    this.changes++;
    const event = toOrderItemEvent(c);
    this.sink.itemEvent?.(event);
    this.count(c.source.tsMs, 'order_items', event.event_type);
    const delta = itemRollupChange(String(id), event.event_id, this.itemLedger.get(id), event);
    for (const d of delta.deltas) this.sink.itemDelta(d as unknown as Record<string, unknown>);
    if (delta.next) this.itemLedger.set(id, delta.next);
    else this.itemLedger.delete(id);
  }

  handle(ev: GenEvent): void {
    this.lastMs = ev.atMs;
    if (ev.kind === 'create') this.created(ev.order, ev.atMs);
    else if (ev.kind === 'step') this.stepped(ev);
    else if (ev.kind === 'purge') this.purged(ev.order, ev.atMs);
    else if (ev.kind === 'customer_create') this.signedUp(ev);
    if (ev.kind === 'step' || ev.kind === 'restock') this.stockMoved(ev.stock, ev.atMs);
  }

  /** Every product's stock as first seen (the initial snapshot of stock_levels). */
  stockSnapshot(products: readonly ProductModel[], atMs: number): void {
    for (const p of products) if (p.stock) this.assertStock(p, p.stock.units, atMs);
  }

  private stockMoved(moves: readonly { product: ProductModel; delta: number }[], atMs: number): void {
    for (const m of moves) this.assertStock(m.product, (this.stock.get(m.product.dbId)?.units ?? 0) + m.delta, atMs);
  }

  private assertStock(p: ProductModel, units: number, atMs: number): void {
    const previous = this.stock.get(p.dbId);
    const storeId = previous?.storeId ?? String(this.storeOfProduct.get(p) ?? '');
    const store = this.dims.store(storeId);
    const city = store?.cityId ? this.dims.city(store.cityId) : undefined;
    const next: StockState = {
      storeId,
      units,
      reorderPoint: p.stock!.reorderPoint,
      targetUnits: p.stock!.targetUnits,
      productName: p.name,
      storeName: store?.name ?? null,
      city: city?.name ?? null,
      country: city?.countryCode ?? null,
    };
    const delta = stockRollupChange(p.dbId, `stock_levels:${p.dbId}:${++this.lsn}`, previous, next, iso(atMs));
    for (const d of delta.deltas) this.sink.stockDelta(d as unknown as Record<string, unknown>);
    if (delta.next) this.stock.set(p.dbId, delta.next);
  }

  /** A new account (riskPatterns.ts): an id past the world's customers, and its sign-up in the dimensions. */
  private signedUp(ev: Extract<GenEvent, { kind: 'customer_create' }>): void {
    const id = 1_000_000 * (this.part + 1) + ++this.newCustomers;
    ev.customer.dbId = String(id);
    ev.customer.addressIds.push('0');
    this.dims.apply(
      'customers',
      decodeEnvelope({
        topic: 'pulso.public.customers',
        key: `{"id":${id}}`,
        value: `{"before":null,"after":{"id":${id},"created_at":"${iso(ev.atMs)}"},"source":{"schema":"public","table":"customers","ts_ms":${ev.atMs}},"op":"c"}`,
      }),
    );
  }

  private created(o: LiveOrder, atMs: number): void {
    const id = this.takeOrderId();
    const row: OrderRowState = {
      status: 'placed',
      paymentStatus: 'pending',
      cancelReason: null,
      version: 1,
      deliveredAtMs: null,
      updatedAtMs: o.createdAtMs,
    };
    const itemIds: number[] = [];
    this.ids.set(o, { id, row, itemIds });
    this.lsn++;
    this.emitOrder(change('orders', 'c', atMs, null, image(orderColumns(o, id, row)), this.lsn), id);
    for (const line of o.lines) {
      const itemId = this.takeItemId();
      itemIds.push(itemId);
      this.emitItem(change('order_items', 'c', atMs, null, image(itemColumns(line, itemId, id)), ++this.lsn), itemId);
    }
  }

  private stepped(ev: Extract<GenEvent, { kind: 'step' }>): void {
    const known = this.ids.get(ev.order);
    if (!known) return;
    const before = image(orderColumns(ev.order, known.id, known.row));
    const delivered = ev.to.status === 'delivered' && known.row.status !== 'delivered';
    known.row = {
      status: ev.to.status,
      paymentStatus: ev.to.paymentStatus,
      cancelReason: ev.cancelReason ?? known.row.cancelReason,
      version: known.row.version + 1,
      deliveredAtMs: delivered ? ev.atMs : known.row.deliveredAtMs,
      updatedAtMs: ev.atMs,
    };
    const after = image(orderColumns(ev.order, known.id, known.row));
    this.emitOrder(change('orders', 'u', ev.atMs, before, after, ++this.lsn), known.id);
    // Settled orders change no more: forget them to bound memory. Purges take cancelled ones, but only from the
    // stream's ring of the last CANCELLED_KEPT (eventStream.ts): older cancelled orders are forgotten too.
    if (ev.order.nextStep < ev.order.plan.length) return;
    if (known.row.status !== 'cancelled') return this.forget(ev.order, known);
    this.cancelled.push(ev.order);
    if (this.cancelled.length > CANCELLED_KEPT) {
      const old = this.cancelled.shift()!;
      const k = this.ids.get(old);
      if (k) this.forget(old, k);
    }
  }

  private forget(order: LiveOrder, known: { id: number; itemIds: number[] }): void {
    this.ids.delete(order);
    this.ledger.delete(known.id);
    for (const i of known.itemIds) this.itemLedger.delete(i);
  }

  private purged(order: LiveOrder, atMs: number): void {
    const known = this.ids.get(order);
    if (!known) return;
    this.ids.delete(order);
    order.lines.forEach((line, i) => {
      const itemId = known.itemIds[i]!;
      this.emitItem(
        change('order_items', 'd', atMs, image(itemColumns(line, itemId, known.id)), null, ++this.lsn),
        itemId,
      );
    });
    const before = image(orderColumns(order, known.id, known.row));
    this.emitOrder(change('orders', 'd', atMs, before, null, ++this.lsn), known.id);
  }
}

/**
 * Streams `orders` orders placed over about `spanMs` from `startMs` (the daily curve shapes the day)
 * through the transformer's pure mapping into the sink. Returns what it produced.
 */
export async function buildHistory(
  opts: HistoryOptions,
): Promise<{ orders: number; injectedOrders: number; changes: number; endMs: number }> {
  const { index: part, count: parts } = opts.part ?? { index: 0, count: 1 };
  // The same customers and dimension tables in every part; each part orders from its own stores.
  const { world, dims } = await benchWorld(opts.seed, opts.startMs, part, parts);
  const streamSeed = parts === 1 ? opts.seed : `${opts.seed}/part-${part + 1}-of-${parts}`;
  const stream = new EventStream(world, {
    seed: streamSeed,
    startMs: opts.startMs,
    ordersPerSimSecond: opts.orders / (opts.spanMs / 1000),
    curve: 'daily',
    maxOrders: opts.orders,
  });
  const storeOfProduct = new Map(world.stores.flatMap((s) => s.products.map((p) => [p, s.dbId] as const)));
  const builder = new HistoryBuilder(opts.sink, dims, part, parts, opts.startMs, storeOfProduct);
  builder.stockSnapshot(world.products, opts.startMs);
  const SLICE_MS = 60_000;
  for (let t = opts.startMs; !stream.exhausted; t += SLICE_MS) {
    for (const ev of stream.take(t)) builder.handle(ev);
    // Lifecycles last under 3 h: rows older than that are final.
    builder.flushStats(Math.floor((t - 3 * 3600_000) / 60_000));
    await opts.sink.progress(t, stream.ordersCreated);
  }
  builder.flushStats(Infinity);
  return {
    orders: stream.ordersCreated,
    injectedOrders: stream.injectedOrders,
    changes: builder.changes,
    endMs: builder.lastMs,
  };
}
