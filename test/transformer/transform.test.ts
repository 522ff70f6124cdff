import { describe, expect, it } from 'vitest';
import { decodeEnvelope, type ChangeRecord } from '../../transformer/decode/decodeEnvelope.ts';
import { DedupeState } from '../../transformer/dedupe.ts';
import { RollupLedger } from '../../transformer/rollup/ledger.ts';
import { loadConfig } from '../../lib/config.ts';
import type { OrderEvent, OrderItemEvent } from '../../transformer/events.ts';
import { orderEventType } from '../../transformer/toOrderEvent.ts';
import { transformerTopics } from '../../lib/names.ts';
import { transformRecord, type InputRecord, type Outcome, type OutputRecord } from '../../transformer/transform.ts';
import { envelope, itemRow, loadedDims, orderRow, STORE_ROW } from './envelopes.ts';

const topics = transformerTopics(loadConfig({}).topics);
const NOW = 1764284401000;

function rec(topic: string, key: string | null, value: string | null, offset = 0, partition = 0): InputRecord {
  return {
    topic,
    partition,
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
  };
}

function run(
  records: InputRecord[],
  dims = loadedDims(),
  state = new DedupeState(),
  ledger = new RollupLedger(),
): Outcome[] {
  const batch = state.beginBatch();
  const ledgerBatch = ledger.beginBatch();
  const outcomes = records.map((r) =>
    transformRecord(r, { dims, dedupe: batch, ledger: ledgerBatch, topics, nowMs: NOW }),
  );
  state.commit(batch);
  ledger.commit(ledgerBatch);
  return outcomes;
}

function firstOutput(o: Outcome | undefined): OutputRecord {
  if (o?.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(o)}`);
  return o.outputs[0]!;
}

function orderEvent(o: Outcome): OrderEvent {
  if (o.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(o)}`);
  return JSON.parse(o.outputs[0]!.value) as OrderEvent;
}

