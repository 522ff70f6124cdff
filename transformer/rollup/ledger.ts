// The rollup ledger: for every order and order item, the exact state the transformer has asserted (+1)
// into the rollup topics and not yet retracted (−1). It is what the rollup datasources hold for that row,
// so the next change retracts precisely those dimensions and measures, including the ones that are not in
// Debezium's `before` image (store category and city joined at assertion time, the furthest stage reached,
// an item's first-seen minute).
//
// Like the dedupe state it changes only through a batch that the I/O loop commits after its Kafka
// transaction committed, and its records go to the compacted state topic in that same transaction (one
// record per row, a tombstone when the row is retracted for good), so a restart resumes exactly.
import type { StateRecord } from '../dedupe.ts';
import { MemoryStateTable, type StateTable } from '../state/stateTable.ts';
import { PulsoError } from '../../lib/errors.ts';

export type LedgerTable = 'orders' | 'order_items' | 'stock_levels';

const LEDGER_PREFIX = 'rollup|';

/** The state asserted for one order (docs/contracts.md, "order_deltas"). */
export interface AssertedOrder {
  readonly version: number;
  readonly createdAt: string;
  readonly status: string;
  readonly paymentStatus: string | null;
  readonly paymentMethod: string | null;
  readonly currency: string;
  readonly storeId: string;
  readonly storeName: string | null;
  readonly storeCategory: string | null;
  readonly city: string | null;
  readonly country: string | null;
  readonly latitude: number | null;
  readonly longitude: number | null;
  /** 1 placed … 5 delivered; the furthest delivery stage any version of the order reached (0 unknown). */
  readonly furthestStage: number;
  readonly totalCents: number;
  readonly subtotalCents: number;
  readonly deliveryFeeCents: number;
  readonly discountCents: number;
  readonly taxCents: number;
  readonly items: number;
  /**
   * The total in USD cents at the business date's rate; null: the date had no rate (counted as missing one);
   * absent: asserted before the pipeline reported in USD, so nothing in USD was asserted for it.
   */
  readonly totalUsdCents?: number | null;
  /**
   * orders.cancel_reason (sql/007_inventory.sql): 'out_of_stock' makes the order a lost sale; absent: asserted
   * before the pipeline knew the column, so no lost-sale measure was asserted for it.
   */
  readonly cancelReason?: string | null;
  /** The customer (risk datasources group by it); absent: asserted before the pipeline kept it. */
  readonly customerId?: string | null;
  /** The customer had signed up less than a day before the order (risk/riskFlags.ts). */
  readonly newAccount?: boolean;
  /** A declined card payment under 10 USD (riskFlags.ts); absent: asserted before the measure existed. */
  readonly smallCardDecline?: boolean;
  /** Set while a delivery fact (+1) is asserted for the order: its delivery time and minute bucket. */
  readonly delivery: { readonly deliveredAt: string; readonly minutes: number } | null;
  /** Commit LSN of the streamed change that asserted this state (absent for snapshot rows): a TRUNCATE retracts only what was committed before it. */
  readonly commitLsn?: string;
}

/** The state asserted for one order item. */
export interface AssertedItem {
  /** When the item was first seen (its insert's commit time): the item rollup's timestamp. */
  readonly firstSeen: string;
  readonly orderId: string | null;
  readonly productId: string;
  readonly productName: string;
  readonly quantity: number;
  readonly lineTotalCents: number;
  /** As AssertedOrder.commitLsn. */
  readonly commitLsn?: string;
}

/** What a stock change asserts for a product: its row's values and the names joined to them. */
export interface StockState {
  readonly storeId: string;
  readonly units: number;
  readonly reorderPoint: number;
  readonly targetUnits: number;
  readonly productName: string | null;
  readonly storeName: string | null;
  readonly city: string | null;
  readonly country: string | null;
}

/** The state asserted for one product's stock row (transformer/rollup/stockDeltas.ts). */
export interface AssertedStock extends StockState {
  /** When the row was first seen: every delta of the row is timestamped here, so compaction sums it to one row. */
  readonly anchoredAt: string;
  /** As AssertedOrder.commitLsn. */
  readonly commitLsn?: string;
}

type Entry = AssertedOrder | AssertedItem | AssertedStock;

function ledgerKey(table: LedgerTable, pk: string): string {
  return `${table}|${pk}`;
}

