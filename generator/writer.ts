// Writes batches of generated events to PostgreSQL. A "round" is one SQL statement — hence one
// transaction — built from data-modifying CTEs over unnest()ed array parameters: new orders with their
// items, payment and first history row; lifecycle steps (orders + history + payments); dimension
// updates; purges. An order appears at most once per round, so an order, its items and its payment
// commit together and every later status change of that order commits in a transaction of its own
// (other orders' changes may share it). Rounds of one lane run in order on one connection; lanes run
// in parallel on separate connections and never share an order.
import type pg from 'pg';
import type { Logger } from '../lib/log.ts';
import { centsToDecimal } from './money.ts';
import type { GenEvent, LiveOrder } from './eventStream.ts';
import { plainArray, textArray } from './pgArray.ts';
import { PulsoError } from '../lib/errors.ts';

const ROUND_SQL = `
WITH
-- New accounts (riskPatterns.ts) and their address, before the orders that reference them: foreign keys are checked
-- at the end of the statement, so one round may hold an account and its first order.
ins_customers AS (
  INSERT INTO customers (id, full_name, email, phone, city_id, created_at, updated_at)
  SELECT c.id, c.full_name, c.email, c.phone, c.city_id, 'epoch'::timestamptz + c.at_ms * interval '1 millisecond',
         'epoch'::timestamptz + c.at_ms * interval '1 millisecond'
  FROM unnest($44::bigint[], $45::text[], $46::text[], $47::text[], $48::bigint[], $49::bigint[])
    AS c(id, full_name, email, phone, city_id, at_ms)
  RETURNING 1
),
ins_addresses AS (
  INSERT INTO addresses (id, customer_id, city_id, street, latitude, longitude)
  SELECT * FROM unnest($50::bigint[], $44::bigint[], $48::bigint[], $51::text[], $52::numeric[], $53::numeric[])
  RETURNING 1
),
new_orders AS (
  SELECT t.*, 'epoch'::timestamptz + t.created_ms * interval '1 millisecond' AS ts
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::numeric[], $8::numeric[],
              $9::numeric[], $10::numeric[], $11::numeric[], $12::int[], $13::date[], $14::bigint[], $15::text[])
    AS t(id, customer_id, store_id, address_id, payment_method, currency, subtotal, delivery_fee, discount, tax, total,
         item_count, business_date, created_ms, notes)
),
ins_orders AS (
  INSERT INTO orders (id, customer_id, store_id, address_id, status, payment_method, payment_status, currency, subtotal,
                      delivery_fee, discount, tax, total, item_count, business_date, created_at, updated_at, notes)
  SELECT id, customer_id, store_id, address_id, 'placed', payment_method, 'pending', currency, subtotal,
         delivery_fee, discount, tax, total, item_count, business_date, ts, ts, notes
  FROM new_orders
  RETURNING 1
),
ins_items AS (
  INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price, line_total)
  SELECT * FROM unnest($16::bigint[], $17::bigint[], $18::text[], $19::int[], $20::numeric[], $21::numeric[])
  RETURNING 1
),
ins_payments AS (
  INSERT INTO payments (order_id, method, status, amount, currency, created_at, updated_at)
  SELECT id, payment_method, 'pending', total, currency, ts, ts FROM new_orders
  RETURNING 1
),
ins_placed AS (
  INSERT INTO order_status_history (order_id, from_status, to_status, changed_at)
  SELECT id, NULL, 'placed', ts FROM new_orders
  RETURNING 1
),
changes AS (
  SELECT c.*, 'epoch'::timestamptz + c.at_ms * interval '1 millisecond' AS ts
  FROM unnest($22::bigint[], $23::order_status[], $24::order_status[], $25::payment_status[], $26::boolean[], $27::bigint[],
              $40::text[])
    AS c(order_id, from_status, to_status, payment_status, payment_changed, at_ms, cancel_reason)
),
upd_orders AS (
  UPDATE orders o
  SET status = c.to_status, payment_status = c.payment_status, updated_at = c.ts,
      cancel_reason = CASE WHEN c.cancel_reason IS NOT NULL THEN c.cancel_reason ELSE o.cancel_reason END,
      delivered_at = CASE WHEN c.to_status = 'delivered' AND c.from_status <> 'delivered' THEN c.ts ELSE o.delivered_at END
  FROM changes c
  WHERE o.id = c.order_id
  RETURNING o.id
),
-- Only for orders that still exist: a TRUNCATE or a DELETE by someone else ends a lifecycle quietly.
ins_history AS (
  INSERT INTO order_status_history (order_id, from_status, to_status, changed_at)
  SELECT order_id, from_status, to_status, ts FROM changes WHERE from_status <> to_status AND order_id IN (SELECT id FROM upd_orders)
  RETURNING 1
),
upd_payments AS (
  UPDATE payments p SET status = c.payment_status, updated_at = c.ts
  FROM changes c
  WHERE c.payment_changed AND p.order_id = c.order_id
  RETURNING 1
),
upd_customers AS (
  UPDATE customers t SET email = u.email, phone = u.phone, updated_at = 'epoch'::timestamptz + u.at_ms * interval '1 millisecond'
  FROM unnest($28::bigint[], $29::text[], $30::text[], $31::bigint[]) AS u(id, email, phone, at_ms)
  WHERE t.id = u.id
  RETURNING 1
),
upd_stores AS (
  -- description is left alone on purpose: see sql/002_cdc.sql (TOAST and REPLICA IDENTITY DEFAULT).
  UPDATE stores t SET rating = u.rating, is_active = u.is_active, updated_at = 'epoch'::timestamptz + u.at_ms * interval '1 millisecond'
  FROM unnest($32::bigint[], $33::numeric[], $34::boolean[], $35::bigint[]) AS u(id, rating, is_active, at_ms)
  WHERE t.id = u.id
  RETURNING 1
),
upd_products AS (
  UPDATE products t SET price = u.price, updated_at = 'epoch'::timestamptz + u.at_ms * interval '1 millisecond'
  FROM unnest($36::bigint[], $37::numeric[], $38::bigint[]) AS u(id, price, at_ms)
  WHERE t.id = u.id
  RETURNING 1
),
-- Stock moves (generator/inventory.ts) as increments, one per product per round: a round's reservations,
-- returns and restocks of one product add up, and UPDATE … FROM would apply only one of several matching rows.
-- A store's orders and restocks all go through one lane (laneOf), so two lanes never lock the same stock row.
stock_moves AS (
  SELECT m.product_id, sum(m.delta)::int AS delta, max(m.at_ms) AS at_ms
  FROM unnest($41::bigint[], $42::int[], $43::bigint[]) AS m(product_id, delta, at_ms)
  GROUP BY m.product_id
  HAVING sum(m.delta) <> 0
),
upd_stock AS (
  UPDATE stock_levels s SET units = s.units + m.delta, updated_at = 'epoch'::timestamptz + m.at_ms * interval '1 millisecond'
  FROM stock_moves m
  WHERE s.product_id = m.product_id
  RETURNING 1
),
purged AS (SELECT unnest($39::bigint[]) AS id),
del_history AS (DELETE FROM order_status_history t USING purged d WHERE t.order_id = d.id RETURNING 1),
del_items AS (DELETE FROM order_items t USING purged d WHERE t.order_id = d.id RETURNING 1),
del_payments AS (DELETE FROM payments t USING purged d WHERE t.order_id = d.id RETURNING 1),
del_orders AS (DELETE FROM orders t USING purged d WHERE t.id = d.id RETURNING 1)
SELECT
  (SELECT count(*) FROM ins_orders)::int AS orders_inserted,
  (SELECT count(*) FROM ins_customers)::int + (SELECT count(*) FROM ins_addresses)::int
    + (SELECT count(*) FROM ins_items)::int + (SELECT count(*) FROM ins_payments)::int + (SELECT count(*) FROM ins_placed)::int
    + (SELECT count(*) FROM ins_history)::int AS other_inserted,
  (SELECT count(*) FROM upd_orders)::int AS orders_updated,
  (SELECT count(*) FROM upd_payments)::int + (SELECT count(*) FROM upd_customers)::int + (SELECT count(*) FROM upd_stores)::int
    + (SELECT count(*) FROM upd_products)::int + (SELECT count(*) FROM upd_stock)::int AS other_updated,
  (SELECT count(*) FROM del_history)::int + (SELECT count(*) FROM del_items)::int + (SELECT count(*) FROM del_payments)::int
    + (SELECT count(*) FROM del_orders)::int AS deleted
`;

