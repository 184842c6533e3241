package authecho

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// configKey is where a non-default error mode is kept in echo.Context for the Require
// that may follow. Echo keys are strings, so it is namespaced to stay clear of the
// application's own.
const configKey = "authframe.errors"

// Option configures Middleware, Optional, NewHandlers and Mount. Each takes the options
// that concern it and ignores the rest: WithRegistration and WithBodyLimit shape only the
// handlers, WithSkipper only the middleware.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	skipper      func(echo.Context) bool
	errorHandler func(echo.Context, error) error
	// The handlers' endpoint.Config.
	registration bool
	roles        []string
	bodyLimit    int64
}

// WithSkipper lets requests for which skip returns true pass without authentication, as
// echo's middleware.Skipper does (a middleware.Skipper value can be passed as is). By
// default nothing is skipped.
func WithSkipper(skip func(echo.Context) bool) Option {
	return optionFunc(func(c *config) { c.skipper = skip })
}

// WithHTTPError(true) returns failures as *echo.HTTPError (see HTTPError) instead of writing
// them, so that the Echo instance's HTTPErrorHandler renders them. Require and RequireAny
// behind this middleware then do the same. WithHTTPError(false) restores the default: the
// contract's JSON written directly, identical to every other authframe adapter.
func WithHTTPError(enabled bool) Option {
	return optionFunc(func(c *config) {
		if enabled {
			c.errorHandler = httpError
		} else {
			c.errorHandler = nil
		}
	})
}

// WithErrorHandler replaces the error response altogether: h gets the request and the
// *authframe.Error, and what it returns is returned up the chain (nil when it wrote a
// response itself). Require and RequireAny behind this middleware use it too, and so do
// the handlers of NewHandlers and Mount.
func WithErrorHandler(h func(c echo.Context, err error) error) Option {
	return optionFunc(func(c *config) { c.errorHandler = h })
}

// WithRegistration makes Mount serve POST /register, and gives every user that it (or
// Handlers.Register) creates roles. Without it Mount leaves the route out, so that
// mounting the standard routes never opens sign-up by accident; routing Handlers.Register
// yourself is opt-in enough.
func WithRegistration(roles ...string) Option {
	roles = append([]string(nil), roles...)
	return optionFunc(func(c *config) { c.registration, c.roles = true, roles })
}

// WithBodyLimit caps the request bodies the handlers read (default endpoint.BodyLimit,
// 64 KiB, which n <= 0 keeps); a larger one is answered 413 payload_too_large.
func WithBodyLimit(n int64) Option {
	return optionFunc(func(c *config) { c.bodyLimit = n })
}

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	return c
}

// fail answers err the configured way.
func (cfg *config) fail(c echo.Context, err error) error {
	if cfg.errorHandler != nil {
		return cfg.errorHandler(c, err)
	}
	return WriteError(c, err)
}

// request is the authframe.Request view of an echo request. It copies nothing, and being
// one pointer it becomes an authframe.Request without an allocation. RemoteAddr is the
// connection's peer, deliberately not c.RealIP(): the Guard applies its own trusted-proxy
// rules to X-Forwarded-For.
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
	ck, err := q.r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// Query is read only when the Guard is configured with WithTokenQueryParameter. It parses
// the query itself rather than calling c.QueryParam, which would need the two-word
// echo.Context in the view and an allocation on every request.
func (q request) Query(name string) string { return q.r.URL.Query().Get(name) }
func (q request) Method() string           { return q.r.Method }
func (q request) Path() string             { return q.r.URL.Path }
func (q request) RemoteAddr() string       { return q.r.RemoteAddr }

// Request wraps c's request as an authframe.Request, for calling the Guard directly.
func Request(c echo.Context) authframe.Request { return request{c.Request()} }

// Middleware authenticates every request with guard (bearer token or session cookie, with
// the CSRF check on unsafe cookie requests) and stores the Principal in the context of c's
// request, read back with PrincipalFrom, or with authframe.PrincipalFromContext by a
// service layer handed c.Request().Context(). Failures never reach next: by default they
// are answered with the contract's JSON error and WWW-Authenticate challenge. Built with a
// nil guard it answers every request with 500 internal.
//
// The request context costs one allocation per authenticated request (the request copy
// that carries it, authframe.RequestWithPrincipal); c.Set would cost echo's two for the
// context's map, and would hide the Principal from code that holds only the request.
func Middleware(guard *authframe.Guard, opts ...Option) echo.MiddlewareFunc {
	return newConfig(opts).middleware(guard)
}

func (cfg *config) middleware(guard *authframe.Guard) echo.MiddlewareFunc {
	if guard == nil {
		return cfg.refuseAll
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.skipper != nil && cfg.skipper(c) {
				cfg.remember(c)
				return next(c)
			}
			r := c.Request()
			p, err := guard.Authenticate(r.Context(), request{r})
			if err != nil {
				return cfg.fail(c, err)
			}
			attach(c, r, p)
			cfg.remember(c)
			return next(c)
		}
	}
}

