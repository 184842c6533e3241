package authframe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/authframe/authframe/core/audit"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// accessClaims are the claims of the access tokens a Guard issues and of the tokens it
// accepts.
type accessClaims struct {
	jwt.RegisteredClaims
	SID               string   `json:"sid,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	// AMR and AuthTime describe the login the token's session began with (RFC 8176, and
	// OpenID Connect Core §2).
	AMR      []string         `json:"amr,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	// Cnf binds a DPoP-bound token to its key (RFC 9449 §6.1).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// confirmation is the cnf claim (RFC 7800) of a DPoP-bound token.
type confirmation struct {
	JKT string `json:"jkt"`
}

// parsedClaims is what verification decodes a token's claims into. Its fields are plain, so
// encoding/json fills them in one pass: golang-jwt's NumericDate and ClaimStrings each start a
// second decoder per field, which costs more than the rest of a verification outside the
// signature check. A time claim of 0 (or null) counts as absent: exp 0 is refused as missing,
// nbf and iat 0 are in the past anyway.
type parsedClaims struct {
	Iss               string   `json:"iss"`
	Sub               string   `json:"sub"`
	Aud               audience `json:"aud"`
	Exp               float64  `json:"exp"`
	Nbf               float64  `json:"nbf"`
	Iat               float64  `json:"iat"`
	Jti               string   `json:"jti"`
	SID               string   `json:"sid"`
	Roles             []string `json:"roles"`
	PreferredUsername string   `json:"preferred_username"`
	// ClientID and ClientName are set in service clients' tokens (RFC 9068 §2.2).
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name"`
	// Permission claims of remote issuers (see RemoteIssuer.PermissionClaims).
	Scope       claimStrings `json:"scope"`
	Scp         claimStrings `json:"scp"`
	Permissions claimStrings `json:"permissions"`
	// AMR and AuthTime are the login's methods and time (see accessClaims).
	AMR      []string `json:"amr"`
	AuthTime float64  `json:"auth_time"`
	// Cnf is the confirmation of a DPoP-bound token.
	Cnf *confirmation `json:"cnf"`
}

// claimStrings is a claim given as a space-separated string or an array of strings.
type claimStrings []string

func (c *claimStrings) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*c = strings.Fields(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*c = many
	return nil
}

func numericDate(f float64) *jwt.NumericDate {
	if f == 0 {
		return nil
	}
	sec, frac := math.Modf(f)
	return jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9)))
}

func (c *parsedClaims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.Exp), nil }
func (c *parsedClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(c.Iat), nil }
func (c *parsedClaims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(c.Nbf), nil }
func (c *parsedClaims) GetIssuer() (string, error)                   { return c.Iss, nil }
func (c *parsedClaims) GetSubject() (string, error)                  { return c.Sub, nil }
func (c *parsedClaims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings(c.Aud), nil }

// audience is the aud claim: one string or an array of strings (RFC 7519 §4.1.3).
type audience []string

// UnmarshalJSON reads the common shapes ("a" and ["a","b"] without escapes) directly; the
// decoder has already validated the whole document, so anything else is handed to
// encoding/json.
func (a *audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*a = nil
		return nil
	}
	if bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		if len(b) >= 2 && b[0] == '"' {
			*a = audience{string(b[1 : len(b)-1])}
			return nil
		}
		if out, ok := plainStringArray(b); ok {
			*a = out
			return nil
		}
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// plainStringArray parses a valid JSON array of strings without escapes.
func plainStringArray(b []byte) (audience, bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	out := audience{}
	for len(b) > 0 {
		if b[0] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(b[1:], '"')
		if end < 0 {
			return nil, false
		}
		out = append(out, string(b[1:1+end]))
		b = bytes.TrimSpace(b[end+2:])
		if len(b) == 0 {
			break
		}
		if b[0] != ',' {
			return nil, false
		}
		b = bytes.TrimSpace(b[1:])
		if len(b) == 0 {
			return nil, false
		}
	}
	return out, true
}

var (
	errCrit       = errors.New("token has a crit header")
	errType       = errors.New("token has the wrong typ")
	errUnknownKey = errors.New("no key matches the token")
	errKeyAlg     = errors.New("token alg does not match its key")
	errShape      = errors.New("token is not a compact JWS")
	errIssuer     = errors.New("token issuer is not accepted")
)

