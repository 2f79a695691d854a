-- Names in parts (FHIR HumanName): `family` and `given` (a JSON array); `name` stays, written as
-- the display name they make ("given… family"). Filled by 004. One statement: MySQL commits DDL
-- implicitly.
ALTER TABLE doctors
  ADD COLUMN family VARCHAR(200) NOT NULL DEFAULT '',
  ADD COLUMN given JSON NOT NULL DEFAULT (JSON_ARRAY())
