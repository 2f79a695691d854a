-- The clinic's tariff per doctor: a price per service type in integer minor
-- units (JSON object, service type → amount) and one ISO 4217 currency.
-- Existing doctors get an empty tariff (nothing bookable until staff set fees).
-- One statement: MySQL commits DDL implicitly.
ALTER TABLE doctors
  ADD COLUMN fees JSON NOT NULL DEFAULT (JSON_OBJECT()),
  ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'EUR'
