// Signed deltas: every change of an order or item becomes rows whose sums, by any dimension, equal the
// current state, whatever mix of inserts, updates, deletes, snapshots, repeats and restarts came before.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { decodeEnvelope } from '../../transformer/decode/decodeEnvelope.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import type { DeliveryFactRow, OrderDeltaRow } from '../../transformer/rollup/orderDeltas.ts';
import type { ItemDeltaRow } from '../../transformer/rollup/itemDeltas.ts';
import { statsRows } from '../../transformer/statsRows.ts';
import { transformerTopics } from '../../lib/names.ts';
import {
  FORWARDED_TRUNCATE_HEADER,
  transformRecord,
  type InputRecord,
  type Outcome,
} from '../../transformer/transform.ts';
import { envelope, fxRecord, itemRow, loadedDims, orderRow, STORE_ROW } from './envelopes.ts';

const topics = transformerTopics(loadConfig({}).topics);
const NOW = 1764284401000;

function rec(table: 'orders' | 'order_items', id: string, value: string | null, offset = 0): InputRecord {
  return {
    topic: `pulso.public.${table}`,
    partition: 0,
    offset: String(offset),
    key: Buffer.from(`{"id":${id}}`),
    value: value === null ? null : Buffer.from(value),
  };
}

/** A pipeline's state in miniature: dimension tables, dedupe state and rollup ledger, committed per batch. */
class Pipeline {
  /** `inputPartitions`: partitions of the input topics (a TRUNCATE is forwarded to the others). */
  constructor(private readonly inputPartitions?: (topic: string) => number) {}
  readonly dims = loadedDims();
  dedupe = new DedupeState();
  ledger = new RollupLedger();
  readonly stateTopic = new Map<string, string | null>();
  run(records: InputRecord[]): Outcome[] {
    const batch = this.dedupe.beginBatch();
    const ledgerBatch = this.ledger.beginBatch();
    const out = records.map((r) =>
      transformRecord(r, {
        dims: this.dims,
        dedupe: batch,
        ledger: ledgerBatch,
        topics,
        nowMs: NOW,
        inputPartitions: this.inputPartitions,
      }),
    );
    for (const r of [...batch.stateRecords(), ...ledgerBatch.stateRecords()]) this.stateTopic.set(r.key, r.value);
    this.dedupe.commit(batch);
    this.ledger.commit(ledgerBatch);
    return out;
  }
  /** A restart: the state is rebuilt from the compacted state topic only. */
  restart(): void {
    this.dedupe = new DedupeState();
    this.ledger = new RollupLedger();
    for (const [k, v] of this.stateTopic) if (!this.ledger.loadStateRecord(k, v)) this.dedupe.loadStateRecord(k, v);
  }
}

function rows<T>(outcomes: Outcome[], topic: string): T[] {
  return outcomes.flatMap((o) =>
    o.kind === 'event' ? o.rollup.filter((r) => r.topic === topic).map((r) => JSON.parse(r.value) as T) : [],
  );
}
const deltas = (o: Outcome[]) => rows<OrderDeltaRow>(o, topics.orderDeltas);
const deliveries = (o: Outcome[]) => rows<DeliveryFactRow>(o, topics.deliveries);
const itemDeltas = (o: Outcome[]) => rows<ItemDeltaRow>(o, topics.itemDeltas);

/** What Druid's rollup holds after these rows: sums per group, zero groups dropped (HAVING SUM(orders) <> 0). */
function sumBy(
  all: OrderDeltaRow[],
  key: (r: OrderDeltaRow) => string,
): Record<string, { orders: number; total_cents: number }> {
  const out: Record<string, { orders: number; total_cents: number }> = {};
  for (const r of all) {
    const g = (out[key(r)] ??= { orders: 0, total_cents: 0 });
    g.orders += r.orders;
    g.total_cents += r.total_cents;
  }
  for (const k of Object.keys(out)) if (out[k]!.orders === 0 && out[k]!.total_cents === 0) delete out[k];
  return out;
}

let lsn = 1000;
const insert = (id: string, over: Record<string, string> = {}) =>
  rec(
    'orders',
    id,
    envelope({ op: 'c', table: 'orders', after: orderRow({ id, ...over }), lsn: ++lsn, commitLsn: lsn }),
  );
