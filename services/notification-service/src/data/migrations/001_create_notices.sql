-- The ledger of mail about appointments: one row per (appointment, kind, version), however often
-- the event or the job behind it is delivered. Ids and times only: the recipient's address and
-- name are read from patient-service when the mail is written.
CREATE TABLE notices (
  id uuid PRIMARY KEY,
  appointment_id uuid NOT NULL,
  patient_id uuid NOT NULL,
  doctor_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('confirmation', 'reminder', 'cancellation', 'receipt')),
  version integer NOT NULL CHECK (version > 0),
  status text NOT NULL CHECK (status IN ('scheduled', 'pending', 'sent', 'failed', 'skipped')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_error text,
  appointment_start timestamptz NOT NULL,
  due_at timestamptz,
  job_name text,
  -- The sender that holds the row while it sends, until claimed_until (a dead sender's claim expires).
  claimed_by text,
  claimed_until timestamptz,
  sent_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT notices_once UNIQUE (appointment_id, kind, version)
);
-- The sender's question: what is due?
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE status = 'pending';
-- The sweep's: which reminders wait for a job?
CREATE INDEX notices_scheduled ON notices (due_at) WHERE status = 'scheduled';
CREATE INDEX notices_by_patient ON notices (patient_id, created_at, id);
CREATE INDEX notices_by_doctor ON notices (doctor_id, created_at, id);

-- A patient's choice: reminders off (confirmations of their own actions always go).
CREATE TABLE preferences (
  patient_id uuid PRIMARY KEY,
  reminders boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
