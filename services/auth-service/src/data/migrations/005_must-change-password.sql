-- A password someone else set (an admin creating the account) is its owner's to replace before
-- the account signs in. Accounts from before this keep signing in as they did.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
