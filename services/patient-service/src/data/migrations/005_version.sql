-- Each change of a record counts up its version (FHIR's versionId, the ETag a conditional write
-- names in If-Match): existing records start at 1, as new ones do.
ALTER TABLE patients ADD COLUMN version integer NOT NULL DEFAULT 1;
