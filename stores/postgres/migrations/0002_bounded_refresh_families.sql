-- authframe pgstore schema, version 2: a refresh family keeps its last {{kept}} spent
-- tokens rather than every one.
--
-- sessions.spent_order lists the hashes of the family's kept spent tokens, oldest spend
-- first. A spend appends its token and deletes, in the same statement, the tokens that it
-- pushes out of the list, each by its primary key: the cost of a rotation does not depend
-- on the family's history or on the dead rows it leaves before a vacuum. The list rides on
-- the session row that every rotation updates anyway (about 1 kB when full, stored inline).
ALTER TABLE {{t "sessions"}} ADD COLUMN spent_order bytea[] NOT NULL DEFAULT '{}';

-- Families spent under version 1 hold every spent token: keep the last {{kept}} by
-- creation (in a chain of rotations, the spend order) and list them.
WITH ranked AS (
    SELECT session_id, hash,
        row_number() OVER (PARTITION BY session_id ORDER BY created_at DESC, hash DESC) AS rn
    FROM {{t "refresh_tokens"}}
    WHERE spent
), forgotten AS (
    DELETE FROM {{t "refresh_tokens"}} r USING ranked
    WHERE r.session_id = ranked.session_id AND r.hash = ranked.hash AND ranked.rn > {{kept}}
)
UPDATE {{t "sessions"}} s SET spent_order = o.hashes
FROM (
    SELECT session_id, array_agg(hash ORDER BY rn DESC) AS hashes
    FROM ranked WHERE rn <= {{kept}} GROUP BY session_id
) o
WHERE s.id = o.session_id;