/**
 * The round is one prepared statement whose shape never changes; only its arrays' lengths do. Left to itself
 * PostgreSQL re-plans it at every execution (a custom plan knows each array's length and looks cheaper than
 * the generic one). With the generic plan, planned once per connection, PostgreSQL used 49 % of a core instead
 * of 58 % and 65 % in two A/B runs of bench:throughput at 150 orders/s (docs/benchmarks.md). Its joins are index
 * lookups by primary key whatever the arrays' lengths.
 */
export const WRITER_SESSION = { plan_cache_mode: 'force_generic_plan' } as const;

export interface RoundCounts {
  inserted: number;
  updated: number;
  deleted: number;
  /** Status changes of orders that are gone: deleted or truncated by someone else; their lifecycles end. */
  vanished: number;
}

export class WriterError extends PulsoError {}

/** Column buffers for one round. */
export class Round {
  readonly orders: LiveOrder[] = [];
  readonly steps: Extract<GenEvent, { kind: 'step' }>[] = [];
  readonly customers: Extract<GenEvent, { kind: 'customer_update' }>[] = [];
  readonly stores: Extract<GenEvent, { kind: 'store_update' }>[] = [];
  readonly prices: Extract<GenEvent, { kind: 'price_update' }>[] = [];
  readonly purges: LiveOrder[] = [];
  readonly restocks: Extract<GenEvent, { kind: 'restock' }>[] = [];
  readonly signUps: Extract<GenEvent, { kind: 'customer_create' }>[] = [];
  size = 0;

