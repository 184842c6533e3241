\set k random(1, 100000)
UPDATE rotexp.s SET last_seen_at = now() WHERE id = 's' || :k;
