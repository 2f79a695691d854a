-- Sign-in throttling delays instead of locking out: a key's failures set when it may try next
-- (seconds at most for an address), forgotten after a quiet spell. Counters of the old lockout are
-- dropped: they are transient, and a lock they hold would outlast the new caps.
DELETE FROM login_throttle;
ALTER TABLE login_throttle RENAME COLUMN window_start TO last_failure_at;
ALTER TABLE login_throttle RENAME COLUMN locked_until TO next_attempt_at;

-- Token buckets of per-address limits that are not about failures (keys 'register:<address>').
CREATE TABLE address_buckets (
  key text PRIMARY KEY,
  tokens double precision NOT NULL,
  updated_at timestamptz NOT NULL
);