  add(ev: GenEvent): void {
    this.size++;
    switch (ev.kind) {
      case 'create':
        this.orders.push(ev.order);
        break;
      case 'step':
        this.steps.push(ev);
        break;
      case 'customer_update':
        this.customers.push(ev);
        break;
      case 'store_update':
        this.stores.push(ev);
        break;
      case 'price_update':
        this.prices.push(ev);
        break;
      case 'purge':
        this.purges.push(ev.order);
        break;
      case 'restock':
        this.restocks.push(ev);
        break;
      case 'customer_create':
        this.signUps.push(ev);
        break;
    }
  }
}

/** Ids come from a table's sequence in blocks, so rows can reference each other in the same statement. */
class IdPool {
  private ids: string[] = [];
  private next = 0;
  constructor(
    private readonly client: () => pg.ClientBase,
    private readonly block: number,
    private readonly table: 'orders' | 'customers' | 'addresses' = 'orders',
  ) {}
  async take(n: number): Promise<string[]> {
    if (n === 0) return [];
    if (this.ids.length - this.next < n) {
      const res = await this.client().query<{ id: string }>(
        `SELECT nextval(pg_get_serial_sequence($2, 'id'))::text AS id FROM generate_series(1, $1)`,
        [Math.max(this.block, n), this.table],
      );
      this.ids = [...this.ids.slice(this.next), ...res.rows.map((r) => r.id)];
      this.next = 0;
    }
    const out = this.ids.slice(this.next, this.next + n);
    this.next += n;
    return out;
  }
}

function must(id: string | undefined, order: LiveOrder): string {
  if (id === undefined) throw new WriterError(`order #${order.seq} has no database id yet (written out of order)`);
  return id;
}

/**
 * The connection went away (server restart, crash, network), as opposed to a statement the server refused.
 * After one of these a round may or may not have committed, and the lane must look before writing it again.
 */
export function isConnectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(57P0[123]|08\d{3}|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT)$/.test(code))
    return true;
  const msg = err instanceof Error ? err.message : '';
  return /Connection terminated|connection error|not queryable|Client was closed/i.test(msg);
}

/** Milliseconds since the epoch of a timestamptz column, exactly (the generator writes whole milliseconds). */
const MS = (col: string) => `(extract(epoch FROM ${col}) * 1000)::bigint::text`;

