package authhttp

import (
	"net/http"
	"strings"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// Option configures the middleware and the handlers; each ignores the options that do not
// concern it.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	skipper      func(*http.Request) bool
	errorHandler func(http.ResponseWriter, *http.Request, error)
	registration bool
	roles        []string
	bodyLimit    int64
}

// WithSkipper lets requests for which skip returns true pass without authentication.
func WithSkipper(skip func(*http.Request) bool) Option {
	return optionFunc(func(c *config) { c.skipper = skip })
}

// WithErrorHandler replaces the default error response (the contract's JSON body and
// WWW-Authenticate header, written by WriteError), for the middleware and the handlers.
func WithErrorHandler(h func(http.ResponseWriter, *http.Request, error)) Option {
	return optionFunc(func(c *config) { c.errorHandler = h })
}

// WithRegistration serves POST /register, giving roles to every user it creates. It is off
// by default because anyone who can reach the route can create an account.
func WithRegistration(roles ...string) Option {
	return optionFunc(func(c *config) { c.registration, c.roles = true, roles })
}

// WithBodyLimit caps the request bodies the handlers read (default 64 KiB); a larger one
// is answered 413. n <= 0 keeps the default.
func WithBodyLimit(n int64) Option {
	return optionFunc(func(c *config) { c.bodyLimit = n })
}

func newConfig(opts []Option) config {
	c := config{errorHandler: WriteError}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// request is the authframe.Request view of an *http.Request. It copies nothing.
type request struct{ r *http.Request }

// Header tries name as given before canonicalising it: the Guard asks for canonical names
// such as "Authorization", which net/http stores as is, and the lookup is on every request.
// Several field lines are joined as RFC 9110 §5.3 combines them: a proxy that appends its
// own X-Forwarded-For line must not be hidden behind the client's first one.
func (q request) Header(name string) string {
	v := q.r.Header[name]
	if v == nil {
		v = q.r.Header.Values(name)
	}
	return joinLines(v)
}

// joinLines returns a lone field line as it is, so that the common case does not allocate.
func joinLines(v []string) string {
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	}
	return strings.Join(v, ", ")
}
func (q request) Cookie(name string) string {
	c, err := q.r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
func (q request) Query(name string) string { return q.r.URL.Query().Get(name) }
func (q request) Method() string           { return q.r.Method }
func (q request) Path() string             { return q.r.URL.Path }
func (q request) RemoteAddr() string       { return q.r.RemoteAddr }

// Request wraps r as an authframe.Request.
func Request(r *http.Request) authframe.Request { return request{r} }

// Middleware authenticates every request with guard (bearer token or session cookie) and
// stores the Principal in the request context; failures are answered with the contract's
// JSON error and never reach next.
func Middleware(guard *authframe.Guard, opts ...Option) func(http.Handler) http.Handler {
	c := newConfig(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.skipper != nil && c.skipper(r) {
				next.ServeHTTP(w, r)
				return
			}
			p, err := guard.Authenticate(r.Context(), request{r})
			if err != nil {
				c.errorHandler(w, r, err)
				return
			}
			next.ServeHTTP(w, authframe.RequestWithPrincipal(r, p))
		})
	}
}

// Optional attaches the Principal when the request authenticates, and lets it through
// anonymously without credentials or with a session cookie that names no live session (a
// browser keeps sending a stale cookie, which must not break public pages). Any other
// failure is answered as Middleware answers it (see endpoint.Anonymous): a refused bearer
// token is a 401 (RFC 6750 §3.1), so that a client learns its token expired instead of
// being served silently as anonymous.
func Optional(guard *authframe.Guard, opts ...Option) func(http.Handler) http.Handler {
	c := newConfig(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.skipper != nil && c.skipper(r) {
				next.ServeHTTP(w, r)
				return
			}
			p, err := guard.Authenticate(r.Context(), request{r})
			if err == nil {
				r = authframe.RequestWithPrincipal(r, p)
			} else if !endpoint.Anonymous(err) {
				c.errorHandler(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Require lets a request through only when its Principal meets every requirement: a role
// ("admin") or a permission ("read:reports"). No Principal is a 401, a missing requirement
// a 403. Put it after Middleware.
func Require(requirements ...string) func(http.Handler) http.Handler {
	return require(authframe.Authorize, requirements)
}

// RequireAny is Require needing only one of the requirements.
func RequireAny(requirements ...string) func(http.Handler) http.Handler {
	return require(authframe.AuthorizeAny, requirements)
}

func require(check func(*authframe.Principal, ...string) error, reqs []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := authframe.PrincipalFromContext(r.Context())
			if err := check(p, reqs...); err != nil {
				WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// PrincipalFrom returns the Principal that Middleware stored for r.
func PrincipalFrom(r *http.Request) (*authframe.Principal, bool) {
	return authframe.PrincipalFromContext(r.Context())
}

// WriteError writes err in the contract's shape, with the request id of r's context.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	endpoint.WriteError(w, err, RequestIDFrom(r))
}

// RequestIDFrom returns the request id that RequestID put in r's context, or "".
func RequestIDFrom(r *http.Request) string {
	return endpoint.RequestIDFromContext(r.Context())
}

// ClientInfo returns the client's IP (as the Guard's trusted-proxy rules see it) and user
// agent, as the handlers record them.
func ClientInfo(r *http.Request, guard *authframe.Guard) authframe.ClientInfo {
	return guard.ClientInfo(request{r})
}

// RequestID accepts a safe incoming X-Request-ID or makes one, puts it in the request
// context (error bodies and audit events repeat it) and echoes it in the response header.
// Put it outermost.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := endpoint.RequestID(r.Header.Get(endpoint.RequestIDHeader))
		w.Header().Set(endpoint.RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(endpoint.ContextWithRequestID(r.Context(), id)))
	})
}
