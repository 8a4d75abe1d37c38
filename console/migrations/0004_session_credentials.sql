-- Which password a session was opened with (a short fingerprint of the account's
-- argon2 hash, never the hash): a session whose account has another password now
-- (changed with `streetwatch console-user`) is refused. Sessions from before this
-- column have none and end too: everyone logs in once more after the upgrade.
ALTER TABLE sessions ADD COLUMN credential TEXT NOT NULL DEFAULT '';
