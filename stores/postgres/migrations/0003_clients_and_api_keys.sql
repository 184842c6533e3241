-- authframe pgstore schema, version 3: service clients and API keys. Neither holds a
-- secret: secret_hash and hash are the hashes the Guard computed.

CREATE TABLE {{t "clients"}} (
    id          text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    scopes      text[] NOT NULL DEFAULT '{}',
    secret_hash bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    disabled    boolean NOT NULL DEFAULT false
);
CREATE INDEX {{n "clients_created_at_idx"}} ON {{t "clients"}} (created_at, id);

-- A key is presented by its value, so it is found by its hash: the unique constraint is
-- also the index of that lookup. Its owner lists it (user_id, created_at) and names it by
-- id. expires_at is NULL for a key that never expires, last_used_at until it is used; the
-- cleanup job deletes expired keys through the partial index.
CREATE TABLE {{t "api_keys"}} (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL,
    name         text NOT NULL,
    permissions  text[] NOT NULL DEFAULT '{}',
    hash         bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT {{n "api_keys_hash_key"}} UNIQUE (hash)
);
CREATE INDEX {{n "api_keys_user_id_idx"}} ON {{t "api_keys"}} (user_id, created_at);
CREATE INDEX {{n "api_keys_expires_at_idx"}} ON {{t "api_keys"}} (expires_at) WHERE expires_at IS NOT NULL;
