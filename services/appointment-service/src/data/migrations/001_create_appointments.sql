-- btree_gist lets an exclusion constraint combine "same doctor" (=) with "overlapping time" (&&).
-- It is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE appointments (
  id uuid PRIMARY KEY,
  patient_id uuid NOT NULL,
  doctor_id uuid NOT NULL,
  patient_name text NOT NULL,
  doctor_name text NOT NULL,
  specialization text NOT NULL,
  start_at timestamptz NOT NULL,
  end_at timestamptz NOT NULL,
  service_type text NOT NULL CHECK (service_type IN ('consultation', 'surgery', 'vaccination', 'checkup', 'follow-up')),
  reason text,
  amount bigint NOT NULL CHECK (amount >= 0),
  currency char(3) NOT NULL,
  status text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'checked-in', 'fulfilled', 'cancelled', 'noshow')),
  cancellation_reason text,
  payment_method text,
  paid_amount bigint,
  paid_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (end_at > start_at),
  -- No double booking, decided by the database: two concurrent bookings cannot both commit.
  CONSTRAINT appointments_doctor_no_overlap EXCLUDE USING gist (doctor_id WITH =, tstzrange(start_at, end_at) WITH &&)
    WHERE (status IN ('booked', 'checked-in', 'fulfilled')),
  CONSTRAINT appointments_patient_no_overlap EXCLUDE USING gist (patient_id WITH =, tstzrange(start_at, end_at) WITH &&)
    WHERE (status IN ('booked', 'checked-in', 'fulfilled'))
);

CREATE INDEX appointments_by_start ON appointments (start_at, id);
CREATE INDEX appointments_by_patient ON appointments (patient_id, start_at, id);
CREATE INDEX appointments_by_doctor ON appointments (doctor_id, start_at, id);
CREATE INDEX appointments_by_end ON appointments (end_at);

-- Appointments are part of the medical and billing record: the cleanup moves old
-- ones here (out of the hot table and its exclusion indexes) rather than erasing them.
CREATE TABLE appointments_archive (LIKE appointments INCLUDING DEFAULTS INCLUDING CONSTRAINTS EXCLUDING INDEXES);
ALTER TABLE appointments_archive ADD PRIMARY KEY (id);
ALTER TABLE appointments_archive ADD COLUMN archived_at timestamptz NOT NULL DEFAULT now();

-- One row per cleanup run: replicas that each fire their own cron see a recent run and skip.
CREATE TABLE cleanup_runs (
  id uuid PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  cutoff timestamptz NOT NULL,
  archived integer NOT NULL DEFAULT 0
);