describe('orders envelope → OrderEvent', () => {
  it('maps an insert with exact money, joined dimensions and UTC times', () => {
    const [o] = run([
      rec('pulso.public.orders', '{"id":1001}', envelope({ op: 'c', table: 'orders', after: orderRow() })),
    ]);
    expect(firstOutput(o).topic).toBe('orders');
    expect(firstOutput(o).key).toBe('1001');
    expect(orderEvent(o!)).toEqual({
      event_id: 'orders:1001:24023000:24023128',
      event_type: 'created',
      order_id: '1001',
      order_version: 1,
      status: 'placed',
      previous_status: null,
      payment_status: 'pending',
      payment_method: 'pix',
      currency: 'BRL',
      subtotal: 100,
      delivery_fee: 7.9,
      discount: 0,
      tax: 12.5,
      total: 120.4,
      subtotal_cents: 10000,
      delivery_fee_cents: 790,
      discount_cents: 0,
      tax_cents: 1250,
      total_cents: 12040,
      business_date: '2025-11-27',
      // 12040 × 0.187654321098 = 2259.357… → 2259 US cents (transformer/reportingCurrency.ts).
      usd_per_unit: '0.187654321098',
      total_usd: 22.59,
      total_usd_cents: 2259,
      item_count: 3,
      customer_id: '501',
      customer_since: null,
      store_id: '42',
      city_id: '7',
      store_name: 'Padaria Central',
      store_category: 'restaurant',
      city: 'São Paulo',
      country: 'BR',
      latitude: -23.55052,
      longitude: -46.633308,
      event_time: '2025-11-27T23:00:00.123Z',
      created_at: '2025-11-27T22:59:59.987Z',
      delivered_at: null,
      delivery_minutes: null,
      is_deleted: 0,
      source_lsn: '24023128',
      source_commit_lsn: '24023000',
      source_tx_id: '771',
      source_ts_ms: 1764284400123,
      transformed_at_ms: NOW,
    });
  });

  it('keeps a bigint id past 2^53 exact in the event and the key', () => {
    const id = '9007199254740993';
    const [o] = run([
      rec('pulso.public.orders', `{"id":${id}}`, envelope({ op: 'c', table: 'orders', after: orderRow({ id }) })),
    ]);
    expect(orderEvent(o!).order_id).toBe(id);
    expect(firstOutput(o).key).toBe(id);
    expect(firstOutput(o).value).toContain(`"order_id":"${id}"`);
  });

  it('classifies updates from before/after (REPLICA IDENTITY FULL)', () => {
    const u = (before: Record<string, string>, after: Record<string, string>) =>
      orderEventType(
        decodeEnvelope({
          topic: 'pulso.public.orders',
          key: null,
          value: envelope({ op: 'u', table: 'orders', before: orderRow(before), after: orderRow(after) }),
        }) as ChangeRecord,
      );
    expect(u({}, { status: '"accepted"' })).toBe('status_changed');
    expect(u({}, { payment_status: '"paid"' })).toBe('paid');
    expect(u({ payment_status: '"paid"' }, { payment_status: '"refunded"' })).toBe('refunded');
    expect(u({}, { notes: '"ring twice"' })).toBe('updated');
    expect(u({}, { status: '"delivered"', payment_status: '"paid"' })).toBe('status_changed');
  });

  it('carries the previous status and delivery minutes', () => {
    const after = orderRow({ status: '"delivered"', delivered_at: '"2025-11-27T23:35:29.987654Z"', version: '5' });
    const [o] = run([
      rec(
        'pulso.public.orders',
        '{"id":1001}',
        envelope({ op: 'u', table: 'orders', before: orderRow({ status: '"picked_up"', version: '4' }), after }),
      ),
    ]);
    const e = orderEvent(o!);
    expect([e.event_type, e.status, e.previous_status, e.order_version]).toEqual([
      'status_changed',
      'delivered',
      'picked_up',
      5,
    ]);
    expect(e.delivery_minutes).toBe(35.5);
  });

  it('emits deletes from the full before image, then skips the tombstone', () => {
    const outcomes = run([
      rec(
        'pulso.public.orders',
        '{"id":1001}',
        envelope({ op: 'd', table: 'orders', before: orderRow({ status: '"cancelled"' }) }),
        0,
      ),
      rec('pulso.public.orders', '{"id":1001}', null, 1),
    ]);
    const e = orderEvent(outcomes[0]!);
    expect([e.event_type, e.status, e.is_deleted]).toEqual(['deleted', 'cancelled', 1]);
    expect(outcomes[1]).toEqual({ kind: 'skip', reason: 'tombstone' });
  });

  it('uses updated_at as event time and a version-based id for snapshot rows', () => {
    const [o] = run([
      rec(
        'pulso.public.orders',
        '{"id":1001}',
        envelope({ op: 'r', table: 'orders', after: orderRow({ version: '3' }), snapshot: 'first', commitLsn: null }),
      ),
    ]);
    const e = orderEvent(o!);
    expect([e.event_type, e.event_id, e.event_time, e.source_commit_lsn]).toEqual([
      'snapshot',
      'orders:1001:snapshot:3',
      '2025-11-27T23:00:00.500Z',
      null,
    ]);
  });

  it('passes through a column added by ALTER TABLE, without shadowing contract fields', () => {
    const after = orderRow({ promo_code: '"BLACKFRIDAY"', status: '"placed"', city: '"shadow"' });
    const e = orderEvent(
      run([rec('pulso.public.orders', '{"id":1001}', envelope({ op: 'c', table: 'orders', after }))])[0]!,
    );
    expect(e.promo_code).toBe('BLACKFRIDAY');
    expect(e.src_city).toBe('shadow');
    expect(e.city).toBe('São Paulo');
  });

  it('leaves dimension fields null (not invented) when the store is unknown', () => {
    const e = orderEvent(
      run([
        rec(
          'pulso.public.orders',
          '{"id":1001}',
          envelope({ op: 'c', table: 'orders', after: orderRow({ store_id: '999' }) }),
        ),
      ])[0]!,
    );
    expect([e.store_id, e.store_name, e.city, e.latitude]).toEqual(['999', null, null, null]);
  });
});

