\set k random(1, 100000)
UPDATE rotexp.s SET spent = (spent || live[1])[greatest(1, cardinality(spent) + 2 - 32):], live = ARRAY[sha256(random()::text::bytea)],
  last_seen_at = GREATEST(last_seen_at, now()), deadline = CASE WHEN idle_timeout > interval '0' THEN LEAST(expires_at, GREATEST(last_seen_at, now()) + idle_timeout) ELSE expires_at END,
  refresh_seq = refresh_seq + 1
WHERE id = 's' || :k AND deadline > now() AND live[1] = ANY(live) AND NOT ('\x00'::bytea = ANY(spent))
RETURNING id, user_id, username, roles, kind, csrf_hash, user_agent, ip, created_at, last_seen_at, idle_timeout, expires_at, amr, auth_time, jkt;