/** A ledger record as written by ledger.stateRecords(); anything else throws, naming what is wrong. */
function parseEntry(id: string, value: string): Entry {
  const v = JSON.parse(value) as Record<string, unknown> | null;
  const ok = id.startsWith('orders|')
    ? v !== null &&
      typeof v === 'object' &&
      typeof v.createdAt === 'string' &&
      typeof v.version === 'number' &&
      typeof v.status === 'string'
    : id.startsWith('order_items|')
      ? v !== null &&
        typeof v === 'object' &&
        typeof v.firstSeen === 'string' &&
        typeof v.productId === 'string' &&
        typeof v.quantity === 'number'
      : id.startsWith('stock_levels|')
        ? v !== null && typeof v === 'object' && typeof v.anchoredAt === 'string' && typeof v.units === 'number'
        : false;
  if (!ok)
    throw new PulsoError(`ledger record ${id.slice(0, 100)} is not an asserted order or item: ${value.slice(0, 200)}`);
  return v as unknown as Entry;
}

/** True for a key of the rollup ledger; throws if its value is not an asserted order or item. */
export function checkLedgerRecord(key: string, value: string | null): boolean {
  if (!key.startsWith(LEDGER_PREFIX)) return false;
  if (value !== null) parseEntry(key.slice(LEDGER_PREFIX.length), value);
  return true;
}

/**
 * The ledger of one state partition (the rows whose changes arrive through one input partition), read through
 * its table: memory in tests, the local LMDB store in the transformer.
 */
export class RollupLedger {
  constructor(private readonly table: StateTable = new MemoryStateTable()) {}

  /** Restores one state-topic record; returns false when the key is not a ledger key (a bad value throws). */
  loadStateRecord(key: string, value: string | null): boolean {
    if (!checkLedgerRecord(key, value)) return false;
    this.table.apply([{ key, value }]);
    return true;
  }

  get(table: LedgerTable, pk: string): Entry | undefined {
    const id = ledgerKey(table, pk);
    const raw = this.table.get(LEDGER_PREFIX + id);
    return raw === undefined ? undefined : parseEntry(id, raw);
  }

  /** Every row asserted for a table (a TRUNCATE retracts them all). */
  *entries(table: LedgerTable): IterableIterator<[string, Entry]> {
    const prefix = `${LEDGER_PREFIX}${table}|`;
    for (const [key, raw] of this.table.scan(prefix))
      yield [key.slice(prefix.length), parseEntry(key.slice(LEDGER_PREFIX.length), raw)];
  }

  /** Counted by scanning: for tests and benchmarks, not the hot path. */
  size(): number {
    let n = 0;
    for (const _ of this.table.scan(LEDGER_PREFIX)) n++;
    return n;
  }

  beginBatch(): LedgerBatch {
    return new LedgerBatch(this);
  }

  /** Applies a batch whose Kafka transaction committed (the transformer writes its records with a checkpoint instead). */
  commit(batch: LedgerBatch): void {
    this.table.apply(batch.stateRecords());
  }
}

export class LedgerBatch {
  /** null = retracted for good (the row was deleted). */
  readonly pending = new Map<string, Entry | null>();
  constructor(private readonly ledger: RollupLedger) {}

  order(pk: string): AssertedOrder | undefined {
    return this.lookup('orders', pk) as AssertedOrder | undefined;
  }

  item(pk: string): AssertedItem | undefined {
    return this.lookup('order_items', pk) as AssertedItem | undefined;
  }

  stock(pk: string): AssertedStock | undefined {
    return this.lookup('stock_levels', pk) as AssertedStock | undefined;
  }

  private lookup(table: LedgerTable, pk: string): Entry | undefined {
    const id = ledgerKey(table, pk);
    if (this.pending.has(id)) return this.pending.get(id) ?? undefined;
    return this.ledger.get(table, pk);
  }

  /** Every row of the table asserted as of this batch: the ledger's, with the batch's own changes applied. */
  asserted(table: LedgerTable): [string, Entry][] {
    const out = new Map<string, Entry>(this.ledger.entries(table));
    const prefix = `${table}|`;
    for (const [id, entry] of this.pending) {
      if (!id.startsWith(prefix)) continue;
      if (entry === null) out.delete(id.slice(prefix.length));
      else out.set(id.slice(prefix.length), entry);
    }
    return [...out];
  }

  setOrder(pk: string, state: AssertedOrder | null): void {
    this.pending.set(ledgerKey('orders', pk), state);
  }

  setItem(pk: string, state: AssertedItem | null): void {
    this.pending.set(ledgerKey('order_items', pk), state);
  }

  setStock(pk: string, state: AssertedStock | null): void {
    this.pending.set(ledgerKey('stock_levels', pk), state);
  }

  /** Records for the compacted state topic, written in the batch's transaction. */
  stateRecords(): (StateRecord | { key: string; value: null })[] {
    const out: (StateRecord | { key: string; value: null })[] = [];
    for (const [id, entry] of this.pending)
      out.push({ key: LEDGER_PREFIX + id, value: entry === null ? null : JSON.stringify(entry) });
    return out;
  }
}
