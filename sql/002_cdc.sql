-- 002: what change data capture needs: heartbeat and signal tables, replica identities,
-- the publication and a least-privilege replication role.

-- Debezium's heartbeat.action.query upserts this row. Without traffic on a captured table the
-- connector never commits an offset, the slot never confirms an LSN and WAL piles up (reference §2.2);
-- the table must be in the publication for the write to reach the connector.
CREATE TABLE dbz_heartbeat (
  id  int PRIMARY KEY,
  ts  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO dbz_heartbeat (id, ts) VALUES (1, now());

-- Debezium signal table (ad-hoc incremental snapshots); DDL as documented (reference §2.6).
-- The connector writes snapshot watermarks here, hence INSERT for the replication role below.
CREATE TABLE debezium_signal (
  id    varchar(42) PRIMARY KEY,
  type  varchar(32) NOT NULL,
  data  varchar(2048)
);

-- REPLICA IDENTITY decides what an UPDATE/DELETE carries in `before` (reference §1.5).
-- orders: FULL, so a status update carries the previous status (previous_status in OrderEvent) and a
--   delete carries the whole row (the last status, store, money) instead of the id alone.
ALTER TABLE orders REPLICA IDENTITY FULL;
-- order_items: FULL, because the order_items topic is keyed by order_id: under DEFAULT a delete would
--   carry only the item id and the transformer could not route it. Items are never updated, so FULL
--   costs WAL only on deletes.
ALTER TABLE order_items REPLICA IDENTITY FULL;
-- payments: FULL, so pending → paid → refunded updates carry the previous status and deletes the order_id.
ALTER TABLE payments REPLICA IDENTITY FULL;
-- order_status_history: append-only; rows are deleted only with their order, whose FULL delete already
--   says everything, so the primary key is enough.
ALTER TABLE order_status_history REPLICA IDENTITY DEFAULT;
-- Dimensions (countries, cities, customers, products): DEFAULT. Consumers keep the latest `after`
--   per key and never need the previous values, so FULL would only double the WAL of every update.
ALTER TABLE countries REPLICA IDENTITY DEFAULT;
ALTER TABLE cities REPLICA IDENTITY DEFAULT;
ALTER TABLE customers REPLICA IDENTITY DEFAULT;
ALTER TABLE products REPLICA IDENTITY DEFAULT;
-- stores: DEFAULT on purpose, although stores.description is a large text column. An out-of-line
--   (TOASTed) value that an UPDATE leaves unchanged is not in the WAL record under DEFAULT, so Debezium
--   puts '__debezium_unavailable_value' in `after.description` (reference §1.6). FULL would log the
--   whole multi-kB menu on every rating/is_active change; instead the transformer must treat the
--   placeholder as "unchanged" and keep the description it already has. The generator's store
--   updates leave description unchanged, so the pipeline sees this case regularly.
ALTER TABLE stores REPLICA IDENTITY DEFAULT;
-- EXTERNAL: long descriptions go out of line uncompressed, so the case above really happens for
--   every long description instead of depending on how well the text compresses.
ALTER TABLE stores ALTER COLUMN description SET STORAGE EXTERNAL;
ALTER TABLE dbz_heartbeat REPLICA IDENTITY DEFAULT;
ALTER TABLE debezium_signal REPLICA IDENTITY DEFAULT;

-- An explicit table list: the connector runs with publication.autocreate.mode=disabled, and
-- addresses, geocode_cache and schema_migrations stay out of the stream (addresses are personal data
-- that no dashboard needs).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'pulso_pub') THEN
    ALTER PUBLICATION pulso_pub SET TABLE
      countries, cities, stores, customers, products, orders, order_items, payments,
      order_status_history, dbz_heartbeat, debezium_signal;
  ELSE
    CREATE PUBLICATION pulso_pub FOR TABLE
      countries, cities, stores, customers, products, orders, order_items, payments,
      order_status_history, dbz_heartbeat, debezium_signal;
  END IF;
END
$$;

-- The replication role. Roles are cluster-wide, so it may exist already (another database on the
-- same server); its password is set by sql/migrate.ts from the local secrets, never written here.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pulso_cdc') THEN
    CREATE ROLE pulso_cdc LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
  ELSE
    ALTER ROLE pulso_cdc LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
  END IF;
END
$$;

-- Least privilege: read the captured tables (snapshots), write only the heartbeat and signal tables.
-- No CREATE on the database and no table ownership are needed because the publication exists.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO pulso_cdc', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO pulso_cdc;
GRANT SELECT ON countries, cities, stores, customers, products, orders, order_items, payments,
  order_status_history, dbz_heartbeat, debezium_signal TO pulso_cdc;
GRANT INSERT, UPDATE ON dbz_heartbeat, debezium_signal TO pulso_cdc;