/**
 * Whether a round whose COMMIT was not acknowledged is in the database. A round is one transaction, so one of
 * its rows answers for all of them: a new order's row exists, or a status change's order has that status at
 * that instant, or a purged order is gone, or an updated row carries that update's instant.
 */
export async function roundCommitted(client: pg.ClientBase, round: Round): Promise<boolean> {
  const one = async (sql: string, values: unknown[]) =>
    (await client.query<{ ok: boolean }>(sql, values)).rows[0]?.ok === true;
  const signUp = round.signUps[0];
  if (signUp) return one('SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1) AS ok', [signUp.customer.dbId]);
  const order = round.orders[0];
  if (order) return one('SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1) AS ok', [order.dbId]);
  const step = round.steps[0];
  if (step)
    return one(`SELECT (status::text = $2 AND ${MS('updated_at')} = $3) AS ok FROM orders WHERE id = $1`, [
      step.order.dbId,
      step.to.status,
      String(step.atMs),
    ]);
  const purge = round.purges[0];
  if (purge) return one('SELECT NOT EXISTS (SELECT 1 FROM orders WHERE id = $1) AS ok', [purge.dbId]);
  const c = round.customers[0];
  if (c)
    return one(`SELECT ${MS('updated_at')} = $2 AS ok FROM customers WHERE id = $1`, [c.customer.dbId, String(c.atMs)]);
  const st = round.stores[0];
  if (st)
    return one(`SELECT ${MS('updated_at')} = $2 AS ok FROM stores WHERE id = $1`, [st.store.dbId, String(st.atMs)]);
  const rs = round.restocks[0];
  if (rs)
    return one(`SELECT ${MS('updated_at')} >= $2 AS ok FROM stock_levels WHERE product_id = $1`, [
      rs.stock[0]!.product.dbId,
      String(rs.atMs),
    ]);
  const pr = round.prices[0];
  if (pr)
    return one(`SELECT ${MS('updated_at')} = $2 AS ok FROM products WHERE id = $1`, [pr.product.dbId, String(pr.atMs)]);
  return true; // an empty round writes nothing
}

/** What a committed round wrote, counted from the round itself (when its own reply was lost). */
function expectedCounts(round: Round): RoundCounts {
  const items = round.orders.reduce((n, o) => n + o.lines.length, 0);
  const history = round.steps.filter((x) => x.from.status !== x.to.status).length;
  const payments = round.steps.filter((x) => x.from.paymentStatus !== x.to.paymentStatus).length;
  return {
    inserted: round.orders.length * 3 + items + history + round.signUps.length * 2,
    updated: round.steps.length + payments + round.customers.length + round.stores.length + round.prices.length,
    deleted: round.purges.length, // at least the orders; their rows' count went with the lost reply
    vanished: 0,
  };
}

export interface ReconnectingLane {
  /** A new connection, retried with back-off until the server is back (or it gives up, throwing). */
  readonly reconnect: () => Promise<pg.Client>;
  readonly log?: Logger;
  /** Called after each reconnection, with how long the lane was cut off. */
  readonly onReconnect?: (outageMs: number, roundCommitted: boolean) => void;
}

export class LaneWriter {
  private readonly ids: IdPool;
  transactions = 0;

  constructor(
    public client: pg.Client,
    private readonly resilience?: ReconnectingLane,
  ) {
    this.ids = new IdPool(() => this.client, 2000);
    this.customerIds = new IdPool(() => this.client, 1, 'customers');
    this.addressIds = new IdPool(() => this.client, 1, 'addresses');
  }

  private readonly customerIds: IdPool;
  private readonly addressIds: IdPool;

  /** New accounts get their ids once (a round written again reuses them), before the orders that use them. */
  private async signUpIds(round: Round): Promise<void> {
    for (const s of round.signUps) {
      if (s.customer.dbId) continue;
      s.customer.dbId = (await this.customerIds.take(1))[0]!;
      s.customer.addressIds.push((await this.addressIds.take(1))[0]!);
    }
  }

