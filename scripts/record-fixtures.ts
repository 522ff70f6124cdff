// `npm run record:fixtures`: records REAL Debezium envelopes from the running stack into
// test/fixtures/cdc/*.json, which the replay tests (test/transformer/replay.test.ts) run through the pure
// transform against golden outputs. It writes to PostgreSQL and lets the connector capture:
//   - a store with a > 8 KB description (TOASTed, storage EXTERNAL), then an update of its rating only
//     (REPLICA IDENTITY DEFAULT → the description arrives as __debezium_unavailable_value), then its delete;
//   - an order with id 9007199254740993 (past 2^53) and two items with cents, every lifecycle update
//     (status, paid, delivered with timestamptz(6), refunded), ALTER TABLE orders ADD COLUMN (a `timestamp`
//     column, so a MicroTimestamp is on the wire) and an update that fills it, an incremental snapshot
//     (op r) of the order and its items via the signal table, then the deletes with their tombstones;
//   - the initial-snapshot rows (op r) of the dimension tables and a heartbeat, taken from the topics.
// The added column is dropped again at the end so the shared schema returns to the migrations' shape.
// Records are stored byte-exact (key and value as the original JSON text), so big integers stay exact.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { KafkaMessage } from 'kafkajs';
import { loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { cdcTopic, debeziumHeartbeatTopic } from '../lib/names.ts';
import type { FixtureRecord } from '../lib/fixtureRecord.ts';
import { pollUntil } from '../lib/poll.ts';
import { createKafka } from '../lib/kafka.ts';
import { PulsoError } from '../lib/errors.ts';

const BIG_ORDER_ID = '9007199254740993';
const FIXTURE_DIR = resolve(PROJECT_ROOT, 'test/fixtures/cdc');
const ADDED_COLUMN = 'fixture_promised_at';

const cfg = loadConfig();
const topic = (table: string) => cdcTopic(cfg.topics, table);
const kafka = createKafka(cfg, 'pulso-record-fixtures');

async function endOffsets(topics: string[]): Promise<Map<string, Map<number, bigint>>> {
  const admin = kafka.admin();
  await admin.connect();
  const out = new Map<string, Map<number, bigint>>();
  for (const t of topics)
    out.set(t, new Map((await admin.fetchTopicOffsets(t)).map((p) => [p.partition, BigInt(p.high)])));
  await admin.disconnect();
  return out;
}

function toFixture(t: string, partition: number, m: KafkaMessage): FixtureRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  return {
    topic: t,
    partition,
    offset: m.offset,
    key: m.key?.toString() ?? null,
    value: m.value?.toString() ?? null,
    headers,
  };
}

