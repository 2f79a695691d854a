-- Account mail: confirm an address, reset a forgotten password, accept an invitation.
-- Accounts from before this count as confirmed; from now on each insert says (self-registered: not yet).
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT true;
ALTER TABLE users ALTER COLUMN email_verified DROP DEFAULT;
-- An invited account has no password until its owner sets one.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

-- One row per mail asked for. The token is minted when the mailer fetches the link (each fetch
-- replaces the previous one) and only its hash is kept; a row is good for one use, until it
-- expires or a newer request of the same purpose for the account supersedes it.
CREATE TABLE account_mail_requests (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  purpose text NOT NULL CHECK (purpose IN ('verify-email', 'reset-password', 'invite')),
  token_hash text,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  superseded_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX account_mail_requests_token ON account_mail_requests (token_hash) WHERE token_hash IS NOT NULL;
-- At most one live request per account and purpose.
CREATE UNIQUE INDEX account_mail_requests_live ON account_mail_requests (user_id, purpose) WHERE used_at IS NULL AND superseded_at IS NULL;
