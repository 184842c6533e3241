-- authframe pgstore schema, version 10: a refresh family started by this release lives in
-- its session row: refresh_live holds the unspent token (one, unless a copy added more),
-- refresh_spent the last {{kept}} spent ones, oldest first. A rotation is then one UPDATE
-- of one row, where the family table costs a row lock, an UPDATE, an INSERT, a DELETE and
-- four index entries.
--
-- Families in refresh_tokens (started before this version, or by an older release during
-- a rolling upgrade, or under WithLegacyRefreshFamilies) stay there and keep rotating
-- there until their sessions end: nothing is moved, so an older release still finds every
-- family it knows. The defaults are constants: no row is rewritten. STORAGE MAIN keeps the
-- arrays in the row (a family of {{kept}} spent hashes is about 1.2 kB): never moved out to
-- the TOAST table, where every rotation would write a second relation.

ALTER TABLE {{t "sessions"}}
    ADD COLUMN refresh_live  bytea[] NOT NULL DEFAULT '{}',
    ADD COLUMN refresh_spent bytea[] NOT NULL DEFAULT '{}';
ALTER TABLE {{t "sessions"}}
    ALTER COLUMN refresh_live  SET STORAGE MAIN,
    ALTER COLUMN refresh_spent SET STORAGE MAIN;
