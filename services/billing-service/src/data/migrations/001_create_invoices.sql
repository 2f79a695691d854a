CREATE TABLE invoices (
  id uuid PRIMARY KEY,
  number text NOT NULL UNIQUE,
  appointment_id uuid NOT NULL,
  patient_id uuid NOT NULL,
  patient_name text NOT NULL,
  doctor_id uuid NOT NULL,
  doctor_name text NOT NULL,
  specialization text NOT NULL,
  items jsonb NOT NULL,
  currency char(3) NOT NULL,
  net bigint NOT NULL,
  tax bigint NOT NULL,
  gross bigint NOT NULL CHECK (net + tax = gross),
  tax_rate_bps integer NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'issued', 'balanced', 'cancelled')),
  issued_at timestamptz NOT NULL,
  due_date date NOT NULL,
  balanced_at timestamptz,
  cancelled_at timestamptz,
  cancellation_reason text,
  -- One invoice per appointment, however often appointment.paid is delivered.
  CONSTRAINT invoices_one_per_appointment UNIQUE (appointment_id)
);
CREATE INDEX invoices_by_issue ON invoices (issued_at, id);
CREATE INDEX invoices_by_patient ON invoices (patient_id, issued_at, id);

-- Gap-free numbering: the counter row is taken in the invoice's own transaction.
CREATE TABLE invoice_counters (year integer PRIMARY KEY, last integer NOT NULL);

-- Messages billing could not process (dropped → dead-letter topic) and their arrival back from it.
CREATE TABLE dead_letters (
  event_id text PRIMARY KEY,
  event_type text,
  reason text,
  payload jsonb NOT NULL,
  dropped_at timestamptz,
  drained_at timestamptz
);
