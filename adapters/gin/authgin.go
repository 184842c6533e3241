package authgin

import (
	"strings"

	"github.com/gin-gonic/gin"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// Option configures Middleware, Optional, NewHandlers and Mount. Each takes the options
// that concern it and ignores the others.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	skipper      func(*gin.Context) bool
	errorHandler func(*gin.Context, error)
	registration bool
	roles        []string
	bodyLimit    int64
}

// WithSkipper lets requests for which skip returns true pass without authentication.
func WithSkipper(skip func(*gin.Context) bool) Option {
	return optionFunc(func(c *config) { c.skipper = skip })
}

// WithErrorHandler replaces the default error response (the contract's JSON body and
// WWW-Authenticate header, written by WriteError) of Middleware and of the handlers. The
// chain is aborted after h returns, whatever h does, so a handler that forgets to abort
// cannot let an unauthenticated request through.
func WithErrorHandler(h func(*gin.Context, error)) Option {
	return optionFunc(func(c *config) { c.errorHandler = h })
}

func newConfig(opts []Option) config {
	c := config{errorHandler: WriteError}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.errorHandler == nil {
		c.errorHandler = WriteError
	}
	return c
}

// request is the authframe.Request view of a *gin.Context. Being a single pointer, it
// converts to the interface without allocating, and it copies nothing.
type request struct{ c *gin.Context }

// Header joins several field lines as RFC 9110 §5.3 combines them (c.GetHeader returns the
// first only): a proxy that appends its own X-Forwarded-For line must not be hidden behind
// the client's. The lookup tries name as given first, as the Guard asks for canonical names.
func (q request) Header(name string) string {
	h := q.c.Request.Header
	v := h[name]
	if v == nil {
		v = h.Values(name)
	}
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	}
	return strings.Join(v, ", ")
}

// Cookie reads the raw cookie value through net/http. gin's c.Cookie would URL-unescape it,
// which no other adapter does: the same cookie must mean the same thing on every framework.
func (q request) Cookie(name string) string {
	ck, err := q.c.Request.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// Query uses gin's per-request query cache. The Guard reads it only when
// authframe.WithTokenQueryParameter is configured.
func (q request) Query(name string) string { return q.c.Query(name) }
func (q request) Method() string           { return q.c.Request.Method }
func (q request) Path() string             { return q.c.Request.URL.Path }

// RemoteAddr is the TCP peer, never c.ClientInfo(): the Guard applies its own trusted-proxy
// rules (authframe.WithTrustedProxies), which gin's SetTrustedProxies must not override.
func (q request) RemoteAddr() string { return q.c.Request.RemoteAddr }

// Request wraps c as an authframe.Request.
func Request(c *gin.Context) authframe.Request { return request{c} }

// Middleware authenticates every request with guard (bearer token or session cookie, with
// the CSRF check on unsafe cookie requests) and stores the Principal in c.Request's
// context, read back with PrincipalFrom; failures are answered with the contract's JSON
// error and abort the chain. The Guard gets c.Request.Context(), so RequestID's id reaches
// its audit events.
//
// The request context, rather than c.Keys, is where every reader finds the Principal: a
// service layer handed c.Request.Context() (authframe.PrincipalFromContext), a net/http
// handler mounted with gin.WrapH, a goroutine given c.Copy(), and *gin.Context itself as
// a context.Context when the engine sets ContextWithFallback. It costs one allocation per
// authenticated request (authframe.RequestWithPrincipal); gin's c.Keys would cost two
// whenever no earlier middleware has made the map.
func Middleware(guard *authframe.Guard, opts ...Option) gin.HandlerFunc {
	return middleware(guard, newConfig(opts))
}

func middleware(guard *authframe.Guard, cfg config) gin.HandlerFunc {
	return func(c *gin.Context) {
		if cfg.skipper != nil && cfg.skipper(c) {
			c.Next()
			return
		}
		p, err := guard.Authenticate(c.Request.Context(), request{c})
		if err != nil {
			cfg.errorHandler(c, err)
			c.Abort()
			return
		}
		attach(c, p)
		c.Next()
	}
}

// Optional attaches the Principal when the request authenticates, and lets a request
// without credentials through anonymously, as it does one whose session cookie has
// outlived its session (browsers keep the cookie longer than the session lives). Any
// other failure (a bad or expired token, a missing CSRF token, an unavailable store) is
// answered as Middleware answers it, so that a client learns its token needs refreshing.
func Optional(guard *authframe.Guard, opts ...Option) gin.HandlerFunc {
	cfg := newConfig(opts)
	return func(c *gin.Context) {
		if cfg.skipper != nil && cfg.skipper(c) {
			c.Next()
			return
		}
		p, err := guard.Authenticate(c.Request.Context(), request{c})
		switch {
		case err == nil:
			attach(c, p)
		case endpoint.Anonymous(err):
		default:
			cfg.errorHandler(c, err)
			c.Abort()
			return
		}
		c.Next()
	}
}

func attach(c *gin.Context, p *authframe.Principal) {
	c.Request = authframe.RequestWithPrincipal(c.Request, p)
}

// Require lets a request through only when its Principal meets every requirement: a role
// ("admin") or a permission ("read:reports"). No Principal is a 401, a missing requirement
// a 403, and either aborts the chain. Put it after Middleware (or Optional).
func Require(requirements ...string) gin.HandlerFunc {
	return require(authframe.Authorize, requirements)
}

// RequireAny is Require needing only one of the requirements.
func RequireAny(requirements ...string) gin.HandlerFunc {
	return require(authframe.AuthorizeAny, requirements)
}

func require(check func(*authframe.Principal, ...string) error, reqs []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, _ := PrincipalFrom(c)
		if err := check(p, reqs...); err != nil {
			WriteError(c, err)
			return
		}
		c.Next()
	}
}

