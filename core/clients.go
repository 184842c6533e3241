package authframe

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/internal/ctxkey"
	"github.com/authframe/authframe/core/store"
)

// clientClaims are the claims of a service client's access token: RFC 9068's client_id and
// scope, sub equal to client_id, and no sid (a client has no session).
type clientClaims struct {
	jwt.RegisteredClaims
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name,omitempty"`
	Scope      string `json:"scope"`
	// Cnf binds a DPoP-bound client token to its key (RFC 9449 §6.1).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// errNoClientStore answers the service-client operations of a Guard whose store cannot keep
// clients.
var errNoClientStore = errors.New("the store does not keep service clients (store.ClientStore)")

// errNoAPIKeyStore answers the API key operations of a Guard whose store cannot keep keys.
var errNoAPIKeyStore = errors.New("the store does not keep API keys (store.APIKeyStore)")

// clientPrincipal turns the Principal of a local token carrying client_id into a client's:
// its permissions are the token's scopes, and nothing of a user's applies.
func clientPrincipal(p *Principal, c *parsedClaims) (*Principal, error) {
	if c.SID != "" || c.Sub != c.ClientID || len(c.Roles) > 0 {
		return nil, invalidToken("token is not a valid client token", nil)
	}
	p.Method = MethodClient
	p.ClientID = c.ClientID
	p.Username = c.ClientName
	if p.Username == "" {
		p.Username = c.ClientID
	}
	p.Roles = nil
	p.Permissions = append([]string{}, c.Scope...)
	return p, nil
}

func (g *Guard) clientStore() (store.ClientStore, error) {
	cs, ok := store.As[store.ClientStore](g.store)
	if !ok {
		return nil, ErrInternal.with(errNoClientStore)
	}
	return cs, nil
}

// dummyClientHash stands in for the hash of an unknown or disabled client, so that a wrong
// id costs the same comparison as a wrong secret.
var dummyClientHash = func() []byte { h := sha256.Sum256([]byte("authframe: no such client")); return h[:] }()

// maxClientID bounds a presented client id before it reaches a store key.
const maxClientID = 128

// authenticateClient checks a service client's id and secret. Only failures count, per
// (client address, client id), against RateLimits.Login per Window; once they reach it,
// every attempt is refused, the right secret's too, until the window ends. The secret is
// hashed and compared in constant time whether or not the client exists.
func (g *Guard) authenticateClient(ctx context.Context, client ClientInfo, id, secret string) (store.Client, error) {
	client = client.owned()
	cs, err := g.clientStore()
	if err != nil {
		return store.Client{}, err
	}
	if id == "" || len(id) > maxClientID || secret == "" || len(secret) > 512 {
		g.observe(ctx, audit.Event{Type: audit.LoginFailed, Kind: "client", Reason: "invalid_input", ClientIP: client.IP, UserAgent: client.UserAgent})
		return store.Client{}, ErrInvalidCredentials
	}
	l := g.cfg.limits
	limitKey := "client-fail:" + client.IP + "|" + id
	peeker, canPeek := store.As[store.RateLimitPeeker](g.store)
	if l.Login >= 0 {
		if canPeek {
			n, reset, err := peeker.Peek(ctx, limitKey)
			if err != nil {
				return store.Client{}, g.storeErr(ctx, "rate_limit", err)
			}
			if n >= int64(l.Login) {
				return store.Client{}, g.rateLimited(ctx, "client", reset, client)
			}
		} else if err := g.limit(ctx, "client", client.IP+"|"+id, l.Login, l.Window, client); err != nil {
			// Without a peek, every attempt counts.
			return store.Client{}, err
		}
	}
	c, found, err := cs.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, g.storeErr(ctx, "get_client", err)
	}
	want := dummyClientHash
	if found && !c.Disabled {
		want = c.SecretHash
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], want) != 1 || !found || c.Disabled {
		reason := "bad_secret"
		if !found {
			reason = "unknown_client"
		} else if c.Disabled {
			reason = "disabled_client"
		}
		g.observe(ctx, audit.Event{Type: audit.LoginFailed, Kind: "client", Reason: reason, ClientIP: client.IP, UserAgent: client.UserAgent})
		if l.Login >= 0 && canPeek {
			if _, _, err := g.store.Hit(ctx, limitKey, l.Window); err != nil {
				return store.Client{}, g.storeErr(ctx, "rate_limit", err)
			}
		}
		return store.Client{}, ErrInvalidCredentials
	}
	g.observe(ctx, audit.Event{Type: audit.LoginSucceeded, Kind: "client", UserID: c.ID, Username: c.Name, ClientIP: client.IP, UserAgent: client.UserAgent})
	return c, nil
}

// grantScopes returns the scopes a client gets for requested (all of its own for none); an
// error names the first one it does not hold.
func grantScopes(c store.Client, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return append([]string{}, c.Scopes...), nil
	}
	out := make([]string, 0, len(requested))
	for _, want := range requested {
		ok := false
		for _, have := range c.Scopes {
			if permissionGrants(have, want) {
				ok = true
				break
			}
		}
		if !ok {
			return nil, errors.New("scope " + want + " is not granted to this client")
		}
		if !containsString(out, want) {
			out = append(out, want)
		}
	}
	return out, nil
}

