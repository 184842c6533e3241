-- authframe pgstore schema, version 1.
--
-- A text/template: the function t names a table of the store's schema and prefix (quoted
-- and schema-qualified), n an index or constraint with the prefix. Identifiers that are
-- opaque handles (ids, keys) use the "C" collation: byte order, cheaper comparisons, and
-- the same order as every other authframe store when exporting.

CREATE TABLE {{t "users"}} (
    id            text COLLATE "C" PRIMARY KEY,
    username      text NOT NULL,
    password_hash text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT {{n "users_username_key"}} UNIQUE (username)
);

CREATE TABLE {{t "sessions"}} (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL,
    username     text NOT NULL DEFAULT '',
    roles        text[] NOT NULL DEFAULT '{}',
    kind         text NOT NULL,
    csrf_hash    bytea,
    user_agent   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    idle_timeout interval NOT NULL DEFAULT '0',
    expires_at   timestamptz NOT NULL,
    -- The sooner of expires_at and last_seen_at + idle_timeout. Every statement that moves
    -- last_seen_at recomputes it (timestamptz + interval is not immutable, so it cannot be a
    -- generated column); reads filter on it and the cleanup job deletes by it.
    deadline     timestamptz NOT NULL
);
CREATE INDEX {{n "sessions_user_id_idx"}} ON {{t "sessions"}} (user_id, created_at);
CREATE INDEX {{n "sessions_deadline_idx"}} ON {{t "sessions"}} (deadline);

-- A token is always presented with its session (the sid is part of it), so the key is the
-- pair: a rotation is one probe of this index however long the family has grown, and the
-- same index serves the ON DELETE CASCADE and the export of a family, so a token insert
-- maintains one index, not two.
CREATE TABLE {{t "refresh_tokens"}} (
    session_id text COLLATE "C" NOT NULL REFERENCES {{t "sessions"}} (id) ON DELETE CASCADE,
    hash       bytea NOT NULL,
    spent      boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, hash)
);

CREATE TABLE {{t "revocations"}} (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    key        text COLLATE "C" NOT NULL,
    at         timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX {{n "revocations_at_idx"}} ON {{t "revocations"}} (at);
CREATE INDEX {{n "revocations_expires_at_idx"}} ON {{t "revocations"}} (expires_at);

CREATE TABLE {{t "rate_limits"}} (
    key      text COLLATE "C" PRIMARY KEY,
    count    bigint NOT NULL,
    reset_at timestamptz NOT NULL
);
CREATE INDEX {{n "rate_limits_reset_at_idx"}} ON {{t "rate_limits"}} (reset_at);
