-- Account mail (confirm an address, reset a password, accept an invitation) joins the same ledger,
-- sender and budget as mail about appointments. Such a notice is about an account mail request of
-- auth-service, not an appointment: its key is the request (one notice per request, whatever the
-- redeliveries), and it keeps the request's and the account's ids only. The recipient and the
-- single-use link are fetched from auth-service when the mail is written; no address, no token here.
ALTER TABLE notices
  ALTER COLUMN appointment_id DROP NOT NULL,
  ALTER COLUMN patient_id DROP NOT NULL,
  ALTER COLUMN doctor_id DROP NOT NULL,
  ALTER COLUMN appointment_start DROP NOT NULL,
  ADD COLUMN request_id uuid,
  ADD COLUMN account_id uuid,
  DROP CONSTRAINT notices_kind_check,
  ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('confirmation', 'reminder', 'cancellation', 'receipt', 'verify-email', 'reset-password', 'invite')),
  -- Either about an appointment (with its patient, doctor and time) or about an account mail request, never half of each.
  ADD CONSTRAINT notices_subject CHECK (
    CASE WHEN kind IN ('verify-email', 'reset-password', 'invite')
      THEN request_id IS NOT NULL AND account_id IS NOT NULL AND appointment_id IS NULL AND patient_id IS NULL
           AND doctor_id IS NULL AND appointment_start IS NULL
      ELSE request_id IS NULL AND account_id IS NULL AND appointment_id IS NOT NULL AND patient_id IS NOT NULL
           AND doctor_id IS NOT NULL AND appointment_start IS NOT NULL
    END),
  ADD CONSTRAINT notices_request_once UNIQUE (request_id);