const update = (id: string, before: Record<string, string>, after: Record<string, string>) =>
  rec(
    'orders',
    id,
    envelope({
      op: 'u',
      table: 'orders',
      before: orderRow({ id, ...before }),
      after: orderRow({ id, ...after }),
      lsn: ++lsn,
      commitLsn: lsn,
    }),
  );
const remove = (id: string, before: Record<string, string>) =>
  rec(
    'orders',
    id,
    envelope({ op: 'd', table: 'orders', before: orderRow({ id, ...before }), lsn: ++lsn, commitLsn: lsn }),
  );
const snapshot = (id: string, over: Record<string, string>, kind = 'incremental') =>
  rec(
    'orders',
    id,
    envelope({ op: 'r', table: 'orders', after: orderRow({ id, ...over }), snapshot: kind, commitLsn: null }),
  );

describe('order deltas', () => {
  it('an insert asserts one +1 row with exact cents, joined dimensions and the business time', () => {
    const p = new Pipeline();
    const out = p.run([insert('1001')]);
    const [d, ...rest] = deltas(out);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      created_at: '2025-11-27T22:59:59.987Z',
      sign: 1,
      status: 'placed',
      payment_status: 'pending',
      payment_method: 'pix',
      currency: 'BRL',
      city: 'São Paulo',
      country: 'BR',
      store_category: 'restaurant',
      store_id: '42',
      store_name: 'Padaria Central',
      furthest_stage: 1,
      orders: 1,
      live_orders: 1,
      delivered_orders: 0,
      cancelled_orders: 0,
      total_cents: 12040,
      live_total_cents: 12040,
      revenue_cents: 0,
      subtotal_cents: 10000,
      delivery_fee_cents: 790,
      discount_cents: 0,
      tax_cents: 1250,
      items: 3,
    });
    const o = out[0]!;
    expect(o.kind === 'event' && o.rollup.map((r) => [r.topic, r.key])).toEqual([['order_deltas', '1001']]);
  });

  it('a status change retracts the old state (−1) and asserts the new one (+1); a refund and a total change move cents exactly', () => {
    const p = new Pipeline();
    const out = [
      ...p.run([insert('1001')]),
      ...p.run([update('1001', { version: '1' }, { status: '"accepted"', version: '2' })]),
      ...p.run([
        update(
          '1001',
          { status: '"accepted"', version: '2' },
          { status: '"accepted"', discount: '"0.01"', total: '"120.39"', version: '3' },
        ),
      ]),
    ];
    const all = deltas(out);
    expect(all.map((r) => [r.sign, r.status, r.total_cents])).toEqual([
      [1, 'placed', 12040],
      [-1, 'placed', -12040],
      [1, 'accepted', 12040],
      [-1, 'accepted', -12040],
      [1, 'accepted', 12039],
    ]);
    expect(sumBy(all, (r) => `${r.currency}|${r.status}`)).toEqual({
      'BRL|accepted': { orders: 1, total_cents: 12039 },
    });
  });

  it('an update that moves nothing a panel uses gives no rows', () => {
    const p = new Pipeline();
    p.run([insert('1001')]);
    const out = p.run([
      update('1001', { version: '1' }, { notes: '"ring twice"', updated_at: '"2025-11-27T23:10:00Z"', version: '2' }),
    ]);
    expect(out[0]!.kind).toBe('event');
    expect(deltas(out)).toEqual([]);
    // The ledger follows the version, so the next change is checked against it.
    const next = p.run([
      update('1001', { notes: '"ring twice"', version: '2' }, { status: '"accepted"', version: '3' }),
    ]);
    expect(next[0]!.kind === 'event' && next[0]!.ledgerMismatch).toBe(false);
  });

  it('a delete retracts the asserted state; the order leaves every sum', () => {
    const p = new Pipeline();
    const out = [...p.run([insert('1001'), insert('1002')]), ...p.run([remove('1001', {})])];
    expect(sumBy(deltas(out), (r) => r.currency)).toEqual({ BRL: { orders: 1, total_cents: 12040 } });
    expect(p.ledger.size()).toBe(1);
    expect(p.stateTopic.get('rollup|orders|1001')).toBeNull(); // tombstone: compaction forgets the order
  });

  it('keeps the furthest stage an order reached, also once it is cancelled', () => {
    const p = new Pipeline();
    const out = [
      ...p.run([insert('1001')]),
      ...p.run([update('1001', { version: '1' }, { status: '"preparing"', version: '2' })]),
      ...p.run([update('1001', { status: '"preparing"', version: '2' }, { status: '"cancelled"', version: '3' })]),
    ];
    const last = deltas(out).at(-1)!;
    expect([last.status, last.furthest_stage, last.live_orders, last.cancelled_orders, last.live_total_cents]).toEqual([
      'cancelled',
      3,
      0,
      1,
      0,
    ]);
  });

  it('retracts the dimensions that were asserted, even after the store moved to another category', () => {
    const p = new Pipeline();
    p.run([insert('1001')]);
    p.dims.apply(
      'stores',
      decodeEnvelope({
        topic: 'pulso.public.stores',
        key: '{"id":42}',
        value: envelope({ op: 'u', table: 'stores', after: STORE_ROW.replace('"restaurant"', '"market"') }),
      }),
    );
    const out = p.run([update('1001', { version: '1' }, { status: '"accepted"', version: '2' })]);
    expect(deltas(out).map((r) => [r.sign, r.store_category])).toEqual([
      [-1, 'restaurant'],
      [1, 'market'],
    ]);
  });

  it('an incremental snapshot of an order already asserted adds nothing; an order it has never seen is asserted once', () => {
    const p = new Pipeline();
    p.run([insert('1001'), update('1001', { version: '1' }, { status: '"accepted"', version: '2' })]);
    const out = p.run([
      snapshot('1001', { status: '"accepted"', version: '2' }),
      snapshot('1002', { status: '"delivered"', delivered_at: '"2025-11-27T23:30:00Z"', version: '4' }),
    ]);
    expect(out.map((o) => o.kind)).toEqual(['event', 'event']);
    expect(deltas(out).map((r) => [r.order_id, r.sign, r.status])).toEqual([['1002', 1, 'delivered']]);
    expect(deliveries(out).map((r) => [r.order_id, r.sign, r.delivery_minute])).toEqual([['1002', 1, 30]]);
  });

  it('a snapshot re-run after a crash, with the order changed in between, replaces the first snapshot state exactly', () => {
    const p = new Pipeline();
    const first = p.run([snapshot('1001', { version: '1' }, 'first')]);
    const rerun = p.run([
      snapshot('1001', { version: '1' }, 'first'),
      snapshot('1001', { status: '"accepted"', version: '2' }, 'first'),
    ]);
    expect(rerun.map((o) => (o.kind === 'skip' ? o.reason : o.kind))).toEqual(['snapshot_duplicate', 'event']);
    expect(sumBy(deltas([...first, ...rerun]), (r) => r.status)).toEqual({
      accepted: { orders: 1, total_cents: 12040 },
    });
  });

  it('repeats (Debezium after a crash) and a consumer-group reset replay produce no rows, before and after a restart', () => {
    const p = new Pipeline();
    lsn = 5000;
    const stream = [
      insert('1001'),
      update('1001', { version: '1' }, { status: '"accepted"', version: '2' }),
      insert('1002'),
      remove('1002', {}),
    ];
    const first = p.run(stream);
    expect(deltas(first)).toHaveLength(5);
    expect(deltas(p.run(stream))).toEqual([]);
    p.restart();
    expect(deltas(p.run(stream))).toEqual([]);
    // … and the restored ledger retracts exactly what was asserted before the restart.
    const after = p.run([
      update('1001', { status: '"accepted"', version: '2' }, { status: '"preparing"', version: '3' }),
    ]);
    expect(sumBy([...deltas(first), ...deltas(after)], (r) => r.status)).toEqual({
      preparing: { orders: 1, total_cents: 12040 },
    });
  });

  it('an aborted transaction leaves the ledger untouched', () => {
    const ledger = new RollupLedger();
    const batch = ledger.beginBatch();
    transformRecord(insert('1001'), {
      dims: loadedDims(),
      dedupe: new DedupeState().beginBatch(),
      ledger: batch,
      topics,
      nowMs: NOW,
    });
    expect(batch.stateRecords()).toHaveLength(1);
    expect(ledger.size()).toBe(0);
  });

  it('dead-letters an update without a full before image (REPLICA IDENTITY DEFAULT) and leaves the ledger as it was', () => {
    const p = new Pipeline();
    p.run([insert('1001')]);
    const out = p.run([
      rec(
        'orders',
        '1001',
        envelope({
          op: 'u',
          table: 'orders',
          before: null,
          after: orderRow({ status: '"accepted"', version: '2' }),
          lsn: ++lsn,
          commitLsn: lsn,
        }),
      ),
    ]);
    expect(out[0]).toMatchObject({ kind: 'dlq', reason: 'before_image_incomplete' });
    expect(out[0]!.kind === 'dlq' && out[0]!.error).toMatch(
      /orders update of id 1001 has no full before image \(missing: status, .*ALTER TABLE public\.orders REPLICA IDENTITY FULL/,
    );
    // The DLQ'd change is healed by an incremental snapshot of the row: −placed +accepted, one order.
    const healed = p.run([snapshot('1001', { status: '"accepted"', version: '2' })]);
    expect(deltas(healed).map((r) => [r.sign, r.status])).toEqual([
      [-1, 'placed'],
      [1, 'accepted'],
    ]);
  });

  it('flags a before image that disagrees with the ledger (a missed change) and retracts what the ledger asserted', () => {
    const p = new Pipeline();
    p.run([insert('1001')]);
    const out = p.run([
      update('1001', { status: '"accepted"', version: '2' }, { status: '"preparing"', version: '3' }),
    ]);
    expect(out[0]!.kind === 'event' && out[0]!.ledgerMismatch).toBe(true);
    expect(deltas(out).map((r) => [r.sign, r.status])).toEqual([
      [-1, 'placed'],
      [1, 'preparing'],
    ]);
  });

  it('random lifecycles, edits, deletes, snapshots and repeats: the sums always equal the final states', () => {
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const statuses = ['placed', 'accepted', 'preparing', 'picked_up', 'delivered', 'cancelled'];
    const methods = ['pix', 'card', 'cash'];
    const p = new Pipeline();
    const truth = new Map<string, Record<string, string>>();
    const produced: Outcome[] = [];
    const history: InputRecord[] = [];
    for (let step = 0; step < 3000; step++) {
      const id = String(2000 + rand(60));
      const cur = truth.get(id);
      let r: InputRecord;
      if (!cur) {
        const row: Record<string, string> = {
          status: '"placed"',
          payment_method: `"${methods[rand(3)]}"`,
          total: `"${100 + rand(50)}.40"`,
          subtotal: '"0.00"',
          tax: '"0.00"',
          delivery_fee: '"0.00"',
          discount: '"0.00"',
          version: '1',
        };
        row.subtotal = row.total!;
        truth.set(id, row);
        r = insert(id, row);
      } else if (rand(10) === 0) {
        truth.delete(id);
        r = remove(id, cur);
      } else if (rand(15) === 0) {
        r = snapshot(id, cur); // incremental snapshot of the current row
      } else {
        const status = statuses[rand(6)]!;
        const next: Record<string, string> = {
          ...cur,
          status: `"${status}"`,
          version: String(Number(cur.version) + 1),
        };
        if (status === 'delivered') next.delivered_at = '"2025-11-27T23:40:00Z"';
        else delete next.delivered_at;
        if (rand(4) === 0) next.payment_method = `"${methods[rand(3)]}"`;
        truth.set(id, next);
        r = update(id, cur, next);
      }
      history.push(r);
      produced.push(...p.run([r]));
      if (rand(50) === 0) produced.push(...p.run(history.slice(-rand(20)))); // Debezium repeats a slice
      if (rand(200) === 0) p.restart();
    }
    const expected: Record<string, { orders: number; total_cents: number }> = {};
    for (const row of truth.values()) {
      const k = `${JSON.parse(row.status!)}|${JSON.parse(row.payment_method!)}`;
      const g = (expected[k] ??= { orders: 0, total_cents: 0 });
      g.orders++;
      g.total_cents += Math.round(Number(JSON.parse(row.total!)) * 100);
    }
    expect(sumBy(deltas(produced), (r) => `${r.status}|${r.payment_method}`)).toEqual(expected);
    const delivered = [...truth.values()].filter((r) => r.status === '"delivered"').length;
    expect(deliveries(produced).reduce((a, r) => a + r.deliveries, 0)).toBe(delivered);
  });
});

