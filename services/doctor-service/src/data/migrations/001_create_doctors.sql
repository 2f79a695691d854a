CREATE TABLE doctors (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  email VARCHAR(254) NOT NULL,
  phone VARCHAR(40) NULL,
  specialization VARCHAR(40) NOT NULL,
  license_number VARCHAR(100) NOT NULL,
  years_of_experience INT NOT NULL,
  hospital_name VARCHAR(200) NOT NULL,
  department VARCHAR(200) NOT NULL,
  accepting BOOLEAN NOT NULL,
  working_hours JSON NOT NULL,
  slot_minutes INT NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  version INT NOT NULL DEFAULT 1,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  deleted_at TIMESTAMP(3) NULL,
  -- MySQL has no partial unique index: these columns are NULL once a doctor is
  -- soft-deleted, and unique indexes allow many NULLs.
  live_email VARCHAR(254) AS (IF(deleted_at IS NULL, email, NULL)) STORED,
  live_license VARCHAR(100) AS (IF(deleted_at IS NULL, license_number, NULL)) STORED,
  UNIQUE KEY doctors_email_live (live_email),
  UNIQUE KEY doctors_license_live (live_license),
  KEY doctors_name_order (deleted_at, name, id),
  KEY doctors_email_prefix (deleted_at, email),
  KEY doctors_specialization_order (deleted_at, specialization, accepting, name, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
