\set k random(1, 100000)
WITH live AS (SELECT id, refresh_seq + 1 AS seq FROM rotexp.s WHERE id = 's' || :k AND deadline > now() FOR NO KEY UPDATE
), spend AS (UPDATE rotexp.r SET spent = true, spent_seq = (SELECT seq FROM live) WHERE session_id = (SELECT id FROM live) AND NOT spent RETURNING session_id
), fresh AS (INSERT INTO rotexp.r (hash, session_id, spent, created_at) SELECT sha256(random()::text::bytea), session_id, false, now() FROM spend RETURNING session_id
), touched AS (UPDATE rotexp.s SET last_seen_at = GREATEST(last_seen_at, now()), deadline = CASE WHEN idle_timeout > interval '0' THEN LEAST(expires_at, GREATEST(last_seen_at, now()) + idle_timeout) ELSE expires_at END,
   refresh_seq = (SELECT seq FROM live) WHERE id = (SELECT session_id FROM fresh)
   RETURNING id, user_id, username, roles, kind, csrf_hash, user_agent, ip, created_at, last_seen_at, idle_timeout, expires_at, amr, auth_time, jkt
), forgotten AS (DELETE FROM rotexp.r WHERE session_id = (SELECT session_id FROM spend) AND spent AND spent_seq = (SELECT seq FROM live) - 32)
SELECT * FROM touched;
