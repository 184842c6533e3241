-- authframe pgstore schema, version 2: a refresh family keeps its last {{kept}} spent
-- tokens rather than every one.
--
-- sessions.refresh_seq counts the spends of the session's family, and a spent token's
-- spent_seq is that count at its spend (0: spent by a release of version 1). A spend
-- deletes, in the same statement, the spent token numbered {{kept}} spends before it, found
-- by one probe of the partial index: never a search of the family, which would also walk
-- the dead rows that refreshes leave until a vacuum. The index holds spent tokens only, so
-- a new token's insert does not maintain it.
ALTER TABLE {{t "sessions"}} ADD COLUMN refresh_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE {{t "refresh_tokens"}} ADD COLUMN spent_seq bigint NOT NULL DEFAULT 0;

-- Families spent under version 1 hold every spent token: keep the last {{kept}} by
-- creation (in a chain of rotations, the spend order), numbered 1 to k from the oldest, and
-- start the family's count at k.
WITH ranked AS (
    SELECT session_id, hash,
        row_number() OVER (PARTITION BY session_id ORDER BY created_at DESC, hash DESC) AS rn,
        least(count(*) OVER (PARTITION BY session_id), {{kept}}) AS k
    FROM {{t "refresh_tokens"}}
    WHERE spent
), forgotten AS (
    DELETE FROM {{t "refresh_tokens"}} r USING ranked
    WHERE r.session_id = ranked.session_id AND r.hash = ranked.hash AND ranked.rn > {{kept}}
), numbered AS (
    UPDATE {{t "refresh_tokens"}} r SET spent_seq = ranked.k + 1 - ranked.rn
    FROM ranked
    WHERE r.session_id = ranked.session_id AND r.hash = ranked.hash AND ranked.rn <= {{kept}}
)
UPDATE {{t "sessions"}} s SET refresh_seq = f.k
FROM (SELECT DISTINCT session_id, k FROM ranked) f
WHERE s.id = f.session_id;

CREATE INDEX {{n "refresh_tokens_spent_seq_idx"}} ON {{t "refresh_tokens"}} (session_id, spent_seq) WHERE spent;
