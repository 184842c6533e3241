package authframe

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"github.com/authframe/authframe/core/audit"
	"net/http"
	"time"

	"github.com/authframe/authframe/core/store"
)

// SessionGrant is what a cookie login returns: the cookie to set and the session's CSRF
// token, which the client sends back in X-CSRF-Token on unsafe requests.
type SessionGrant struct {
	Cookie    *http.Cookie
	CSRFToken string
	Session   Session
}

// csrfHeader is the header that carries the CSRF token.
const csrfHeader = "X-CSRF-Token"

// StartSession creates a browser session for u with a fresh id from crypto/rand (256 bits).
// Whatever session id the client presented is never adopted: callers simply do not pass
// it, and Logout the old one if they want it gone.
func (g *Guard) StartSession(ctx context.Context, u User, client ClientInfo) (*SessionGrant, error) {
	client = client.owned()
	now := g.cfg.now()
	secret, id := newSessionID()
	csrf := randomString(32)
	sum := sha256.Sum256([]byte(csrf))
	s := Session{
		ID: id, UserID: u.ID, Username: u.Username, Roles: u.Roles, Kind: "cookie",
		CSRFHash: sum[:], UserAgent: client.UserAgent, IP: client.IP,
		CreatedAt: now, LastSeenAt: now, IdleTimeout: g.cfg.sessionIdle, ExpiresAt: now.Add(g.cfg.sessionAbsolute),
	}
	s.AMR, s.AuthTime = loginOf(ctx, u.ID, now)
	if err := g.store.CreateSession(ctx, s); err != nil {
		return nil, g.storeErr(ctx, "create_session", err)
	}
	g.observe(ctx, audit.Event{Type: audit.SessionCreated, Kind: "cookie", UserID: u.ID, SessionID: id, ClientIP: client.IP, UserAgent: client.UserAgent})
	return &SessionGrant{Cookie: g.sessionCookie(secret, s.ExpiresAt), CSRFToken: csrf, Session: s}, nil
}

// RenewSession gives the session behind p a new id and CSRF token, keeping its user, creation time
// and absolute deadline; the old id stops working at once. Call it on privilege changes.
// roles, when non-nil, replace the session's roles. The session of a disabled user is
// revoked instead of renewed.
func (g *Guard) RenewSession(ctx context.Context, p *Principal, roles []string, client ClientInfo) (*SessionGrant, error) {
	client = client.owned()
	if p == nil || p.Method != MethodSession {
		return nil, ErrUnauthenticated
	}
	old, ok, err := g.store.GetSession(ctx, p.SessionID)
	if err != nil {
		return nil, g.storeErr(ctx, "get_session", err)
	}
	now := g.cfg.now()
	if !ok || !old.Live(now) {
		return nil, ErrSessionInvalid
	}
	u, found, err := g.store.GetUser(ctx, old.UserID)
	if err != nil {
		return nil, g.storeErr(ctx, "get_user", err)
	}
	if found && u.Disabled {
		_ = g.revoke(ctx, store.RevokeSession, old.ID, now, "user_disabled", old.UserID)
		return nil, ErrSessionInvalid
	}
	secret, id := newSessionID()
	csrf := randomString(32)
	sum := sha256.Sum256([]byte(csrf))
	s := old
	s.ID, s.CSRFHash, s.LastSeenAt = id, sum[:], now
	if roles != nil {
		s.Roles = roles
	}
	if err := g.store.CreateSession(ctx, s); err != nil {
		return nil, g.storeErr(ctx, "create_session", err)
	}
	if err := g.revoke(ctx, store.RevokeSession, old.ID, now, "renewed", old.UserID); err != nil {
		return nil, err
	}
	g.observe(ctx, audit.Event{Type: audit.SessionRenewed, UserID: s.UserID, SessionID: id, ClientIP: client.IP, UserAgent: client.UserAgent})
	return &SessionGrant{Cookie: g.sessionCookie(secret, s.ExpiresAt), CSRFToken: csrf, Session: s}, nil
}

