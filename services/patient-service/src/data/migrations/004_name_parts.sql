-- Names in parts (FHIR HumanName): `family` and `given`; `name` stays, written as the display name
-- they make ("given… family"). Existing names are split by the rule of splitName (@caregrid/contracts):
-- the last whitespace-separated word is the family name, the words before it the given names.
ALTER TABLE patients ADD COLUMN family text, ADD COLUMN given text[] NOT NULL DEFAULT '{}';
UPDATE patients
   SET family = substring(btrim(name) FROM '(\S+)$'),
       given = coalesce(regexp_split_to_array(nullif(btrim(regexp_replace(btrim(name), '\S+$', '')), ''), '\s+'), '{}');
ALTER TABLE patients ALTER COLUMN family SET NOT NULL;

-- Name search ignores case and accents: a name folded to lower case without diacritics (decomposed,
-- combining marks dropped; marks before lower(), so a C-ctype database folds Latin letters too).
CREATE FUNCTION fold_name(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT btrim(regexp_replace(lower(regexp_replace(normalize(value, NFD), '[\u0300-\u036f]', '', 'g')), '\s+', ' ', 'g'))
$$;

-- The name's parts folded, space-separated and space-framed (" ann marie muller "), so that the start
-- of any part is `LIKE '% mul%'` and a whole part `LIKE '% muller %'`: one trigram index serves both,
-- and `contains`.
CREATE FUNCTION name_search_key(given text[], family text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ' ' || fold_name(array_to_string(given || family, ' ')) || ' '
$$;

ALTER TABLE patients ADD COLUMN name_search text GENERATED ALWAYS AS (name_search_key(given, family)) STORED;

-- pg_trgm is a trusted extension: the database owner may create it (Compose's init script makes it
-- as the superuser beforehand).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX patients_name_search ON patients USING gin (name_search gin_trgm_ops) WHERE deleted_at IS NULL;
