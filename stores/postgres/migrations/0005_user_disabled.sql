-- authframe pgstore schema, version 5: a user can be disabled, kept on record but refused
-- at login, refresh and session renewal. Existing users stay enabled. The default keeps
-- the inserts of an older release (a rolling upgrade) valid; they create enabled users.
--
-- Versions 4 and 6 belong to other features: the runner applies every embedded migration
-- missing from schema_migrations, in version order, so a gap in the numbers is fine.
ALTER TABLE {{t "users"}} ADD COLUMN disabled boolean NOT NULL DEFAULT false;
