-- authframe pgstore schema, version 9: a token family bound to a DPoP key (RFC 9449)
-- records the key's thumbprint; '' for an unbound family or a cookie session.

ALTER TABLE {{t "sessions"}} ADD COLUMN jkt text NOT NULL DEFAULT '';