// keyFor picks the one key that may verify t and refuses anything ambiguous. The parser has
// already decoded the claims (unverified) and checked alg against the allow-list. A token
// whose iss is a remote issuer's is verified with that issuer's keys only; every other
// token with the local keys only, so no key source vouches for another's issuer.
func (g *Guard) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errCrit
	}
	typ, _ := t.Header["typ"].(string)
	alg := t.Method.Alg()
	if len(g.remotes) > 0 {
		if c, ok := t.Claims.(*parsedClaims); ok {
			if src := g.remoteFor(c.Iss); src != nil {
				if !typeAccepted(typ, src.types) {
					return nil, errType
				}
				if strings.HasPrefix(alg, "HS") {
					return nil, errUnknownKey
				}
				return src.keyFor(ctx, t)
			}
		}
	}
	if !typeAccepted(typ, g.cfg.types) {
		return nil, errType
	}
	if k := g.localKeyOrRefresh(ctx, t); k != nil {
		if k.alg != alg {
			return nil, errKeyAlg
		}
		return k.verify, nil
	}
	return nil, errUnknownKey
}

// localKey returns the configured key named by the token's kid, or, for a token without a
// kid, the only configured key of its algorithm.
func (g *Guard) localKey(t *jwt.Token) *key {
	if kid, ok := t.Header["kid"].(string); ok && kid != "" {
		return g.ring().byKid[kid]
	}
	return g.ring().byAlg[t.Method.Alg()]
}

// typeAccepted reports whether the typ header have is in want, ignoring case and an
// "application/" prefix (RFC 8725 §3.11); "" in want accepts a token without typ.
func typeAccepted(have string, want []string) bool {
	for _, w := range want {
		if typeMatches(have, w) {
			return true
		}
	}
	return false
}

func typeMatches(have, want string) bool {
	if len(have) == len(want) && strings.EqualFold(have, want) {
		return true
	}
	have = strings.ToLower(have)
	want = strings.ToLower(want)
	have = strings.TrimPrefix(have, "application/")
	want = strings.TrimPrefix(want, "application/")
	return have == want
}

// verify parses and verifies a token that missed the caches and builds its Principal.
func (g *Guard) verify(ctx context.Context, tok string) (*Principal, error) {
	// Go's base64 decoders skip CR and LF even in strict mode, and the signature does not
	// cover its own spelling: line breaks in it would make another spelling that verifies.
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, "\r\n") {
		return nil, invalidToken("malformed token", errShape)
	}
	var claims parsedClaims
	_, err := g.parser.ParseWithClaims(tok, &claims, func(t *jwt.Token) (any, error) { return g.keyFor(ctx, t) })
	if err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			e := invalidToken("token has expired", err)
			e.Code = ErrTokenExpired
			return nil, e
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return nil, invalidToken("token is not valid yet", err)
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			return nil, invalidToken("token lacks a required claim", err)
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			return nil, invalidToken("token signature is invalid", err)
		case errors.Is(err, errType):
			return nil, invalidToken("token type is not accepted", err)
		case errors.Is(err, jwt.ErrTokenMalformed):
			return nil, invalidToken("malformed token", err)
		}
		return nil, invalidToken("token is not valid", err)
	}
	src := g.remoteFor(claims.Iss)
	local := src == nil
	if local {
		if g.cfg.checkIssuer && !containsString(g.cfg.issuers, claims.Iss) {
			return nil, invalidToken("token issuer is not accepted", errIssuer)
		}
		if g.cfg.checkAudience && !anyIn(claims.Aud, g.cfg.audiences) {
			return nil, invalidToken("token audience is not accepted", nil)
		}
	} else if !anyIn(claims.Aud, src.audiences) {
		return nil, invalidToken("token audience is not accepted", nil)
	}
	if claims.Sub == "" {
		return nil, invalidToken("token lacks a subject", nil)
	}
	exp := numericDate(claims.Exp).Time
	// A token must expire within the time revocations are remembered, or a revocation
	// would be forgotten while the token it covers still passes.
	if exp.Sub(g.cfg.now()) > g.revocationHorizon() {
		return nil, invalidToken("token lifetime is too long", nil)
	}
	p := &Principal{
		UserID:    claims.Sub,
		Username:  claims.PreferredUsername,
		Roles:     claims.Roles,
		TokenID:   claims.Jti,
		Method:    MethodBearer,
		Issuer:    claims.Iss,
		Local:     local,
		ExpiresAt: exp,
	}
	if local {
		// A remote issuer's sid names a session of its own, not one of this Guard's.
		p.SessionID = claims.SID
	}
	if p.Username == "" {
		p.Username = p.UserID
	}
	if claims.Cnf != nil {
		// A cnf this Guard cannot honour (no jkt: some other confirmation method) must not
		// leave the token usable as a plain bearer token.
		if claims.Cnf.JKT == "" || len(claims.Cnf.JKT) > 128 {
			return nil, invalidToken("token has a confirmation claim that is not a DPoP key thumbprint", nil)
		}
		p.JKT = claims.Cnf.JKT
	}
	if claims.Iat != 0 {
		p.IssuedAt = numericDate(claims.Iat).Time
	}
	p.AMR = claims.AMR
	if claims.AuthTime != 0 {
		p.AuthTime = numericDate(claims.AuthTime).Time
	}
	p.Permissions = g.permissionsFor(p.Roles)
	if claims.ClientID != "" {
		if local {
			return clientPrincipal(p, &claims)
		}
		p.ClientID = claims.ClientID
	}
	if g.cfg.claims != nil {
		p.claims = g.decodeCustom(tok)
	}
	if !local {
		for _, perm := range src.permissions(&claims) {
			if !slices.Contains(p.Permissions, perm) {
				p.Permissions = append(p.Permissions, perm)
			}
		}
	}
	return p, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		if containsString(want, h) {
			return true
		}
	}
	return false
}