describe('order_items envelope → OrderItemEvent', () => {
  it('maps an item with exact cents, keyed by order id', () => {
    const [o] = run([
      rec('pulso.public.order_items', '{"id":7001}', envelope({ op: 'c', table: 'order_items', after: itemRow() })),
    ]);
    expect(firstOutput(o).topic).toBe('order_items');
    expect(firstOutput(o).key).toBe('1001');
    const e = JSON.parse(firstOutput(o).value) as OrderItemEvent;
    expect(e).toMatchObject({
      event_type: 'created',
      item_id: '7001',
      quantity: 2,
      unit_price: 19.99,
      unit_price_cents: 1999,
      line_total_cents: 3998,
      product_name: 'Pão de queijo',
      is_deleted: 0,
    });
  });
  it('dead-letters a key-only delete (REPLICA IDENTITY DEFAULT): no event, no one-sided delta, the fix named', () => {
    const [o] = run([
      rec(
        'pulso.public.order_items',
        '{"id":7001}',
        envelope({ op: 'd', table: 'order_items', before: '{"id":7001}' }),
      ),
    ]);
    expect(o).toMatchObject({ kind: 'dlq', reason: 'before_image_incomplete' });
    expect(o!.kind === 'dlq' && o!.error).toMatch(
      /order_items delete of id 7001 .*missing: order_id, product_id, product_name, quantity, line_total.*ALTER TABLE public\.order_items REPLICA IDENTITY FULL/,
    );
  });
});

describe('skips and dead letters', () => {
  it('skips heartbeats, truncates of tables the rollups do not read and logical messages by reason', () => {
    const outcomes = run([
      rec('__debezium-heartbeat.pulso', '{"serverName":"pulso"}', '{"ts_ms":1}'),
      rec('pulso.public.payments', null, envelope({ op: 't', table: 'payments' })),
      rec('pulso.public.orders', null, '{"op":"m","ts_ms":1,"message":{"prefix":"x","content":"eA=="}}'),
    ]);
    expect(outcomes).toEqual([
      { kind: 'skip', reason: 'heartbeat' },
      { kind: 'skip', reason: 'truncate' },
      { kind: 'skip', reason: 'logical_message' },
    ]);
  });
  it('a truncate of orders with nothing asserted retracts nothing (test/transformer/rollup.test.ts has the retraction)', () => {
    const [o] = run([rec('pulso.public.orders', null, envelope({ op: 't', table: 'orders' }))]);
    expect(o).toMatchObject({ kind: 'event', eventType: 'truncated', outputs: [], rollup: [] });
  });
  it('dead-letters malformed records with a reason each', () => {
    const reasons = run([
      rec('pulso.public.orders', '{"id":1}', '{not json'),
      rec('pulso.public.orders', '{"id":1}', '[1,2]'),
      rec('pulso.public.orders', '{"id":1}', envelope({ op: 'x' as 'c', table: 'orders', after: orderRow() })),
      rec(
        'pulso.public.orders',
        '{"id":1}',
        envelope({ op: 'c', table: 'orders', after: orderRow({ total: 'null' }) }),
      ),
      rec(
        'pulso.public.orders',
        '{"id":1}',
        envelope({ op: 'c', table: 'orders', after: orderRow({ total: '"12.345"' }) }),
      ),
      rec(
        'pulso.public.orders',
        '{"id":1}',
        envelope({ op: 'c', table: 'orders', after: orderRow({ created_at: '"not a time"' }) }),
      ),
      rec('pulso.public.orders', '{"id":1}', envelope({ op: 'c', table: 'orders', after: orderRow({ id: '"abc"' }) })),
    ]).map((o) => (o.kind === 'dlq' ? o.reason : o.kind));
    expect(reasons).toEqual([
      'invalid_json',
      'not_an_envelope',
      'unknown_op',
      'missing_field',
      'bad_decimal',
      'bad_timestamp',
      'bad_id',
    ]);
  });
  it('never emits the TOAST placeholder: the dimension keeps the previous value', () => {
    const dims = loadedDims();
    const storeUpdate = STORE_ROW.replace('"Fresh bread"', '"__debezium_unavailable_value"').replace('"4.5"', '"4.8"');
    dims.apply(
      'stores',
      decodeEnvelope({
        topic: 'pulso.public.stores',
        key: '{"id":42}',
        value: envelope({ op: 'u', table: 'stores', after: storeUpdate }),
      }),
    );
    expect(dims.row('stores', '42')).toMatchObject({ description: 'Fresh bread', rating: '4.8' });
    const decoded = decodeEnvelope({
      topic: 'pulso.public.stores',
      key: '{"id":42}',
      value: envelope({ op: 'u', table: 'stores', after: storeUpdate }),
    }) as ChangeRecord;
    expect(decoded.after!.unavailable).toEqual(['description']);
    expect(Object.values(decoded.after!.columns)).not.toContain('__debezium_unavailable_value');
  });
  it('applies dimension deletes, tombstones and truncates', () => {
    const dims = loadedDims();
    dims.apply(
      'stores',
      decodeEnvelope({
        topic: 'pulso.public.stores',
        key: '{"id":42}',
        value: envelope({ op: 'd', table: 'stores', before: '{"id":42}' }),
      }),
    );
    expect(dims.store('42')).toBeUndefined();
    dims.apply(
      'cities',
      decodeEnvelope({ topic: 'pulso.public.cities', key: null, value: envelope({ op: 't', table: 'cities' }) }),
    );
    expect(dims.stats().rows).toEqual({ countries: 1, cities: 0, stores: 0, fx_rates: 1, products: 0, customers: 0 });
  });
});

