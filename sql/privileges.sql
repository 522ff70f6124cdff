-- Declared privileges, applied after the versioned migrations on EVERY run of sql/migrate.ts (not recorded in
-- schema_migrations): each role is brought to exactly what is written here, whatever it was given before (by
-- an older migration, by hand, by another database on the same server). Everything not granted below is
-- revoked. Idempotent: a second run ends in the same state.
--
--   PUBLIC         nothing: no CONNECT, no TEMP on this database, no CREATE in schema public.
--   pulso_app      the generator: reads the reference tables; publishes exchange rates (insert only); reads, inserts and updates the marketplace
--                  and its stock; deletes
--                  only the rows its purges remove (orders with their items, payments and history).
--   pulso_cdc      Debezium: reads the published tables (snapshots), writes the heartbeat and signal tables.
--   pulso_monitor  `npm run status` and health checks: pg_monitor (slots, activity), no data.
DO $$
DECLARE
  r text;
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  FOREACH r IN ARRAY ARRAY['pulso_app', 'pulso_cdc', 'pulso_monitor'] LOOP
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', current_database(), r);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', r);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', r);
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', r);
    EXECUTE format('REVOKE ALL ON SCHEMA public FROM %I', r);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r);
  END LOOP;
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;

-- Role attributes, as declared (a role created long ago, or changed by hand, is brought back).
ALTER ROLE pulso_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
ALTER ROLE pulso_cdc LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
ALTER ROLE pulso_monitor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
GRANT pg_monitor TO pulso_monitor;

GRANT USAGE ON SCHEMA public TO pulso_app, pulso_cdc;

GRANT SELECT ON countries, cities, schema_migrations TO pulso_app;
-- Exchange rates: the generator publishes a date's rates ahead of it; a published rate is final (no UPDATE).
GRANT SELECT, INSERT ON fx_rates TO pulso_app;
GRANT SELECT, INSERT, UPDATE ON stores, products, customers, addresses, geocode_cache TO pulso_app;
-- Stock: reserved, returned and restocked by the generator; a stock row is never deleted by it.
GRANT SELECT, INSERT, UPDATE ON stock_levels TO pulso_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON orders, order_items, payments, order_status_history TO pulso_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO pulso_app;
GRANT EXECUTE ON FUNCTION pulso_align_sequences() TO pulso_app;
GRANT EXECUTE ON FUNCTION pulso_stock_for_new_products() TO pulso_app;

GRANT SELECT ON countries, cities, stores, customers, products, orders, order_items, payments,
  order_status_history, fx_rates, stock_levels, dbz_heartbeat, debezium_signal TO pulso_cdc;
GRANT INSERT, UPDATE ON dbz_heartbeat, debezium_signal TO pulso_cdc;
