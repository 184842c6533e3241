package authframe

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// AuthMethod says how a request authenticated.
type AuthMethod string

const (
	// MethodBearer: a user's access token, this Guard's or a remote issuer's (Local says
	// which).
	MethodBearer AuthMethod = "bearer"
	// MethodSession: a session cookie.
	MethodSession AuthMethod = "session"
	// MethodClient: a service client's access token (OAuth 2.0 client credentials); the
	// Principal's ClientID names the client and its Permissions are the token's scopes.
	MethodClient AuthMethod = "client"
	// MethodAPIKey: an API key; the Principal's KeyID names the key, UserID its owner, and
	// its Permissions are the key's own.
	MethodAPIKey AuthMethod = "api_key"
)

// Principal is who a request acts for. The Guard shares one Principal between all requests
// that present the same cached token: treat it as read-only.
type Principal struct {
	UserID      string
	Username    string
	Roles       []string
	Permissions []string
	// SessionID is the sid: the public handle of the session (or token family) the
	// credential belongs to. Empty for external tokens without a local session.
	SessionID string
	// TokenID is the jti of a bearer token.
	TokenID string
	// ClientID is the service client of a client token (MethodClient), or the client_id
	// claim of a remote issuer's token.
	ClientID string
	// KeyID is the id of an API key (MethodAPIKey).
	KeyID  string
	Method AuthMethod
	Issuer string
	// Local is true for credentials this Guard's issuer made.
	Local     bool
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AMR are the authentication methods of the login behind the credential (RFC 8176):
	// ["pwd"] after a password alone, ["pwd","otp"] after a password and a second factor.
	// A refresh or a session renewal keeps the login's. Empty for service clients, API
	// keys, and tokens of remote issuers that carry no amr claim.
	AMR []string
	// AuthTime is when that login happened (the auth_time claim); zero when unknown.
	AuthTime time.Time
	// JKT is the RFC 7638 thumbprint of the key a DPoP-bound token is bound to (its
	// cnf.jkt, RFC 9449), empty for a plain bearer token. A bound token authenticates only
	// with a proof by that key; Method stays what it would be without DPoP.
	JKT string

	// csrfHash is the SHA-256 of the session's CSRF token, for session principals.
	csrfHash []byte
	// claims are the WithClaims claims of the token, read with Claims.
	claims any
}

// HasRole reports whether p has role r.
func (p *Principal) HasRole(r string) bool {
	for _, have := range p.Roles {
		if have == r {
			return true
		}
	}
	return false
}

// Can reports whether p holds a permission that grants perm. Permissions are
// "action:resource" strings in which either part may be "*".
func (p *Principal) Can(perm string) bool {
	for _, have := range p.Permissions {
		if permissionGrants(have, perm) {
			return true
		}
	}
	return false
}

// Request is the framework-neutral view of an HTTP request that adapters implement over
// their own context without copying. Strings returned need only stay valid for the
// duration of the call that received them (Fiber returns views of fasthttp's buffers); the
// Guard copies what it keeps.
type Request interface {
	// Header returns every field line of the named header, in the order received, joined
	// with ", " (RFC 9110 §5.3), or "" when there is none. Returning the first line only
	// would let a client's forged X-Forwarded-For line hide the one a trusted proxy
	// appended below it.
	Header(name string) string
	Cookie(name string) string
	Query(name string) string
	Method() string
	Path() string
	// RemoteAddr is the connection's peer address (host:port or host).
	RemoteAddr() string
}

type ctxKey int

const principalKey ctxKey = 0

// ContextWithPrincipal returns a context carrying p.
func ContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return &principalContext{Context: ctx, p: p}
}

// principalContext is context.WithValue(parent, principalKey, p) as a type of its own, so
// that RequestWithPrincipal can allocate it together with the request.
type principalContext struct {
	context.Context
	p *Principal
}

func (c *principalContext) Value(key any) any {
	if key == any(principalKey) {
		return c.p
	}
	return c.Context.Value(key)
}

func (c *principalContext) String() string { return fmt.Sprint(c.Context) + ".WithPrincipal" }

// requestWithPrincipal is the one allocation of RequestWithPrincipal.
type requestWithPrincipal struct {
	req http.Request
	ctx principalContext
}

// RequestWithPrincipal returns a shallow copy of r whose context carries p: the same as
// r.WithContext(ContextWithPrincipal(r.Context(), p)), in one allocation instead of two.
// It is what net/http middleware hands to the next handler.
func RequestWithPrincipal(r *http.Request, p *Principal) *http.Request {
	x := &requestWithPrincipal{}
	x.ctx = principalContext{Context: r.Context(), p: p}
	x.req = *r.WithContext(&x.ctx)
	return &x.req
}

// PrincipalFromContext returns the principal stored by an adapter's middleware.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	if pc, ok := ctx.(*principalContext); ok {
		return pc.p, pc.p != nil
	}
	p, ok := ctx.Value(principalKey).(*Principal)
	return p, ok && p != nil
}