  /**
   * Writes one round. If the connection is lost, reconnects and looks whether the round committed: if it
   * did, it is not written again (no duplicate); if not, it is written again in full (never half).
   */
  async apply(round: Round): Promise<RoundCounts> {
    for (;;) {
      try {
        return await this.applyOnce(round);
      } catch (err) {
        if (!this.resilience || !isConnectionLost(err)) throw err;
        const lostAt = Date.now();
        this.resilience.log?.warn('lost the PostgreSQL connection; reconnecting', {
          error: (err as Error).message,
          code: (err as { code?: string }).code,
        });
        await this.client.end().catch(() => undefined);
        this.client = await this.resilience.reconnect();
        const committed = await roundCommitted(this.client, round);
        const outageMs = Date.now() - lostAt;
        this.resilience.onReconnect?.(outageMs, committed);
        this.resilience.log?.warn(
          committed
            ? 'reconnected: the round in flight had committed, so it is not written again'
            : 'reconnected: the round in flight had not committed; writing it again',
          { outageMs, orders: round.orders.length, steps: round.steps.length },
        );
        if (committed) {
          this.transactions++;
          return expectedCounts(round);
        }
      }
    }
  }

  private async applyOnce(round: Round): Promise<RoundCounts> {
    // Ids are taken once: a round written again after a lost connection reuses them.
    await this.signUpIds(round);
    const fresh = round.orders.filter((o) => o.dbId === undefined);
    const newIds = await this.ids.take(fresh.length);
    fresh.forEach((o, i) => (o.dbId = newIds[i]));
    const ids = round.orders.map((o) => o.dbId!);
    const o = round.orders;
    const items = o.flatMap((order) => order.lines.map((line) => ({ order, line })));
    const s = round.steps;
    const values = [
      plainArray(ids),
      plainArray(o.map((x) => x.customer.dbId)),
      plainArray(o.map((x) => x.store.dbId)),
      plainArray(o.map((x) => x.addressId || firstAddress(x))),
      plainArray(o.map((x) => x.payment.method)),
      plainArray(o.map((x) => x.currency)),
      plainArray(o.map((x) => centsToDecimal(x.totals.subtotalCents))),
      plainArray(o.map((x) => centsToDecimal(x.totals.deliveryFeeCents))),
      plainArray(o.map((x) => centsToDecimal(x.totals.discountCents))),
      plainArray(o.map((x) => centsToDecimal(x.totals.taxCents))),
      plainArray(o.map((x) => centsToDecimal(x.totals.totalCents))),
      plainArray(o.map((x) => x.totals.itemCount)),
      plainArray(o.map((x) => x.businessDate)),
      plainArray(o.map((x) => x.createdAtMs)),
      textArray(o.map((x) => x.notes)),
      // items
      plainArray(items.map((x) => x.order.dbId!)),
      plainArray(items.map((x) => x.line.product.dbId)),
      textArray(items.map((x) => x.line.productName)),
      plainArray(items.map((x) => x.line.quantity)),
      plainArray(items.map((x) => centsToDecimal(x.line.unitPriceCents))),
      plainArray(items.map((x) => centsToDecimal(x.line.lineTotalCents))),
      // lifecycle steps
      plainArray(s.map((x) => must(x.order.dbId, x.order))),
      plainArray(s.map((x) => x.from.status)),
      plainArray(s.map((x) => x.to.status)),
      plainArray(s.map((x) => x.to.paymentStatus)),
      plainArray(s.map((x) => x.from.paymentStatus !== x.to.paymentStatus)),
      plainArray(s.map((x) => x.atMs)),
      // customers
      plainArray(round.customers.map((x) => x.customer.dbId)),
      textArray(round.customers.map((x) => x.email)),
      textArray(round.customers.map((x) => x.phone)),
      plainArray(round.customers.map((x) => x.atMs)),
      // stores
      plainArray(round.stores.map((x) => x.store.dbId)),
      plainArray(round.stores.map((x) => x.rating.toFixed(1))),
      plainArray(round.stores.map((x) => x.isActive)),
      plainArray(round.stores.map((x) => x.atMs)),
      // products
      plainArray(round.prices.map((x) => x.product.dbId)),
      plainArray(round.prices.map((x) => centsToDecimal(x.priceCents))),
      plainArray(round.prices.map((x) => x.atMs)),
      // purges
      plainArray(round.purges.map((x) => must(x.dbId, x))),
      textArray(s.map((x) => x.cancelReason)),
      ...stockArrays(round),
      ...signUpArrays(round),
    ];
    const res = await this.client.query<{
      orders_inserted: number;
      other_inserted: number;
      orders_updated: number;
      other_updated: number;
      deleted: number;
    }>({ name: 'pulso_generator_round', text: ROUND_SQL, values });
    this.transactions++;
    const r = res.rows[0]!;
    return {
      inserted: r.orders_inserted + r.other_inserted,
      updated: r.orders_updated + r.other_updated,
      deleted: r.deleted,
      vanished: s.length - r.orders_updated,
    };
  }
}