func (g *Guard) sessionCookie(value string, expires time.Time) *http.Cookie {
	c := g.cfg.cookie
	return &http.Cookie{Name: c.Name, Value: value, Path: c.Path, Domain: c.Domain, Expires: expires.UTC(), MaxAge: int(expires.Sub(g.cfg.now()) / time.Second), Secure: c.Secure, HttpOnly: c.HTTPOnly, SameSite: c.SameSite}
}

// ClearSessionCookie returns a cookie that expires the session cookie. It keeps the name,
// Path and Secure, without which browsers ignore it for a __Host- cookie.
func (g *Guard) ClearSessionCookie() *http.Cookie {
	c := g.cfg.cookie
	return &http.Cookie{Name: c.Name, Value: "", Path: c.Path, Domain: c.Domain, Expires: time.Unix(0, 0).UTC(), MaxAge: -1, Secure: c.Secure, HttpOnly: c.HTTPOnly, SameSite: c.SameSite}
}

var errSessionFormat = errors.New("malformed session cookie")

// authenticateSession resolves a session cookie. The store is looked up by the hash-derived
// id; the idle deadline moves with a throttled write; unsafe methods need the CSRF token.
func (g *Guard) authenticateSession(ctx context.Context, cookie string, r Request) (*Principal, error) {
	start := g.cfg.now()
	if len(cookie) != 43 {
		return nil, g.sessionResult(ctx, nil, "malformed", start, ErrSessionInvalid.with(errSessionFormat))
	}
	id := sessionIDFromSecret(cookie)
	s, ok, err := g.store.GetSession(ctx, id)
	if err != nil {
		g.depError(ctx, "store", "get_session", err)
		return nil, g.sessionResult(ctx, nil, "unavailable", start, ErrUnavailable.with(err))
	}
	if !ok || s.Kind != "cookie" || !s.Live(start) {
		return nil, g.sessionResult(ctx, nil, "invalid", start, ErrSessionInvalid)
	}
	p := &Principal{
		UserID: s.UserID, Username: s.Username, Roles: s.Roles, SessionID: s.ID, Method: MethodSession,
		Issuer: g.issuer(), Local: true, IssuedAt: s.CreatedAt, ExpiresAt: s.Deadline(), csrfHash: s.CSRFHash,
		AMR: s.AMR, AuthTime: s.AuthTime,
	}
	if g.revs.revoked(p) {
		return nil, g.sessionResult(ctx, p, "revoked", start, ErrSessionInvalid)
	}
	p.Permissions = g.permissionsFor(p.Roles)
	if start.Sub(s.LastSeenAt) >= g.touchEvery {
		if err := g.store.TouchSession(ctx, s.ID, start); err != nil && !errors.Is(err, store.ErrNotFound) {
			g.depError(ctx, "store", "touch_session", err)
		}
	}
	if g.cfg.csrf && !safeMethod(r.Method()) && !g.checkCSRF(p, r.Header(csrfHeader)) {
		g.observe(ctx, audit.Event{Type: audit.CSRFFailed, UserID: p.UserID, SessionID: p.SessionID})
		return nil, g.sessionResult(ctx, p, "csrf", start, ErrCSRF)
	}
	g.sessionResult(ctx, p, "ok", start, nil)
	return p, nil
}

func (g *Guard) sessionResult(ctx context.Context, p *Principal, result string, start time.Time, err error) error {
	if g.obs == nil {
		return err
	}
	e := audit.Event{Type: audit.SessionValidated, Result: result, Tier: "store", Method: string(MethodSession), Duration: g.cfg.now().Sub(start), Err: err}
	if p != nil {
		e.UserID, e.SessionID = p.UserID, p.SessionID
	}
	g.emit(ctx, e)
	return err
}

// checkCSRF reports whether token is the CSRF token of p's session, comparing in constant
// time. A token of another session never matches.
func (g *Guard) checkCSRF(p *Principal, token string) bool {
	if p == nil || len(p.csrfHash) == 0 || token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], p.csrfHash) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
