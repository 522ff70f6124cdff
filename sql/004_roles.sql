-- 004: least-privilege roles for everything that is not a migration. Roles are cluster-wide, so they may
-- exist already (another database on the same server); passwords are set by sql/migrate.ts from the local
-- secrets, never written here.
--   pulso_app      the generator: reads and writes the marketplace's rows, nothing else (no DDL, no roles,
--                  no replication, not the CDC signal table).
--   pulso_monitor  `npm run status` and the health checks: pg_monitor (replication slot lag, activity), no data.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pulso_app') THEN
    CREATE ROLE pulso_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pulso_monitor') THEN
    CREATE ROLE pulso_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO pulso_app, pulso_monitor', current_database());
END
$$;
GRANT pg_monitor TO pulso_monitor;

GRANT USAGE ON SCHEMA public TO pulso_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON countries, cities, stores, customers, addresses, products, orders,
  order_items, payments, order_status_history, geocode_cache TO pulso_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO pulso_app;
-- The generator checks the schema is current before it writes.
GRANT SELECT ON schema_migrations TO pulso_app;
