CREATE TABLE patients (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  phone text,
  address text,
  date_of_birth date NOT NULL,
  gender text NOT NULL CHECK (gender IN ('male', 'female', 'other', 'unknown')),
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  user_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

-- Soft-deleted records keep their email; only live records must be unique.
CREATE UNIQUE INDEX patients_email_live ON patients (lower(email)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX patients_user_live ON patients (user_id) WHERE user_id IS NOT NULL AND deleted_at IS NULL;

-- Prefix search and keyset order; COLLATE "C" lets LIKE 'abc%' use the index whatever the database locale.
CREATE INDEX patients_name_order ON patients ((lower(name) COLLATE "C"), id) WHERE deleted_at IS NULL;
CREATE INDEX patients_email_prefix ON patients ((lower(email) COLLATE "C")) WHERE deleted_at IS NULL;