// VerifyToken checks a bearer token: the in-process cache first, then the shared tier, then
// full verification (signature, claims, and for tokens this Guard issued, that their session
// is live). Every path checks the revocation set. A DPoP-bound token (one with cnf.jkt) is
// refused: it authenticates only with a proof of its key, through Authenticate.
func (g *Guard) VerifyToken(ctx context.Context, tok string) (*Principal, error) {
	p, err := g.verifyToken(ctx, tok)
	if err == nil && p.JKT != "" {
		return nil, g.tokenResult(ctx, p, "dpop_bound", "", time.Time{}, errBoundAsBearer)
	}
	return p, err
}

// errBoundAsBearer refuses a DPoP-bound token presented as a bearer token (RFC 9449 §7.2).
var errBoundAsBearer = invalidToken("token is bound to a DPoP key: present it with the DPoP scheme and a proof", nil)

// verifyToken is VerifyToken without the refusal of bound tokens: what the DPoP scheme,
// introspection and revocation build on.
func (g *Guard) verifyToken(ctx context.Context, tok string) (*Principal, error) {
	if len(tok) > g.cfg.maxLen {
		return nil, g.tokenResult(ctx, nil, "oversized", "", time.Time{}, invalidToken("token is too large", nil))
	}
	if tok == "" {
		return nil, g.tokenResult(ctx, nil, "malformed", "", time.Time{}, invalidToken("malformed token", errShape))
	}
	if g.cache != nil {
		if e, ok := g.cache.get(tok); ok {
			// An LRU hit is timed with the coarse clock and reports no Duration: it takes
			// less time than reading the system clock twice would add to it.
			var now time.Time
			if g.coarse != nil {
				now = g.coarse.now()
			} else {
				now = g.cfg.now()
			}
			if now.Before(e.exp) {
				if g.revs.check(e) {
					return nil, g.tokenResult(ctx, e.p, "revoked", "lru", time.Time{}, ErrTokenRevoked)
				}
				if !g.revocationsKnown() {
					return g.unknownRevocation(ctx, e.p, "lru", time.Time{})
				}
				if g.obs != nil {
					g.tokenResult(ctx, e.p, "ok", "lru", time.Time{}, nil)
				}
				return e.p, nil
			}
			g.cache.remove(tok)
		}
	}
	return g.verifyMiss(ctx, tok, g.cfg.now())
}

