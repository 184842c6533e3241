package authframe

import (
	"context"
	"crypto/sha256"
	"errors"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/internal/ctxkey"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/core/store"
)

// TokenPair is what a token login or a refresh returns.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	// SessionID is the sid the pair belongs to (not part of the JSON answer).
	SessionID string `json:"-"`
}

// errNoSigningKey is returned when issuing is asked of a Guard configured only to verify.
var errNoSigningKey = errors.New("authframe: this Guard only verifies: it has no private or HMAC key to sign with (WithKey, WithKeyFile or WithHMACSecret)")

// newSessionID returns a fresh session secret and its public handle (the sid): the handle is
// derived by hashing, so the store keeps only a hash of what the client holds. A handle
// never begins with "-" (a secret whose handle would is drawn again), so that operators can
// pass it to a command line as an argument.
func newSessionID() (secret, id string) {
	for {
		secret = randomString(32)
		if id = sessionIDFromSecret(secret); id[0] != '-' {
			return secret, id
		}
	}
}

func sessionIDFromSecret(secret string) string {
	sum := sha256.Sum256([]byte("authframe-session:" + secret))
	return b64.EncodeToString(sum[:18])
}

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// IssueTokens starts a token session (one refresh-token family, one device) for u and
// returns its first pair. Under a context from dpop.TokenRequest carrying a verified proof,
// the pair is DPoP-bound to the proof's key (RFC 9449): the access token carries cnf.jkt,
// the family records the key, and TokenType is "DPoP".
func (g *Guard) IssueTokens(ctx context.Context, u User, client ClientInfo) (*TokenPair, error) {
	client = client.owned()
	jkt := ctxkey.JKT(ctx)
	now := g.cfg.now()
	if _, err := g.signingKey(now); err != nil {
		return nil, err
	}
	_, sid := newSessionID()
	s := Session{ID: sid, UserID: u.ID, Username: u.Username, Roles: u.Roles, Kind: "token", UserAgent: client.UserAgent, IP: client.IP, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(g.cfg.refreshTTL), JKT: jkt}
	s.AMR, s.AuthTime = loginOf(ctx, u.ID, now)
	if err := g.store.CreateSession(ctx, s); err != nil {
		return nil, g.storeErr(ctx, "create_session", err)
	}
	rt := newRefreshToken(sid, jkt)
	if err := g.store.AddRefreshToken(ctx, store.RefreshToken{SessionID: sid, Hash: hashToken(rt), CreatedAt: now}); err != nil {
		return nil, g.storeErr(ctx, "add_refresh", err)
	}
	at, err := g.signAccess(ctx, u, s, jkt, now)
	if err != nil {
		return nil, err
	}
	g.observe(ctx, audit.Event{Type: audit.SessionCreated, Kind: "token", UserID: u.ID, SessionID: sid, ClientIP: client.IP, UserAgent: client.UserAgent})
	return &TokenPair{AccessToken: at, RefreshToken: rt, TokenType: tokenType(jkt), ExpiresIn: int64(g.cfg.accessTTL / time.Second), SessionID: sid}, nil
}

// signAccess signs an access token for u under the session sess, whose id is the sid and
// whose login the amr and auth_time claims describe, bound to the DPoP key jkt when it is
// set.
func (g *Guard) signAccess(ctx context.Context, u User, sess Session, jkt string, now time.Time) (string, error) {
	sid := sess.ID
	k, err := g.signingKey(now)
	if err != nil {
		return "", err
	}
	custom, err := g.customClaims(ctx, u)
	if err != nil {
		return "", err
	}
	userID, username, roles := u.ID, u.Username, u.Roles
	c := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    g.issuer(),
			Subject:   userID,
			ExpiresAt: jwt.NewNumericDate(now.Add(g.cfg.accessTTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomString(16),
		},
		SID:               sid,
		Roles:             roles,
		PreferredUsername: username,
		AMR:               sess.AMR,
	}
	if !sess.AuthTime.IsZero() {
		c.AuthTime = jwt.NewNumericDate(sess.AuthTime)
	}
	if jkt != "" {
		c.Cnf = &confirmation{JKT: jkt}
	}
	if len(g.cfg.audiences) > 0 {
		c.Audience = jwt.ClaimStrings{g.cfg.audiences[0]}
	}
	t := jwt.NewWithClaims(k.method, withCustom{accessClaims: c, custom: custom})
	t.Header["typ"] = "at+jwt"
	if k.kid != "" {
		t.Header["kid"] = k.kid
	}
	s, err := t.SignedString(k.sign)
	if err != nil {
		return "", ErrInternal.with(err)
	}
	return s, nil
}