// Optional attaches the Principal when the request authenticates, and lets it through
// anonymously when it presents no credentials, or only a session cookie that names no
// live session (which a browser keeps after its session ended: a public page must not
// turn into a 401 for it). Credentials that fail otherwise are answered as Middleware
// answers them: a bad, expired or revoked bearer token is a 401 (RFC 6750 §3.1: the
// client learns to refresh rather than silently losing its identity), a session request
// without its CSRF token a 403, a store that cannot answer a 503. Require behind it
// answers anonymous requests with 401.
func Optional(guard *authframe.Guard, opts ...Option) echo.MiddlewareFunc {
	cfg := newConfig(opts)
	if guard == nil {
		return cfg.refuseAll
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.skipper != nil && cfg.skipper(c) {
				cfg.remember(c)
				return next(c)
			}
			r := c.Request()
			p, err := guard.Authenticate(r.Context(), request{r})
			switch {
			case err == nil:
				attach(c, r, p)
			case !endpoint.Anonymous(err):
				return cfg.fail(c, err)
			}
			cfg.remember(c)
			return next(c)
		}
	}
}

func attach(c echo.Context, r *http.Request, p *authframe.Principal) {
	c.SetRequest(authframe.RequestWithPrincipal(r, p))
}

// errNilGuard is the answer of a middleware built without a Guard: a wiring mistake must
// fail closed, on every request, rather than panic or let requests through.
var errNilGuard = endpoint.AsError(errors.New("authecho: middleware built with a nil *authframe.Guard"))

func (cfg *config) refuseAll(echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error { return cfg.fail(c, errNilGuard) }
}

// remember records a non-default error mode for the Require that may follow. The default
// costs nothing.
func (cfg *config) remember(c echo.Context) {
	if cfg.errorHandler != nil {
		c.Set(configKey, cfg)
	}
}

// Require lets a request through only when its Principal meets every requirement: a role
// ("admin") or a permission ("read:reports"). No Principal is a 401, a missing requirement
// a 403, answered the way the Middleware (or Optional) in front of it answers. Use it after
// Middleware, as route middleware: e.GET("/admin", h, authecho.Require("admin")).
func Require(requirements ...string) echo.MiddlewareFunc {
	return require(authframe.Authorize, requirements)
}

// RequireAny is Require needing only one of the requirements.
func RequireAny(requirements ...string) echo.MiddlewareFunc {
	return require(authframe.AuthorizeAny, requirements)
}

func require(check func(*authframe.Principal, ...string) error, reqs []string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, _ := PrincipalFrom(c)
			if err := check(p, reqs...); err != nil {
				if cfg, ok := c.Get(configKey).(*config); ok {
					return cfg.fail(c, err)
				}
				return WriteError(c, err)
			}
			return next(c)
		}
	}
}

// PrincipalFrom returns the Principal in the context of c's request: the one Middleware or
// Optional stored, or one put there before echo (by authhttp.Middleware wrapped around the
// Echo instance, for instance). The Guard shares it between requests: treat it as
// read-only.
func PrincipalFrom(c echo.Context) (*authframe.Principal, bool) {
	r := c.Request()
	if r == nil {
		return nil, false
	}
	return authframe.PrincipalFromContext(r.Context())
}

// WriteError writes err on c's response in the contract's shape (JSON body with the
// request id, WWW-Authenticate, Retry-After, Cache-Control: no-store), exactly as the other
// adapters do. It returns nil so that a handler can end with return authecho.WriteError(c, err);
// a nil err writes nothing.
func WriteError(c echo.Context, err error) error {
	if err != nil {
		endpoint.WriteError(c.Response(), err, RequestIDFrom(c))
	}
	return nil
}

// HTTPError turns err into an *echo.HTTPError for the Echo instance's HTTPErrorHandler:
// Code is the contract's status, Message the contract's body (an endpoint.ErrorBody, which
// echo's default handler writes as the same JSON) and Internal the *authframe.Error. The
// contract's headers (WWW-Authenticate, Retry-After, Cache-Control) are set on c's response
// at once, since echo's HTTPError has no room for them. A nil err gives nil.
func HTTPError(c echo.Context, err error) *echo.HTTPError {
	if err == nil {
		return nil
	}
	ae := endpoint.AsError(err)
	r := endpoint.RenderError(ae, RequestIDFrom(c))
	h := c.Response().Header()
	for _, kv := range r.Headers {
		h.Set(kv[0], kv[1])
	}
	var body endpoint.ErrorBody
	// Decoding what RenderError made keeps one definition of the body (its message defaults
	// included); this is the error path, so the cost does not matter.
	_ = json.Unmarshal(r.Body, &body)
	return &echo.HTTPError{Code: r.Status, Message: body, Internal: ae}
}

func httpError(c echo.Context, err error) error {
	if he := HTTPError(c, err); he != nil {
		return he
	}
	return nil
}

// ClientInfo returns the client's IP (as the Guard's trusted-proxy rules see it, not
// c.RealIP()) and user agent, for calling the Guard's login methods directly. net/http
// does not reuse the strings of a request, so they stay valid after it.
func ClientInfo(c echo.Context, guard *authframe.Guard) authframe.ClientInfo {
	return guard.ClientInfo(request{c.Request()})
}

// RequestIDFrom returns the request id that RequestID put in the context of c's request,
// or "" without that middleware.
func RequestIDFrom(c echo.Context) string {
	return endpoint.RequestIDFromContext(c.Request().Context())
}

// RequestID accepts a safe incoming X-Request-ID or makes one, puts it in the request
// context (error bodies and audit events repeat it) and echoes it in the response header.
// Put it first: e.Use(authecho.RequestID()).
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			id := endpoint.RequestID(r.Header.Get(endpoint.RequestIDHeader))
			c.Response().Header().Set(endpoint.RequestIDHeader, id)
			c.SetRequest(r.WithContext(endpoint.ContextWithRequestID(r.Context(), id)))
			return next(c)
		}
	}
}