// verifyMiss is the slow path, kept out of VerifyToken so the hit path stays small.
func (g *Guard) verifyMiss(ctx context.Context, tok string, now time.Time) (*Principal, error) {
	// The revocation generation is read before any check: a revocation that lands while
	// this token is being checked then makes its cache entry check again on the next hit,
	// instead of the entry being stamped as checked against that revocation.
	gen := g.revs.gen.Load()
	tier := "verify"
	var p *Principal
	var l2key string
	// l2down: the shared cache says it is down, or its Get just failed; skip it, and the Set.
	l2down := g.l2 != nil && !g.l2Available()
	if g.l2 != nil && !l2down {
		l2key = g.l2Key(tok)
		if raw, ok, err := g.l2.Get(ctx, l2key); err != nil {
			g.depError(ctx, "cache", "get", err)
			l2down = true
		} else if ok {
			cp, err := g.decodePrincipal(l2key, raw)
			switch {
			case err != nil:
				g.depError(ctx, "cache", "decode", err)
			case now.Before(cp.ExpiresAt):
				p, tier = cp, "shared"
				if p.Method != MethodClient {
					p.Permissions = g.permissionsFor(p.Roles)
				}
			}
		}
	}
	exp := time.Time{}
	if p == nil {
		var err error
		p, err = g.verify(ctx, tok)
		if err != nil {
			return nil, g.tokenResult(ctx, nil, reasonOf(err), tier, now, err)
		}
	}
	exp = p.ExpiresAt
	if g.revs.revoked(p) {
		return nil, g.tokenResult(ctx, p, "revoked", tier, now, ErrTokenRevoked)
	}
	if tier == "verify" && p.Local && p.SessionID != "" && g.confirmSessions {
		s, ok, err := g.store.GetSession(ctx, p.SessionID)
		if err != nil {
			g.depError(ctx, "store", "get_session", err)
			return g.unknownRevocation(ctx, p, tier, now)
		}
		if !ok || s.UserID != p.UserID || !s.Live(now) {
			return nil, g.tokenResult(ctx, p, "session", tier, now, invalidToken("token's session is not valid", nil))
		}
		if d := s.Deadline(); d.Before(exp) {
			exp = d
		}
	}
	if !g.revocationsKnown() {
		return g.unknownRevocation(ctx, p, tier, now)
	}
	if g.cache != nil && now.Before(exp) {
		e := &cacheEntry{p: p, exp: exp}
		e.gen.Store(gen)
		g.cache.add(tok, e)
	}
	if g.l2 != nil && tier == "verify" && !l2down {
		if ttl := exp.Sub(now); ttl > 0 {
			if err := g.l2.Set(ctx, l2key, g.encodePrincipal(l2key, p, exp), ttl); err != nil {
				g.depError(ctx, "cache", "set", err)
			}
		}
	}
	g.tokenResult(ctx, p, "ok", tier, now, nil)
	return p, nil
}

// revocationsKnown reports whether every revocation feed is connected and caught up.
func (g *Guard) revocationsKnown() bool { return g.revs.unsynced.Load() == 0 && !g.revs.full.Load() }

// unknownRevocation answers a valid token whose revocation status cannot be confirmed:
// accepted under fail-open, 503 otherwise.
func (g *Guard) unknownRevocation(ctx context.Context, p *Principal, tier string, now time.Time) (*Principal, error) {
	if g.cfg.failOpen {
		g.tokenResult(ctx, p, "ok_unconfirmed", tier, now, nil)
		return p, nil
	}
	return nil, g.tokenResult(ctx, p, "unavailable", tier, now, ErrUnavailable)
}

// reasonOf gives a bounded reason label for a verification error.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature"
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, errShape):
		return "malformed"
	}
	return "invalid"
}

// tokenResult reports a validation and returns err unchanged, so callers can write
// `return nil, g.tokenResult(...)`.
func (g *Guard) tokenResult(ctx context.Context, p *Principal, result, tier string, start time.Time, err error) error {
	if g.obs == nil {
		return err
	}
	e := audit.Event{Type: audit.TokenValidated, Result: result, Tier: tier, Method: string(MethodBearer), Err: err}
	if !start.IsZero() {
		e.Duration = g.cfg.now().Sub(start)
	}
	if p != nil {
		e.UserID, e.SessionID = p.UserID, p.SessionID
	}
	g.emit(ctx, e)
	return err
}

// l2Available reports whether the shared cache would take a call now. A Cache that knows it
// is down (an open circuit breaker) says so with an Available method, and the Guard then
// skips the key derivation and the call altogether.
func (g *Guard) l2Available() bool {
	if a, ok := g.l2.(interface{ Available() bool }); ok {
		return a.Available()
	}
	return true
}
