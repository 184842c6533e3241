-- authframe pgstore schema, version 6: the signing-key ring of automatic key rotation
-- (core/keys). No key is held in the clear: sealed is a private key encrypted under the
-- application's key-encryption key, which the database never sees.

CREATE TABLE {{t "signing_keys"}} (
    id         text COLLATE "C" PRIMARY KEY,
    algorithm  text NOT NULL,
    state      text NOT NULL CONSTRAINT {{n "signing_keys_state_check"}} CHECK (state IN ('next', 'active', 'retiring')),
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL,
    active_at  timestamptz,
    retired_at timestamptz,
    expires_at timestamptz
);

-- The ring's version: one row, moved by every write of the ring, which is conditional on
-- it, so a rotation step is one transaction that either replaces the whole ring or
-- changes nothing.
CREATE TABLE {{t "signing_key_ring"}} (
    id      boolean PRIMARY KEY DEFAULT true CONSTRAINT {{n "signing_key_ring_one_row"}} CHECK (id),
    version bigint NOT NULL
);
INSERT INTO {{t "signing_key_ring"}} (id, version) VALUES (true, 0);

-- The rotation lock: at most one row. expires_at is on the database's clock, the one
-- clock every instance shares.
CREATE TABLE {{t "signing_key_lock"}} (
    id         boolean PRIMARY KEY DEFAULT true CONSTRAINT {{n "signing_key_lock_one_row"}} CHECK (id),
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL
);
