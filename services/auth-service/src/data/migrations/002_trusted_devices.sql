-- Device tokens (OWASP "device cookies"): a client that signed in before presents its token
-- and is throttled on its own counter, so other clients' failures on the same account or
-- address (a clinic's NAT) never lock it out. Only the hash is stored.
CREATE TABLE trusted_devices (
  token_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);