// PrincipalFrom returns the Principal in c.Request's context: the one Middleware or
// Optional stored, or one put there before the engine (by authhttp.Middleware wrapped
// around it, for instance). The Principal may be shared with other requests presenting the
// same token: treat it as read-only.
func PrincipalFrom(c *gin.Context) (*authframe.Principal, bool) {
	if c.Request == nil {
		return nil, false
	}
	return authframe.PrincipalFromContext(c.Request.Context())
}

// RequestIDFrom returns the request id that RequestID put in c.Request's context, or "".
func RequestIDFrom(c *gin.Context) string {
	if c.Request == nil {
		return ""
	}
	return endpoint.RequestIDFromContext(c.Request.Context())
}

// WriteError answers err in the contract's shape (status, WWW-Authenticate or Retry-After
// where due, JSON body with c's request id) and aborts the chain, as
// c.AbortWithStatusJSON would. The body is endpoint.RenderError's bytes, identical on every
// adapter, rather than a re-encoding by gin's JSON renderer.
func WriteError(c *gin.Context, err error) {
	c.Abort()
	endpoint.WriteError(c.Writer, err, RequestIDFrom(c))
}

// ClientInfo returns the client's IP (as the Guard's trusted-proxy rules see it, from the
// TCP peer and X-Forwarded-For) and user agent, as the handlers record them. gin's strings
// outlive the request, so the values are safe to keep.
func ClientInfo(c *gin.Context, guard *authframe.Guard) authframe.ClientInfo {
	return guard.ClientInfo(request{c})
}

// RequestID accepts a safe incoming X-Request-ID or makes one, echoes it in the response
// header and puts it in c.Request's context, where error bodies (WriteError) and the
// Guard's audit events find it. Register it first.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := endpoint.RequestID(c.GetHeader(endpoint.RequestIDHeader))
		c.Header(endpoint.RequestIDHeader, id)
		c.Request = c.Request.WithContext(endpoint.ContextWithRequestID(c.Request.Context(), id))
		c.Next()
	}
}