// Refresh spends a refresh token and returns a new pair of the same family. A spent token
// presented again revokes the whole family and its session: the newest refresh token and
// every access token of that session stop working (RFC 9700 §4.14.2). The session of a
// deleted or disabled user is revoked instead of refreshed. The refresh token of a
// DPoP-bound family is refused, unspent, unless ctx carries a verified proof by its key
// (dpop.TokenRequest); with a proof, the new access token is bound to the proof's key.
func (g *Guard) Refresh(ctx context.Context, refreshToken string, client ClientInfo) (*TokenPair, error) {
	client = client.owned()
	bad := invalidToken("refresh token is not valid", nil)
	bad.Bearer = false
	sid, _, ok := strings.Cut(refreshToken, ".")
	if !ok || sid == "" || len(refreshToken) > 256 {
		return nil, bad
	}
	// A bound family's token names its key, so that a presentation without a proof by
	// that key is refused before the token is spent: otherwise whoever stole it could
	// not use it, but could still spend it under its owner.
	jkt, proofJKT := refreshJKT(refreshToken), ctxkey.JKT(ctx)
	if jkt != "" && jkt != proofJKT {
		g.observe(ctx, audit.Event{Type: audit.TokenValidated, Result: "dpop_key", SessionID: sid, ClientIP: client.IP, UserAgent: client.UserAgent, Err: errRefreshKey})
		r := invalidToken("refresh token is bound to a DPoP key: send a proof by that key", errRefreshKey)
		r.Bearer = false
		return nil, r
	}
	if err := g.limit(ctx, "refresh", sid, g.cfg.limits.Refresh, g.cfg.limits.Window, client); err != nil {
		return nil, err
	}
	now := g.cfg.now()
	newRT := newRefreshToken(sid, jkt)
	s, err := g.store.RotateRefreshToken(ctx, sid, hashToken(refreshToken), hashToken(newRT), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, bad
	case errors.Is(err, store.ErrRefreshReused):
		g.observe(ctx, audit.Event{Type: audit.RefreshReused, SessionID: sid, ClientIP: client.IP, UserAgent: client.UserAgent})
		if rerr := g.revoke(ctx, store.RevokeSession, sid, now, "refresh_reuse", ""); rerr != nil {
			return nil, rerr
		}
		r := invalidToken("refresh token has already been used", nil)
		r.Bearer = false
		return nil, r
	case err != nil:
		return nil, g.storeErr(ctx, "rotate_refresh", err)
	}
	if s.JKT != jkt {
		// The token names the key its family was bound to at issue: a store that says
		// otherwise is not to be trusted with the binding.
		_ = g.revoke(ctx, store.RevokeSession, sid, now, "dpop_binding_mismatch", s.UserID)
		return nil, bad
	}
	u, found, err := g.store.GetUser(ctx, s.UserID)
	if err != nil {
		return nil, g.storeErr(ctx, "get_user", err)
	}
	if !found {
		_ = g.revoke(ctx, store.RevokeSession, sid, now, "user_deleted", s.UserID)
		return nil, bad
	}
	if u.Disabled {
		_ = g.revoke(ctx, store.RevokeSession, sid, now, "user_disabled", s.UserID)
		return nil, bad
	}
	// An unbound family refreshed with a proof gets a bound access token; its refresh
	// tokens stay as the family was issued.
	at, err := g.signAccess(ctx, u, s, proofJKT, now)
	if err != nil {
		return nil, err
	}
	g.observe(ctx, audit.Event{Type: audit.Refreshed, UserID: u.ID, SessionID: sid, ClientIP: client.IP, UserAgent: client.UserAgent})
	return &TokenPair{AccessToken: at, RefreshToken: newRT, TokenType: tokenType(proofJKT), ExpiresIn: int64(g.cfg.accessTTL / time.Second), SessionID: sid}, nil
}

// Logout ends what p authenticated with: its session (cookie or token family, with every
// token issued under it), or for a token without a session of this Guard's, that token
// (its jti) until it expires. For a cookie session, also send ClearSessionCookie; the
// adapters' logout handlers do.
func (g *Guard) Logout(ctx context.Context, p *Principal) error {
	if p == nil {
		return ErrUnauthenticated
	}
	if p.Method == MethodAPIKey {
		return &Error{Code: ErrForbidden, Message: "an API key is ended by deleting it", Err: errNotAUser}
	}
	now := g.cfg.now()
	if p.SessionID != "" && p.Local {
		return g.revoke(ctx, store.RevokeSession, p.SessionID, now, "logout", p.UserID)
	}
	if p.Method == MethodSession {
		return g.revoke(ctx, store.RevokeSession, p.SessionID, now, "logout", p.UserID)
	}
	if p.TokenID == "" {
		return badRequest("token has no jti and cannot be revoked")
	}
	return g.revokeUntil(ctx, store.RevokeToken, p.TokenID, now, p.ExpiresAt.Add(g.cfg.leeway), "logout", p.UserID)
}