/** Key that serialises events touching the same row(s): the order, customer, store or product. */
export function eventKey(ev: GenEvent): object {
  switch (ev.kind) {
    case 'create':
    case 'step':
    case 'purge':
      return ev.order;
    case 'customer_update':
      return ev.customer;
    case 'store_update':
    case 'restock':
      return ev.store;
    case 'customer_create':
      return ev.customer;
    case 'price_update':
      return ev.product;
  }
}

/** An injected order's address: its new account's, written in this round or an earlier one. */
function firstAddress(order: LiveOrder): string {
  const id = order.customer.addressIds[0];
  if (id === undefined) throw new WriterError(`order #${order.seq} belongs to an account that is not written yet`);
  return id;
}

/** New accounts and their addresses ($44–$53 in ROUND_SQL). */
function signUpArrays(round: Round): string[] {
  const u = round.signUps;
  return [
    plainArray(u.map((x) => x.customer.dbId)),
    textArray(u.map((x) => x.fullName)),
    textArray(u.map((x) => x.email)),
    textArray(u.map((x) => x.customer.phone)),
    plainArray(u.map((x) => x.cityId)),
    plainArray(u.map((x) => x.atMs)),
    plainArray(u.map((x) => x.customer.addressIds[0]!)),
    textArray(u.map((x) => x.street)),
    plainArray(u.map((x) => x.latitude.toFixed(6))),
    plainArray(u.map((x) => x.longitude.toFixed(6))),
  ];
}

/** The round's stock moves as three columns: product, delta, instant (stock_moves in ROUND_SQL). */
function stockArrays(round: Round): string[] {
  const moves = [
    ...round.steps.flatMap((x) => x.stock.map((m) => ({ m, atMs: x.atMs }))),
    ...round.restocks.flatMap((x) => x.stock.map((m) => ({ m, atMs: x.atMs }))),
  ];
  return [
    plainArray(moves.map((x) => x.m.product.dbId)),
    plainArray(moves.map((x) => x.m.delta)),
    plainArray(moves.map((x) => x.atMs)),
  ];
}

/**
 * Which lane (connection) an event goes to: stable per row, so a row's changes stay in order. An order goes with
 * its store, because its steps move the store's stock: one lane per store means two lanes never wait on (or
 * deadlock over) the same stock row.
 */
export function laneOf(ev: GenEvent, lanes: number): number {
  switch (ev.kind) {
    case 'create':
    case 'step':
    case 'purge':
      return ev.order.store.index % lanes;
    case 'restock':
    case 'customer_create':
      return ev.store.index % lanes;
    case 'customer_update':
      return ev.customer.index % lanes;
    case 'store_update':
      return ev.store.index % lanes;
    case 'price_update':
      return ev.store.index % lanes;
  }
}

/**
 * Splits one lane's events into rounds: an event goes to the first round after the last round that
 * touched its key and that still has room, so per-key order is kept and no round holds a key twice.
 */
export function planRounds(events: readonly GenEvent[], maxPerRound: number): Round[] {
  const rounds: Round[] = [];
  const lastRound = new Map<object, number>();
  let firstWithRoom = 0;
  for (const ev of events) {
    const key = eventKey(ev);
    let r = Math.max((lastRound.get(key) ?? -1) + 1, firstWithRoom);
    while (rounds[r] && rounds[r]!.size >= maxPerRound) r++;
    if (!rounds[r]) rounds[r] = new Round();
    rounds[r]!.add(ev);
    lastRound.set(key, r);
    while (rounds[firstWithRoom] && rounds[firstWithRoom]!.size >= maxPerRound) firstWithRoom++;
  }
  return rounds;
}