describe('reporting currency (USD)', () => {
  const usdOf = (all: OrderDeltaRow[]) => ({
    usd_total_cents: all.reduce((n, r) => n + r.usd_total_cents, 0),
    usd_live_total_cents: all.reduce((n, r) => n + r.usd_live_total_cents, 0),
    usd_live_orders: all.reduce((n, r) => n + r.usd_live_orders, 0),
    usd_missing_orders: all.reduce((n, r) => n + r.usd_missing_orders, 0),
  });

  it('an order asserts its total in USD cents at its business date, live until it is cancelled', () => {
    const p = new Pipeline();
    const placed = deltas(p.run([insert('3001')]));
    // 12040 BRL cents × 0.187654321098 = 2259.357… → 2259.
    expect(usdOf(placed)).toEqual({
      usd_total_cents: 2259,
      usd_live_total_cents: 2259,
      usd_live_orders: 1,
      usd_missing_orders: 0,
    });
    const cancelled = deltas(p.run([update('3001', {}, { status: '"cancelled"', version: '2' })]));
    expect(usdOf([...placed, ...cancelled])).toEqual({
      usd_total_cents: 2259,
      usd_live_total_cents: 0,
      usd_live_orders: 0,
      usd_missing_orders: 0,
    });
  });

  it('a date without a rate: the order flows in its currency, counted as missing a rate; once the rate is published the next change prices it', () => {
    const p = new Pipeline();
    const day = '20500'; // 2026-02-16: no rate in the dimension tables
    const out = p.run([insert('3002', { business_date: day })]);
    const event = out[0]!.kind === 'event' ? JSON.parse(out[0]!.outputs[0]!.value!) : undefined;
    expect(event).toMatchObject({
      business_date: '2026-02-16',
      usd_per_unit: null,
      total_usd: null,
      total_usd_cents: null,
    });
    expect(event.total_cents).toBe(12040);
    expect(usdOf(deltas(out))).toEqual({
      usd_total_cents: 0,
      usd_live_total_cents: 0,
      usd_live_orders: 0,
      usd_missing_orders: 1,
    });

    p.dims.apply('fx_rates', fxRecord('BRL', 20500, '0.200000000000'));
    const later = p.run([
      update('3002', { business_date: day }, { business_date: day, status: '"accepted"', version: '2' }),
    ]);
    expect(usdOf([...deltas(out), ...deltas(later)])).toEqual({
      usd_total_cents: 2408,
      usd_live_total_cents: 2408,
      usd_live_orders: 1,
      usd_missing_orders: 0,
    });
  });

  it('a −1 row retracts the USD cents its +1 asserted, even after the rate of that date was corrected', () => {
    const p = new Pipeline();
    const first = deltas(p.run([insert('3003')]));
    p.dims.apply('fx_rates', fxRecord('BRL', 20419, '0.100000000000'));
    const second = deltas(p.run([update('3003', {}, { status: '"accepted"', version: '2' })]));
    expect(second.map((r) => [r.sign, r.usd_total_cents])).toEqual([
      [-1, -2259],
      [1, 1204],
    ]);
    expect(usdOf([...first, ...second]).usd_total_cents).toBe(1204);
    const gone = deltas(p.run([remove('3003', { status: '"accepted"', version: '2' })]));
    expect(usdOf([...first, ...second, ...gone])).toEqual({
      usd_total_cents: 0,
      usd_live_total_cents: 0,
      usd_live_orders: 0,
      usd_missing_orders: 0,
    });
  });

  it('an order asserted before USD reporting (no USD in its ledger entry) retracts no USD measure', () => {
    const p = new Pipeline();
    p.run([insert('3004')]);
    for (const [k, v] of p.stateTopic)
      if (v !== null && k.includes('orders|3004')) {
        const { totalUsdCents: _dropped, ...legacy } = JSON.parse(v) as Record<string, unknown>;
        p.stateTopic.set(k, JSON.stringify(legacy));
      }
    p.restart();
    const moved = deltas(p.run([update('3004', {}, { status: '"accepted"', version: '2' })]));
    expect(moved.map((r) => [r.sign, r.usd_total_cents, r.usd_live_orders, r.usd_missing_orders])).toEqual([
      [-1, 0, 0, 0],
      [1, 2259, 1, 0],
    ]);
  });
});

