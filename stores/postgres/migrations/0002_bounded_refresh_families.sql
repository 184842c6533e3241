-- authframe pgstore schema, version 2: a refresh family keeps its last {{kept}} spent
-- tokens rather than every one.
--
-- sessions.refresh_seq counts the spends of the session's family, and a spent token's
-- spent_seq is that count at its spend: a spend deletes, in the same statement, the spent
-- tokens {{kept}} or more spends behind it. Neither column is indexed: a spend sets
-- spent_seq on the one row it spends (a heap-only update, as before), and the deletion
-- reads the family, at most {{kept}} + 2 rows, through the primary key.
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
