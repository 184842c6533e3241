DROP SCHEMA IF EXISTS rotexp CASCADE;
CREATE SCHEMA rotexp;
SET search_path = rotexp;
CREATE TABLE s (
    id text COLLATE "C" PRIMARY KEY, user_id text COLLATE "C" NOT NULL, username text NOT NULL DEFAULT '',
    roles text[] NOT NULL DEFAULT '{}', kind text NOT NULL, csrf_hash bytea, user_agent text NOT NULL DEFAULT '',
    ip text NOT NULL DEFAULT '', created_at timestamptz NOT NULL, last_seen_at timestamptz NOT NULL,
    idle_timeout interval NOT NULL DEFAULT '0', expires_at timestamptz NOT NULL, deadline timestamptz NOT NULL,
    refresh_seq bigint NOT NULL DEFAULT 0, amr text[] NOT NULL DEFAULT '{}', auth_time timestamptz, jkt text NOT NULL DEFAULT '',
    live bytea[] NOT NULL DEFAULT '{}', spent bytea[] NOT NULL DEFAULT '{}');
CREATE INDEX ON s (user_id, created_at);
CREATE INDEX ON s (deadline);
CREATE TABLE r (session_id text COLLATE "C" NOT NULL REFERENCES s(id) ON DELETE CASCADE, hash bytea NOT NULL,
    spent boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL, spent_seq bigint NOT NULL DEFAULT 0, PRIMARY KEY (session_id, hash));
CREATE INDEX ON r (session_id, spent_seq) WHERE spent;
INSERT INTO s (id, user_id, username, roles, kind, user_agent, ip, created_at, last_seen_at, expires_at, deadline, amr, auth_time, live, spent)
SELECT 's' || i, 'u' || i, 'user' || i, '{user}', 'token', 'Mozilla/5.0 (X11; Linux x86_64) bench', '192.0.2.1', now(), now(), now() + interval '30 days', now() + interval '30 days', '{pwd}', now(),
  ARRAY[sha256(('l' || i)::bytea)], ARRAY(SELECT sha256(('sp' || i || '-' || k)::bytea) FROM generate_series(1, :nspent) k)
FROM generate_series(1, 100000) i;
INSERT INTO r (session_id, hash, spent, created_at) SELECT 's' || i, sha256(('l' || i)::bytea), false, now() FROM generate_series(1, 100000) i;
VACUUM ANALYZE s; VACUUM ANALYZE r;