describe('order item deltas', () => {
  const item = (op: 'c' | 'u' | 'd', before: Record<string, string> | null, after: Record<string, string> | null) =>
    rec(
      'order_items',
      '7001',
      envelope({
        op,
        table: 'order_items',
        before: before && itemRow(before),
        after: after && itemRow(after),
        lsn: ++lsn,
        commitLsn: lsn,
        tsMs: 1764284400000 + lsn,
      }),
    );

  it('asserts units, retracts the old quantity on an update, keeps the first-seen time, and retracts on delete', () => {
    const p = new Pipeline();
    const created = p.run([item('c', null, {})]);
    const changed = p.run([item('u', {}, { quantity: '3', line_total: '"59.97"' })]);
    const deleted = p.run([item('d', { quantity: '3', line_total: '"59.97"' }, null)]);
    const all = itemDeltas([...created, ...changed, ...deleted]);
    expect(all.map((r) => [r.sign, r.units, r.line_total_cents, r.product_name])).toEqual([
      [1, 2, 3998, 'Pão de queijo'],
      [-1, -2, -3998, 'Pão de queijo'],
      [1, 3, 5997, 'Pão de queijo'],
      [-1, -3, -5997, 'Pão de queijo'],
    ]);
    expect(new Set(all.map((r) => r.first_seen)).size).toBe(1);
    expect(all.reduce((a, r) => a + r.units, 0)).toBe(0);
  });
});

