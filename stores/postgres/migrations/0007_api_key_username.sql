-- authframe pgstore schema, version 7: an API key keeps its owner's username, so that a key
-- presented for the first time is verified with one query.

ALTER TABLE {{t "api_keys"}} ADD COLUMN username text NOT NULL DEFAULT '';
