-- 005: rows written outside the generator (a psql session, the README walkthrough, another app) may carry
-- explicit ids ahead of the identity sequences; the generator's next insert would then collide with them.
-- pulso_align_sequences() moves each marketplace sequence past the largest id in its table (never back).
-- SECURITY DEFINER, so that the generator's role can call it without owning (or UPDATE on) the sequences;
-- privileges.sql grants EXECUTE to pulso_app alone.
CREATE FUNCTION pulso_align_sequences() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t text;
  seq text;
BEGIN
  FOREACH t IN ARRAY ARRAY['stores', 'customers', 'addresses', 'products', 'orders', 'order_items', 'payments', 'order_status_history'] LOOP
    seq := pg_get_serial_sequence(t, 'id');
    CONTINUE WHEN seq IS NULL;
    EXECUTE format(
      'SELECT setval(%L, GREATEST((SELECT COALESCE(max(id), 1) FROM %I), (SELECT last_value FROM %s)), true)',
      seq, t, seq);
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION pulso_align_sequences() FROM PUBLIC;