/** Reads the topics from the given start offsets until `done` says the collected records are complete. */
async function collect(
  from: Map<string, Map<number, bigint>> | 'beginning',
  topics: string[],
  keep: (r: FixtureRecord) => boolean,
  done: (rs: FixtureRecord[]) => boolean,
  timeoutMs = 90_000,
): Promise<FixtureRecord[]> {
  const consumer = kafka.consumer({ groupId: `pulso-record-fixtures-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const out: FixtureRecord[] = [];
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic: t, partition, message }) => {
      const start = from === 'beginning' ? 0n : (from.get(t)?.get(partition) ?? 0n);
      if (BigInt(message.offset) < start) return;
      const r = toFixture(t, partition, message);
      if (keep(r)) out.push(r);
    },
  });
  try {
    await pollUntil(() => done(out), {
      what: `records from ${topics.join(', ')} (have ${out.length})`,
      timeoutMs,
      intervalMs: 200,
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

const keyId = (r: FixtureRecord) => (r.key ? (/"(?:id|code)":"?([^,"}]+)"?/.exec(r.key)?.[1] ?? null) : null);
const op = (r: FixtureRecord) =>
  r.value ? (/"op":"(\w)"/.exec(r.value.slice(-200))?.[1] ?? /"op":"(\w)"/.exec(r.value)?.[1]) : 'tombstone';

function write(name: string, description: string, records: FixtureRecord[]): void {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const file = resolve(FIXTURE_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify({ description, recorded_at: new Date().toISOString(), records }, null, 2) + '\n');
  console.log(
    `wrote ${file}: ${records.length} records (${records.map((r) => `${r.topic.split('.').pop()}:${op(r)}`).join(' ')})`,
  );
}

type Db = pg.Client;
type Offsets = Map<string, Map<number, bigint>>;
interface Reference {
  city_id: string;
  customer_id: string;
  address_id: string;
  product_id: string;
  currency: string;
}

/** Removes what an interrupted earlier run left behind. */
async function cleanUp(db: Db): Promise<void> {
  // Clean up an interrupted earlier run.
  await db.query(`ALTER TABLE orders DROP COLUMN IF EXISTS ${ADDED_COLUMN}`);
  await db.query('DELETE FROM order_status_history WHERE order_id = $1', [BIG_ORDER_ID]);
  await db.query('DELETE FROM order_items WHERE order_id = $1', [BIG_ORDER_ID]);
  await db.query('DELETE FROM payments WHERE order_id = $1', [BIG_ORDER_ID]);
  await db.query('DELETE FROM orders WHERE id = $1', [BIG_ORDER_ID]);
}

/** A customer, address, product and currency to place the fixture order with. */
async function reference(db: Db): Promise<Reference> {
  const ref = await db.query<Reference>(
    `SELECT a.city_id::text, a.customer_id::text, a.id::text AS address_id,
            (SELECT id::text FROM products ORDER BY id LIMIT 1) AS product_id,
            (SELECT co.currency FROM cities ci JOIN countries co ON co.code = ci.country_code WHERE ci.id = a.city_id) AS currency
       FROM addresses a ORDER BY a.id LIMIT 1`,
  );
  const r0 = ref.rows[0];
  if (!r0) throw new PulsoError('no addresses/products in the database: run the generator first');
  return r0;
}

/** A store with a TOASTed description, then a rating-only update (the description arrives as a placeholder). */
async function writeToastStore(db: Db, r0: Reference): Promise<{ storeId: string; description: string }> {
  const description = 'Menú del día: '.concat('pão de queijo, arepa, ceviche, empanada, açaí; '.repeat(220)); // ≈ 10 KB
  const store = await db.query<{ id: string }>(
    `INSERT INTO stores (name, category, city_id, latitude, longitude, description, is_active, rating)
     VALUES ('Fixture Padaria', 'restaurant', $1, -23.550520, -46.633308, $2, false, 4.5) RETURNING id::text`,
    [r0.city_id, description],
  );
  const storeId = store.rows[0]!.id;
  await db.query('UPDATE stores SET rating = 4.7, updated_at = now() WHERE id = $1', [storeId]); // description untouched
  return { storeId, description };
}

/** The big-id order and its items, every lifecycle update, an added `timestamp` column filled, a refund. */
async function writeOrderLifecycle(db: Db, r0: Reference, storeId: string): Promise<void> {
  await db.query('BEGIN');
  await db.query(
    `INSERT INTO orders (id, customer_id, store_id, address_id, status, payment_method, payment_status, currency,
                         subtotal, delivery_fee, discount, tax, total, item_count, business_date)
     VALUES ($1, $2, $3, $4, 'placed', 'pix', 'pending', $5, 59.97, 7.90, 0.01, 11.39, 79.25, 3, current_date)`,
    [BIG_ORDER_ID, r0.customer_id, storeId, r0.address_id, r0.currency],
  );
  await db.query(
    `INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price, line_total)
     VALUES ($1, $2, 'Pão de queijo', 2, 19.99, 39.98), ($1, $2, 'Açaí 300ml', 1, 19.99, 19.99)`,
    [BIG_ORDER_ID, r0.product_id],
  );
  await db.query('COMMIT');
  const lifecycle = [
    "status = 'accepted'",
    "payment_status = 'paid'",
    "status = 'preparing'",
    "status = 'picked_up'",
    "status = 'delivered', delivered_at = created_at + interval '35 minutes 29.123456 seconds'",
  ];
  for (const set of lifecycle)
    await db.query(`UPDATE orders SET ${set}, updated_at = now() WHERE id = $1`, [BIG_ORDER_ID]);
  await db.query(`ALTER TABLE orders ADD COLUMN ${ADDED_COLUMN} timestamp(6)`);
  await db.query(
    `UPDATE orders SET ${ADDED_COLUMN} = '2026-11-27 20:00:00.123456', notes = 'ring twice', updated_at = now() WHERE id = $1`,
    [BIG_ORDER_ID],
  );
  await db.query(`UPDATE orders SET payment_status = 'refunded', updated_at = now() WHERE id = $1`, [BIG_ORDER_ID]);
}

/** An incremental snapshot (op r) of just this order and its items, through the signal table. */
async function snapshotOrder(db: Db, start: Offsets): Promise<void> {
  await db.query(`INSERT INTO debezium_signal (id, type, data) VALUES ($1, 'execute-snapshot', $2)`, [
    `fixture-${randomUUID().slice(0, 8)}`,
    JSON.stringify({
      'data-collections': ['public.orders', 'public.order_items'],
      type: 'incremental',
      'additional-conditions': [
        { 'data-collection': 'public.orders', filter: `id = ${BIG_ORDER_ID}` },
        { 'data-collection': 'public.order_items', filter: `order_id = ${BIG_ORDER_ID}` },
      ],
    }),
  ]);
  const snapshotSeen = await collect(
    start,
    [topic('orders'), topic('order_items')],
    (r) =>
      op(r) === 'r' &&
      (r.value?.includes(`"id":${BIG_ORDER_ID}`) || r.value?.includes(`"order_id":${BIG_ORDER_ID}`)) === true,
    (rs) => rs.length >= 3,
  ).catch((e: unknown) => {
    console.warn(`incremental snapshot not captured (${(e as Error).message}); continuing without it`);
    return [];
  });
  console.log(`incremental snapshot rows seen: ${snapshotSeen.length}`);
}

/** Deletes the order, its items and the store (tombstones follow), and drops the added column. */
async function deleteAll(db: Db, storeId: string): Promise<void> {
  await db.query('BEGIN');
  await db.query('DELETE FROM order_status_history WHERE order_id = $1', [BIG_ORDER_ID]);
  await db.query('DELETE FROM order_items WHERE order_id = $1', [BIG_ORDER_ID]);
  await db.query('DELETE FROM orders WHERE id = $1', [BIG_ORDER_ID]);
  await db.query('COMMIT');
  await db.query('DELETE FROM stores WHERE id = $1', [storeId]);
  await db.query(`ALTER TABLE orders DROP COLUMN IF EXISTS ${ADDED_COLUMN}`);
}

/** The captured order, item and store records, written as three fixtures. */
async function writeChangeFixtures(start: Offsets, storeId: string, description: string): Promise<void> {
  const itemIds = new Set<string>();
  const orderRecords = await collect(
    start,
    [topic('orders'), topic('order_items')],
    (r) => {
      if (r.topic === topic('orders')) return keyId(r) === BIG_ORDER_ID;
      const mine = r.value?.includes(`"order_id":${BIG_ORDER_ID}`) ?? false;
      if (mine) itemIds.add(keyId(r)!);
      return mine || (r.value === null && itemIds.has(keyId(r) ?? ''));
    },
    (rs) => rs.filter((r) => r.value === null).length >= 3, // tombstones of the order and both items
  );
  const storeRecords = await collect(
    start,
    [topic('stores')],
    (r) => keyId(r) === storeId,
    (rs) => rs.some((r) => r.value === null),
  );
  write(
    'orders-lifecycle',
    `orders ${BIG_ORDER_ID} (> 2^53): insert, status/payment updates, delivered (timestamptz(6)), ADD COLUMN ${ADDED_COLUMN} timestamp(6) + update, refunded, incremental snapshot, delete + tombstone`,
    orderRecords.filter((r) => r.topic === topic('orders')),
  );
  write(
    'order-items',
    `order_items of order ${BIG_ORDER_ID}: inserts with cents, incremental snapshot, deletes + tombstones`,
    orderRecords.filter((r) => r.topic === topic('order_items')),
  );
  write(
    'stores-toast',
    `store ${storeId}: insert with a ${description.length}-byte description (TOAST), rating-only update (placeholder), delete + tombstone`,
    storeRecords,
  );
}

/** Initial-snapshot rows of the dimensions (op r, source.snapshot first/true/last), and a heartbeat. */
async function writeSnapshotFixtures(): Promise<void> {
  const dims: FixtureRecord[] = [];
  // Stores may all have been created by the generator after the connector's initial snapshot: for them
  // the first rows of the topic are taken whatever their op, so the join in the replay tests has data.
  for (const table of ['countries', 'cities', 'stores']) {
    const want = table === 'stores' ? (r: FixtureRecord) => r.value !== null : (r: FixtureRecord) => op(r) === 'r';
    dims.push(...(await collect('beginning', [topic(table)], want, (rs) => rs.length >= 3)).slice(0, 3));
  }
  write('dimensions-snapshot', 'initial snapshot reads (op r) of countries and cities, and the first store rows', dims);
  const hb = await collect(
    'beginning',
    [debeziumHeartbeatTopic(cfg.topics)],
    () => true,
    (rs) => rs.length >= 1,
  );
  write('heartbeat', 'a Debezium heartbeat record', hb.slice(0, 1));
}

async function main(): Promise<void> {
  const db = new pg.Client({ connectionString: cfg.pg.url });
  await db.connect();
  const start = await endOffsets([topic('orders'), topic('order_items'), topic('stores')]);
  try {
    await cleanUp(db);
    const r0 = await reference(db);
    const { storeId, description } = await writeToastStore(db, r0);
    await writeOrderLifecycle(db, r0, storeId);
    await snapshotOrder(db, start);
    await deleteAll(db, storeId);
    await writeChangeFixtures(start, storeId, description);
    await writeSnapshotFixtures();
  } finally {
    await db.query(`ALTER TABLE orders DROP COLUMN IF EXISTS ${ADDED_COLUMN}`).catch(() => undefined);
    await db.end();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