// RevokeSession ends one of the caller's sessions (and every token issued under it). It
// answers ErrNotFound for a session that does not exist or belongs to someone else, and
// ErrForbidden for a principal that is not a local user (a remote issuer's subject may
// share a local user's id but never owns that user's sessions).
func (g *Guard) RevokeSession(ctx context.Context, p *Principal, sessionID string) error {
	if err := localUser(p); err != nil {
		return err
	}
	s, ok, err := g.store.GetSession(ctx, sessionID)
	if err != nil {
		return g.storeErr(ctx, "get_session", err)
	}
	if !ok || s.UserID != p.UserID {
		return ErrNotFound
	}
	return g.revoke(ctx, store.RevokeSession, sessionID, g.cfg.now(), "session_deleted", p.UserID)
}

// localUser refuses a principal that is not a user of this Guard's own issuer acting as
// themself: a remote issuer's subject, a service client, an API key.
func localUser(p *Principal) error {
	if p == nil {
		return ErrUnauthenticated
	}
	if !p.Local || p.Method == MethodClient || p.Method == MethodAPIKey {
		return ErrForbidden.with(errNotAUser)
	}
	return nil
}

var errNotAUser = errors.New("not a local user's own login")

// RevokeUser ends every session of a user and every token issued to them until now.
func (g *Guard) RevokeUser(ctx context.Context, userID string) error {
	now := g.cfg.now()
	sessions, err := g.store.ListSessions(ctx, userID)
	if err != nil {
		return g.storeErr(ctx, "list_sessions", err)
	}
	for _, s := range sessions {
		if _, err := g.store.DeleteSession(ctx, s.ID); err != nil {
			return g.storeErr(ctx, "delete_session", err)
		}
	}
	return g.revokeUntil(ctx, store.RevokeUser, userID, now, now.Add(g.revocationHorizon()), "user_revoked", userID)
}

// ListSessions returns the caller's live sessions, oldest first; ErrForbidden for a
// principal that is not a local user.
func (g *Guard) ListSessions(ctx context.Context, p *Principal) ([]Session, error) {
	if err := localUser(p); err != nil {
		return nil, err
	}
	ss, err := g.store.ListSessions(ctx, p.UserID)
	if err != nil {
		return nil, g.storeErr(ctx, "list_sessions", err)
	}
	return ss, nil
}

// revoke ends a session: it is deleted from the store with its refresh family, and its sid
// enters the revocation set here at once and, through the store and the shared cache, on
// every other instance.
func (g *Guard) revoke(ctx context.Context, kind store.RevocationKind, key string, now time.Time, reason, userID string) error {
	if kind == store.RevokeSession {
		if _, err := g.store.DeleteSession(ctx, key); err != nil {
			// Still revoke here and tell the other instances by whatever still answers
			// (the shared cache's channel when the store is down), then report the failure.
			serr := g.storeErr(ctx, "delete_session", err)
			_ = g.revokeUntil(ctx, kind, key, now, now.Add(g.cfg.accessTTL+g.cfg.leeway), reason, userID)
			return serr
		}
		g.observe(ctx, audit.Event{Type: audit.SessionDestroyed, Reason: reason, UserID: userID, SessionID: key})
	}
	return g.revokeUntil(ctx, kind, key, now, now.Add(g.cfg.accessTTL+g.cfg.leeway), reason, userID)
}

func (g *Guard) revokeUntil(ctx context.Context, kind store.RevocationKind, key string, now, until time.Time, reason, userID string) error {
	// The key may be a view of a reused request buffer (fasthttp's path parameters): the
	// revocation set keeps it, so it keeps its own copy.
	r := wireTimes(store.Revocation{Kind: kind, Key: strings.Clone(key), At: now, ExpiresAt: until})
	g.revs.add(r, false)
	g.observe(ctx, audit.Event{Type: audit.Revoked, Kind: string(kind), Reason: reason, UserID: userID, SessionID: sessionKey(kind, key)})
	var errs []error
	if err := g.store.AddRevocation(ctx, r); err != nil {
		errs = append(errs, g.storeErr(ctx, "add_revocation", err))
	}
	if pub, ok := g.l2.(store.RevocationPublisher); ok {
		r.MAC = g.revocationMAC(r)
		if err := pub.PublishRevocation(ctx, r); err != nil {
			g.depError(ctx, "cache", "publish_revocation", err)
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func sessionKey(kind store.RevocationKind, key string) string {
	if kind == store.RevokeSession {
		return key
	}
	return ""
}
