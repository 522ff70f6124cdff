-- 006: daily exchange rates to the reporting currency (USD), so that every order can be reported in one
-- currency (docs/contracts.md, "Reporting currency").
--
-- One row per currency and calendar date: usd_per_unit US dollars buy one unit of the currency on that
-- date. The transformer joins an order to the row of its currency at its business_date (the store's local
-- date) and computes its USD amount once: usd_cents = round(total × usd_per_unit × 100), half away from
-- zero, exactly (integers, no floating point). In SQL the same amount is round(total * usd_per_unit, 2), since
-- a numeric product is exact; that is how the reconciliation recomputes it (pipeline/reconcile.ts).
--
-- The rate is stored as USD per unit, not units per USD, so that the conversion is a multiplication: exact in
-- PostgreSQL and in the transformer alike, where a division would round twice. Twelve fraction digits keep at
-- least eight significant digits for the weakest currency the marketplace sells in (COP, ~0.00025 USD).
-- A published rate is final: the generator inserts a date's rates ahead of the date and never updates them
-- (its role has no UPDATE, sql/privileges.sql).
CREATE TABLE fx_rates (
  currency      char(3)        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  rate_date     date           NOT NULL,
  usd_per_unit  numeric(18,12) NOT NULL CHECK (usd_per_unit > 0),
  source        text           NOT NULL DEFAULT 'generator',
  created_at    timestamptz    NOT NULL DEFAULT now(),
  PRIMARY KEY (currency, rate_date)
);

-- A dimension like countries and cities: consumers keep the latest row per key (REPLICA IDENTITY DEFAULT).
ALTER TABLE fx_rates REPLICA IDENTITY DEFAULT;
ALTER PUBLICATION pulso_pub ADD TABLE fx_rates;
