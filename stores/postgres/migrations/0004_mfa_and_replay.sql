-- authframe pgstore schema, version 4: two-factor records and replay keys. No secret is
-- held in the clear: sealed_secret is the TOTP secret sealed by the Guard, and
-- recovery_hashes the hashes of the unused recovery codes.

-- One row per user. A pending enrolment (confirmed = false) is replaced by the next one; a
-- confirmed record is only deleted. last_step is the last TOTP step accepted, moved by a
-- conditional UPDATE so that a code logs in once.
CREATE TABLE {{t "mfa"}} (
    user_id         text COLLATE "C" PRIMARY KEY,
    sealed_secret   bytea NOT NULL,
    confirmed       boolean NOT NULL DEFAULT false,
    last_step       bigint NOT NULL DEFAULT 0,
    recovery_hashes bytea[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL
);

-- Keys (any bytes) remembered until expires_at: DPoP proofs' thumbprint and jti, say. A row past its
-- expiry is taken over by the next Remember of its key, and deleted by the cleanup job.
CREATE TABLE {{t "replay"}} (
    key        bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX {{n "replay_expires_at_idx"}} ON {{t "replay"}} (expires_at);