// issueClientToken signs an RFC 9068 access token for a service client, DPoP-bound when ctx
// carries a verified proof (dpop.TokenRequest).
func (g *Guard) issueClientToken(ctx context.Context, c store.Client, scopes []string) (string, time.Duration, error) {
	now := g.cfg.now()
	k, err := g.signingKey(now)
	if err != nil {
		return "", 0, err
	}
	claims := clientClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    g.issuer(),
			Subject:   c.ID,
			ExpiresAt: jwt.NewNumericDate(now.Add(g.cfg.accessTTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomString(16),
		},
		ClientID:   c.ID,
		ClientName: c.Name,
		Scope:      strings.Join(scopes, " "),
	}
	if jkt := ctxkey.JKT(ctx); jkt != "" {
		claims.Cnf = &confirmation{JKT: jkt}
	}
	if len(g.cfg.audiences) > 0 {
		claims.Audience = jwt.ClaimStrings{g.cfg.audiences[0]}
	}
	t := jwt.NewWithClaims(k.method, claims)
	t.Header["typ"] = "at+jwt"
	if k.kid != "" {
		t.Header["kid"] = k.kid
	}
	s, err := t.SignedString(k.sign)
	if err != nil {
		return "", 0, ErrInternal.with(err)
	}
	return s, g.cfg.accessTTL, nil
}

// createClient stores a new service client and returns it with its secret, which nothing
// keeps in clear.
func (g *Guard) createClient(ctx context.Context, name string, scopes []string) (store.Client, string, error) {
	cs, err := g.clientStore()
	if err != nil {
		return store.Client{}, "", err
	}
	secret, hash := credential.NewClientSecret()
	c := store.Client{ID: credential.NewID("cl_"), Name: name, Scopes: append([]string{}, scopes...), SecretHash: hash, CreatedAt: g.cfg.now().UTC().Truncate(time.Millisecond)}
	if err := cs.CreateClient(ctx, c); err != nil {
		return store.Client{}, "", g.storeErr(ctx, "create_client", err)
	}
	g.observe(ctx, audit.Event{Type: audit.Registered, Kind: "client", UserID: c.ID, Username: c.Name})
	return c, secret, nil
}

// deleteClient removes a service client and revokes every token issued to it, here at once
// and on every instance through the revocation feeds.
func (g *Guard) deleteClient(ctx context.Context, id string) error {
	cs, err := g.clientStore()
	if err != nil {
		return err
	}
	if id == "" || len(id) > maxClientID {
		return ErrNotFound
	}
	ok, err := cs.DeleteClient(ctx, id)
	if err != nil {
		return g.storeErr(ctx, "delete_client", err)
	}
	if !ok {
		return ErrNotFound
	}
	now := g.cfg.now()
	return g.revokeUntil(ctx, store.RevokeClient, id, now, now.Add(g.cfg.accessTTL+g.cfg.leeway), "client_deleted", id)
}

// revokeCredential is RFC 7009's revocation: a refresh token ends its family and session, an
// access token (its jti) or an API key is refused from now on. Anything else, unknown or
// invalid, is no error: the endpoint answers 200 all the same.
func (g *Guard) revokeCredential(ctx context.Context, tok string) error {
	switch {
	case credential.LooksLikeAPIKey(tok):
		p, err := g.verifyAPIKey(ctx, tok)
		if err != nil {
			return ignoreInvalid(err)
		}
		// The holder of a key may end it (RFC 7009), though it manages no keys otherwise.
		return g.removeAPIKey(ctx, p.UserID, p.KeyID)
	case strings.Count(tok, ".") == 1:
		return g.revokeRefresh(ctx, tok)
	}
	// A bound token is revoked like any other: revocation needs no proof (RFC 7009).
	p, err := g.verifyToken(ctx, tok)
	if err != nil {
		return ignoreInvalid(err)
	}
	if p.TokenID == "" || !p.Local {
		// A remote issuer's token without jti cannot be named; its issuer revokes it.
		return nil
	}
	now := g.cfg.now()
	return g.revokeUntil(ctx, store.RevokeToken, p.TokenID, now, p.ExpiresAt.Add(g.cfg.leeway), "revoked", p.UserID)
}

// revokeRefresh ends the family of a refresh token, proving the token first: it is rotated
// to a value nobody holds, which succeeds only for the family's live token, and then the
// session is revoked. A token spent before makes the store revoke the family by itself.
func (g *Guard) revokeRefresh(ctx context.Context, rt string) error {
	sid, _, _ := strings.Cut(rt, ".")
	if sid == "" || len(rt) > 256 {
		return nil
	}
	now := g.cfg.now()
	s, err := g.store.RotateRefreshToken(ctx, sid, hashToken(rt), hashToken(sid+"."+randomString(32)), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case errors.Is(err, store.ErrRefreshReused):
		return g.revoke(ctx, store.RevokeSession, sid, now, "refresh_reuse", "")
	case err != nil:
		return g.storeErr(ctx, "rotate_refresh", err)
	}
	return g.revoke(ctx, store.RevokeSession, sid, now, "revoked", s.UserID)
}

// ignoreInvalid keeps the errors that are not about the credential (a store that is down).
func ignoreInvalid(err error) error {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInternal) {
		return err
	}
	return nil
}

// introspect is RFC 7662's view of a credential: the Principal of a live access token or
// API key, and its token type; ok is false for anything else, refresh tokens included.
func (g *Guard) introspect(ctx context.Context, tok string) (p *Principal, typ string, err error) {
	if credential.LooksLikeAPIKey(tok) {
		p, err = g.verifyAPIKey(ctx, tok)
		return p, "api_key", err
	}
	if p, err = g.verifyToken(ctx, tok); err != nil {
		return nil, "", err
	}
	return p, tokenType(p.JKT), nil
}