describe('transformer stats rows', () => {
  it('counts events by type with commit latency, skips and dead letters by reason, deltas by topic', () => {
    const p = new Pipeline();
    const inputs = [insert('1001'), insert('1001'), rec('orders', '1', '{not json'), rec('orders', '1001', null)];
    inputs[1] = { ...inputs[0]! }; // the same record twice: the second is a duplicate
    const out = p.run(inputs);
    const stats = statsRows(inputs, out, 'main', NOW);
    const byKey = Object.fromEntries(stats.map((s) => [`${s.table}|${s.kind}|${s.type}`, s]));
    expect(Object.keys(byKey).sort()).toEqual([
      'orders|delta|order_deltas',
      'orders|dlq|invalid_json',
      'orders|event|created',
      'orders|skip|duplicate',
      'orders|skip|tombstone',
    ]);
    expect(byKey['orders|event|created']).toMatchObject({
      count: 1,
      latency_count: 1,
      latency_ms_sum: NOW - 1764284400123,
      latency_ms_max: NOW - 1764284400123,
      max_source_ts_ms: 1764284400123,
      produced_ms: NOW,
    });
    expect(byKey['orders|skip|duplicate']!.count).toBe(1);
  });
});

describe('TRUNCATE', () => {
  const truncate = (table: 'orders' | 'order_items', partition = 0) => ({
    ...rec(table, '0', envelope({ op: 't', table, lsn: ++lsn, commitLsn: lsn })),
    key: null,
    partition,
  });
  const insertItem = (id: string, orderId: string) =>
    rec(
      'order_items',
      id,
      envelope({
        op: 'c',
        table: 'order_items',
        after: itemRow({ id, order_id: orderId }),
        lsn: ++lsn,
        commitLsn: lsn,
      }),
    );

  it('retracts every asserted order exactly (rollups sum to nothing) and marks each with a truncated event', () => {
    const p = new Pipeline();
    const before = p.run([
      insert('1'),
      insert('2', { status: '"delivered"', delivered_at: '"2025-11-27T23:30:00Z"' }),
      update('1', {}, { status: '"accepted"', version: '2' }),
      insert('3'),
      remove('3', {}),
    ]);
    const out = p.run([truncate('orders')]);
    const all = [...deltas(before), ...deltas(out)];
    expect(sumBy(all, (r) => `${r.status}|${r.currency}|${r.store_id}`)).toEqual({});
    expect(deliveries([...before, ...out]).reduce((n, d) => n + d.deliveries, 0)).toBe(0);
    const o = out[0]!;
    expect(o.kind).toBe('event');
    const events =
      o.kind === 'event'
        ? o.outputs.map(
            (e) =>
              JSON.parse(e.value) as {
                order_id: string;
                event_type: string;
                is_deleted: number;
                total_cents: number;
                event_id: string;
              },
          )
        : [];
    expect(events.map((e) => [e.order_id, e.event_type, e.is_deleted]).sort()).toEqual([
      ['1', 'truncated', 1],
      ['2', 'truncated', 1],
    ]);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(2);
    expect(events[0]!.total_cents).toBe(12040);
    expect(p.ledger.size()).toBe(0);
  });

  it('a change committed before the truncate, arriving later through another partition, keeps its event with a truncated marker and asserts nothing; later inserts assert as usual; a repeat of the truncate changes nothing', () => {
    const p = new Pipeline();
    p.run([insert('1')]);
    const early = { ...insert('2'), partition: 1 }; // committed before the truncate, still in flight on partition 1
    const t = truncate('orders');
    p.run([t]);
    const late = p.run([early]);
    expect(late[0]).toMatchObject({ kind: 'event', eventType: 'created', rollup: [] });
    const events =
      late[0]!.kind === 'event'
        ? late[0]!.outputs.map(
            (o) =>
              JSON.parse(o.value) as { order_id: string; event_type: string; is_deleted: number; event_id: string },
          )
        : [];
    expect(events.map((e) => [e.order_id, e.event_type, e.is_deleted])).toEqual([
      ['2', 'created', 0],
      ['2', 'truncated', 1],
    ]);
    expect(events[1]!.event_id).toBe(`${events[0]!.event_id}:truncated`);
    expect(p.ledger.size()).toBe(0);
    expect(p.run([t])[0]).toEqual({ kind: 'skip', reason: 'duplicate' });
    // Restarted from the state topic alone, the truncate's position is remembered.
    p.restart();
    expect(p.run([{ ...insert('4'), partition: 2, offset: '0' }]).map((o) => o.kind)).toEqual(['event']);
    expect(p.ledger.size()).toBe(1);
  });

  it('partitioned state: the truncate is forwarded to the other partitions, whose owners retract what was committed before it and nothing after', () => {
    // Two input partitions, each with its own state (as two state partitions of the local store).
    const p0 = new Pipeline(() => 2);
    const p1 = new Pipeline(() => 2);
    const asserted = [...p0.run([insert('1')]), ...p1.run([{ ...insert('2'), partition: 1 }])];
    const t = truncate('orders');
    const after = p1.run([{ ...insert('5'), partition: 1, offset: '1' }]); // committed after the truncate, reached partition 1 first
    const watermark = p1.dedupe.watermark('pulso.public.orders', 1);
    const out0 = p0.run([t]);
    const o0 = out0[0]!;
    if (o0.kind !== 'event') throw new Error(`expected an event, got ${o0.kind}`);
    const forwarded = o0.outputs.filter((o) => o.topic === 'pulso.public.orders');
    expect(forwarded).toEqual([
      {
        topic: 'pulso.public.orders',
        partition: 1,
        key: null,
        value: t.value!.toString(),
        headers: { [FORWARDED_TRUNCATE_HEADER]: 'pulso.public.orders/0/0' },
      },
    ]);
    const copy: InputRecord = {
      topic: 'pulso.public.orders',
      partition: 1,
      offset: '2',
      key: null,
      value: Buffer.from(forwarded[0]!.value),
      forwardedTruncate: true,
    };
    const out1 = p1.run([copy]);
    const retracted =
      out1[0]!.kind === 'event'
        ? out1[0]!.outputs.map((e) => (JSON.parse(e.value) as { order_id: string }).order_id)
        : [];
    expect(retracted).toEqual(['2']); // not order 5, committed after the truncate
    expect(p1.dedupe.watermark('pulso.public.orders', 1)).toEqual(watermark); // a copy never moves the partition's watermark back
    expect(p1.run([{ ...copy, offset: '3' }])[0]).toEqual({ kind: 'skip', reason: 'duplicate' });
    const sums = sumBy(deltas([...asserted, ...after, ...out0, ...out1]), (r) => r.status);
    expect(sums).toEqual({ placed: { orders: 1, total_cents: 12040 } });
    expect([p0.ledger.size(), p1.ledger.size()]).toEqual([0, 1]);
  });

  it('order_items: every asserted item retracted; a truncate of another table retracts nothing', () => {
    const p = new Pipeline();
    const before = p.run([insertItem('71', '1'), insertItem('72', '1')]);
    const other = p.run([{ ...truncate('orders'), topic: 'pulso.public.payments' }]);
    expect(other[0]).toEqual({ kind: 'skip', reason: 'truncate' });
    const out = p.run([truncate('order_items')]);
    const all = [...itemDeltas(before), ...itemDeltas(out)];
    expect(all.reduce((n, d) => n + d.items, 0)).toBe(0);
    expect(all.reduce((n, d) => n + d.line_total_cents, 0)).toBe(0);
    expect(p.ledger.size()).toBe(0);
  });
});
