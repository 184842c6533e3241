-- authframe pgstore schema, version 8: a session keeps the authentication methods of the
-- login that started it (RFC 8176 amr: pwd, otp, ...) and the time of that login, which
-- its tokens carry as amr and auth_time. Sessions started before this version read back
-- without either (an empty amr, and auth_time at the zero time, which the Guard reads as
-- unknown), so that no step-up check ever counts them as a second factor. The defaults
-- are constants: adding the columns rewrites no row.

ALTER TABLE {{t "sessions"}}
    ADD COLUMN amr       text[] NOT NULL DEFAULT '{}',
    ADD COLUMN auth_time timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00';