describe('dedupe', () => {
  const change = (lsn: number, commitLsn: number, id = '1001') =>
    rec(
      'pulso.public.orders',
      `{"id":${id}}`,
      envelope({
        op: 'u',
        table: 'orders',
        before: orderRow({ id }),
        after: orderRow({ id, status: '"accepted"' }),
        lsn,
        commitLsn,
      }),
    );

  it('drops repeats of already-emitted positions, also across batches and restarts', () => {
    const state = new DedupeState();
    expect(run([change(100, 50), change(110, 50), change(200, 120)], undefined, state).map((o) => o.kind)).toEqual([
      'event',
      'event',
      'event',
    ]);
    // Debezium re-sends from an older offset after a crash: the first three are repeats, the last is new.
    const replay = run([change(110, 50), change(200, 120), change(300, 250)], undefined, state);
    expect(replay.map((o) => (o.kind === 'skip' ? o.reason : o.kind))).toEqual(['duplicate', 'duplicate', 'event']);

    // A restart restores the same decisions from the state records.
    const restored = new DedupeState();
    const batch = state.beginBatch();
    batch.markEmitted('pulso.public.orders', 0, { commitLsn: 250n, lsn: 300n, rank: 1 });
    for (const r of batch.stateRecords()) restored.loadStateRecord(r.key, r.value);
    expect(run([change(300, 250), change(301, 300)], undefined, restored).map((o) => o.kind)).toEqual([
      'skip',
      'event',
    ]);
  });

  it('never skips a streamed change whose position it cannot read: it is dead-lettered with the reason', () => {
    const state = new DedupeState();
    expect(run([change(5000, 4000)], undefined, state)[0]!.kind).toBe('event');
    const noCommitLsn = rec(
      'pulso.public.orders',
      '{"id":1002}',
      envelope({
        op: 'u',
        table: 'orders',
        before: orderRow({ id: '1002' }),
        after: orderRow({ id: '1002', status: '"accepted"' }),
        lsn: 6000,
        commitLsn: null,
      }),
    );
    const [o] = run([noCommitLsn], undefined, state);
    expect(o).toMatchObject({ kind: 'dlq', reason: 'source_position_missing' });
    expect((o as { error: string }).error).toMatch(
      /orders u of id 1002 has no source position \(commit LSN null, LSN 6000\).*dead-lettered instead of guessed/,
    );
  });

  it('an LSN far below the watermark (database reset or restored) is dead-lettered loudly; a crash replay just below it is a duplicate', () => {
    const GiB = 1024 ** 3;
    const state = new DedupeState();
    expect(run([change(5 * GiB + 100, 5 * GiB)], undefined, state)[0]!.kind).toBe('event');
    const outcomes = run(
      [change(5 * GiB - 10_000, 5 * GiB - 20_000), change(2 * GiB, 2 * GiB - 100)],
      undefined,
      state,
    );
    expect(outcomes[0]).toMatchObject({ kind: 'skip', reason: 'duplicate' });
    expect(outcomes[1]).toMatchObject({ kind: 'dlq', reason: 'source_position_rewound' });
    expect((outcomes[1] as { error: string }).error).toMatch(
      /3072 MiB of WAL below the last change emitted from pulso\.public\.orders\[0\].*reset or restored/,
    );
  });

  it('orders by commit LSN first: a later transaction with lower change LSNs is not a duplicate', () => {
    const outcomes = run([change(500, 400), change(450, 510)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['event', 'event']);
  });

  it('keeps watermarks per partition', () => {
    const state = new DedupeState();
    const p1 = { ...change(100, 50), partition: 1 };
    expect(run([change(200, 150), p1], undefined, state).map((o) => o.kind)).toEqual(['event', 'event']);
  });

  it('drops snapshot rows already emitted at the same version, but not newer versions', () => {
    const snap = (version: string) =>
      rec(
        'pulso.public.orders',
        '{"id":1001}',
        envelope({ op: 'r', table: 'orders', after: orderRow({ version }), snapshot: 'true' }),
      );
    const state = new DedupeState();
    expect(run([snap('1')], undefined, state)[0]!.kind).toBe('event');
    expect(run([snap('1'), snap('2')], undefined, state).map((o) => (o.kind === 'skip' ? o.reason : o.kind))).toEqual([
      'snapshot_duplicate',
      'event',
    ]);
  });

  it('does not move the watermark for a record that dead-letters', () => {
    const state = new DedupeState();
    const bad = rec(
      'pulso.public.orders',
      '{"id":1}',
      envelope({ op: 'c', table: 'orders', after: orderRow({ total: '"x"' }), lsn: 900, commitLsn: 800 }),
    );
    expect(run([bad], undefined, state)[0]!.kind).toBe('dlq');
    expect(state.watermark('pulso.public.orders', 0)).toBeUndefined();
  });

  it('recognises replayed input by offset once its transaction committed, restores it from the state topic, and can drop it', () => {
    const state = new DedupeState();
    const batch = state.beginBatch();
    batch.markConsumed('pulso.public.orders', 2, '41');
    expect(state.isReplayed('pulso.public.orders', 2, '41')).toBe(false); // not committed yet
    state.commit(batch);
    expect([
      state.isReplayed('pulso.public.orders', 2, '41'),
      state.isReplayed('pulso.public.orders', 2, '42'),
      state.isReplayed('pulso.public.orders', 1, '0'),
    ]).toEqual([true, false, false]);
    // A replay re-reads from offset 0 chunk by chunk: a re-read chunk never lowers the watermark.
    const replay = state.beginBatch();
    replay.markConsumed('pulso.public.orders', 2, '9');
    expect(replay.stateRecords()).toEqual([]);
    state.commit(replay);
    expect(state.isReplayed('pulso.public.orders', 2, '41')).toBe(true);
    const restored = new DedupeState();
    for (const r of batch.stateRecords()) restored.loadStateRecord(r.key, r.value);
    expect(restored.offsetWatermarks()).toEqual([{ topic: 'pulso.public.orders', partition: 2, offset: 41n }]);
    const tombstone = restored.dropOffsetWatermark('pulso.public.orders', 2);
    expect(tombstone).toEqual({ key: 'off|pulso.public.orders|2', value: null });
    expect(restored.isReplayed('pulso.public.orders', 2, '41')).toBe(true); // forgotten once the tombstone is committed
    restored.loadStateRecord(tombstone.key, tombstone.value);
    expect(restored.isReplayed('pulso.public.orders', 2, '41')).toBe(false);
    expect(restored.offsetWatermarks()).toEqual([]);
  });

  it('leaves the state untouched when a batch is not committed (aborted transaction)', () => {
    const state = new DedupeState();
    const batch = state.beginBatch();
    transformRecord(change(100, 50), {
      dims: loadedDims(),
      dedupe: batch,
      ledger: new RollupLedger().beginBatch(),
      topics,
      nowMs: NOW,
    });
    expect(batch.stateRecords()).toHaveLength(1);
    expect(state.watermark('pulso.public.orders', 0)).toBeUndefined();
  });
});
