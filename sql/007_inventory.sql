-- 007: inventory. Stock per store and product, and the reason an order was cancelled, so that a sale lost to a
-- stock-out is a fact in the database (docs/contracts.md, "Inventory").
--
-- One row per product (a product belongs to one store; store_id is kept on the row so that stock is read per
-- store without a join). `units` may go negative: a writer with a bug or a manual UPDATE can do it, and the
-- pipeline must show it as it is (counted on "Impossible stock"), not hide it behind a CHECK that would make the
-- bad write fail somewhere nobody looks.
--
-- The generator reserves stock when an order is accepted (units − quantity), returns it when an accepted order
-- is cancelled, restocks on a schedule (up to target_units once units ≤ reorder_point), and rejects an order
-- whose items are not all in stock: status 'cancelled', cancel_reason 'out_of_stock'.
CREATE TABLE stock_levels (
  product_id     bigint      PRIMARY KEY REFERENCES products (id),
  store_id       bigint      NOT NULL REFERENCES stores (id),
  units          int         NOT NULL,
  reorder_point  int         NOT NULL CHECK (reorder_point >= 0),
  target_units   int         NOT NULL CHECK (target_units > 0),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_levels_store_idx ON stock_levels (store_id);

-- Why an order was cancelled: 'out_of_stock' (rejected at acceptance), 'customer', 'store'; null otherwise.
ALTER TABLE orders ADD COLUMN cancel_reason text
  CHECK (cancel_reason IS NULL OR cancel_reason IN ('out_of_stock', 'customer', 'store'));

-- FULL: an update carries the units before it, so the journal of a manual UPDATE is exact too, and a delete
-- carries the whole row.
ALTER TABLE stock_levels REPLICA IDENTITY FULL;
ALTER PUBLICATION pulso_pub ADD TABLE stock_levels;

-- The stock row of every product that has none yet: a deterministic target between 4 and 23 units (a dark
-- store's shelf, so that busy products do run out between hourly restocks), full, reordering at a quarter of it. Run below for the products a migrated database holds already, and called by the
-- generator after it creates its marketplace (and at every start, for products someone else added), so the rule
-- is written once.
CREATE FUNCTION pulso_stock_for_new_products() RETURNS integer LANGUAGE sql AS $$
  WITH added AS (
    INSERT INTO stock_levels (product_id, store_id, units, reorder_point, target_units)
    SELECT p.id, p.store_id, 4 + (p.id * 37) % 20, (4 + (p.id * 37) % 20) / 4, 4 + (p.id * 37) % 20
    FROM products p
    WHERE NOT EXISTS (SELECT 1 FROM stock_levels s WHERE s.product_id = p.id)
    ON CONFLICT (product_id) DO NOTHING
    RETURNING 1
  )
  SELECT count(*)::int FROM added;
$$;
SELECT pulso_stock_for_new_products();
