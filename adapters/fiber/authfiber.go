package authfiber

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// Option configures Middleware, Optional, NewHandlers and Mount.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	skipper      func(*fiber.Ctx) bool
	errorHandler func(*fiber.Ctx, error) error
	registration bool
	roles        []string
	bodyLimit    int64
}

// WithSkipper lets requests for which skip returns true pass without authentication. It is
// the Next field of Fiber's own middleware configs.
func WithSkipper(skip func(*fiber.Ctx) bool) Option {
	return optionFunc(func(c *config) { c.skipper = skip })
}

// WithErrorHandler replaces the default error response (the contract's JSON body and
// WWW-Authenticate header, written by WriteError) of the middleware and of the handlers.
// What h returns is returned by them, so a non-nil error reaches the app's
// fiber.Config.ErrorHandler.
func WithErrorHandler(h func(*fiber.Ctx, error) error) Option {
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

// localsKey keys this package's values in c.Locals. A small integer type keeps the
// conversion to interface{} free of allocations.
type localsKey uint8

const (
	principalKey localsKey = iota
	requestIDKey
)

// request is the authframe.Request view of a *fiber.Ctx. Its strings are views of
// fasthttp's buffers, valid for the call only, which is all the Guard asks: it copies what
// it keeps. Being a single pointer, it converts to the interface without allocating.
type request struct{ c *fiber.Ctx }

// Header joins several field lines as RFC 9110 §5.3 combines them (c.Get returns the first
// only): a proxy that appends its own X-Forwarded-For line must not be hidden behind the
// client's. A lone line is returned as a view, without allocating.
func (q request) Header(name string) string {
	lines := q.c.Request().Header.PeekAll(name)
	switch len(lines) {
	case 0:
		return ""
	case 1:
		return utils.UnsafeString(lines[0])
	}
	n := 2 * (len(lines) - 1)
	for _, l := range lines {
		n += len(l)
	}
	var b strings.Builder
	b.Grow(n)
	for i, l := range lines {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(l)
	}
	return b.String()
}
func (q request) Cookie(name string) string { return q.c.Cookies(name) }
func (q request) Query(name string) string  { return q.c.Query(name) }
func (q request) Method() string            { return q.c.Method() }
func (q request) Path() string              { return q.c.Path() }

// RemoteAddr is the TCP peer, never a proxy header: the Guard applies its own
// trusted-proxy rules (c.IP() with Fiber's ProxyHeader would bypass them). Only logins and
// ClientInfo call it, so its allocation stays off the bearer hot path.
func (q request) RemoteAddr() string { return q.c.Context().RemoteIP().String() }

// Request wraps c as an authframe.Request. Its strings are only valid inside the handler.
func Request(c *fiber.Ctx) authframe.Request { return request{c} }

// Middleware authenticates every request with guard (bearer token or session cookie, with
// the CSRF check on unsafe cookie requests) and stores the Principal in c.Locals, read
// back with PrincipalFrom; failures are answered with the contract's JSON error and never
// reach the next handler. The Guard gets c.UserContext(), so RequestID's id reaches its
// audit events.
func Middleware(guard *authframe.Guard, opts ...Option) fiber.Handler {
	return middleware(guard, newConfig(opts))
}

func middleware(guard *authframe.Guard, cfg config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if cfg.skipper != nil && cfg.skipper(c) {
			return c.Next()
		}
		p, err := guard.Authenticate(c.UserContext(), request{c})
		if err != nil {
			return cfg.errorHandler(c, err)
		}
		c.Locals(principalKey, p)
		return c.Next()
	}
}

// Optional attaches the Principal when the request authenticates and lets a request that
// presents no credentials through anonymously, as it does one whose session cookie names
// no live session (browsers keep the cookie after the session's idle timeout, and a
// public page must not fail for them). A credential that is presented and fails (a bad or
// expired bearer token, a session request without its CSRF token) is answered as
// Middleware answers it: the client must learn that its token no longer works, or it
// would never refresh it (RFC 6750 §3.1).
func Optional(guard *authframe.Guard, opts ...Option) fiber.Handler {
	cfg := newConfig(opts)
	return func(c *fiber.Ctx) error {
		if cfg.skipper != nil && cfg.skipper(c) {
			return c.Next()
		}
		p, err := guard.Authenticate(c.UserContext(), request{c})
		switch {
		case err == nil:
			c.Locals(principalKey, p)
		case endpoint.Anonymous(err):
		default:
			return cfg.errorHandler(c, err)
		}
		return c.Next()
	}
}

// Require lets a request through only when its Principal meets every requirement: a role
// ("admin") or a permission ("read:reports"). No Principal is a 401, a missing requirement
// a 403. Put it after Middleware.
func Require(requirements ...string) fiber.Handler {
	return require(authframe.Authorize, requirements)
}

// RequireAny is Require needing only one of the requirements.
func RequireAny(requirements ...string) fiber.Handler {
	return require(authframe.AuthorizeAny, requirements)
}

func require(check func(*authframe.Principal, ...string) error, reqs []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := PrincipalFrom(c)
		if err := check(p, reqs...); err != nil {
			return WriteError(c, err)
		}
		return c.Next()
	}
}

// PrincipalFrom returns the Principal that Middleware or Optional stored for c. The
// Principal may be shared with other requests presenting the same token: treat it as
// read-only.
func PrincipalFrom(c *fiber.Ctx) (*authframe.Principal, bool) {
	p, ok := c.Locals(principalKey).(*authframe.Principal)
	return p, ok && p != nil
}

// SetPrincipal stores p for c where Middleware does, so that PrincipalFrom, Require and
// the handlers that need a caller find it. It is for tests, where a handler runs behind
// a one-line middleware setting the Principal instead of a token (what
// authtest.WithPrincipal does for the other adapters), and for middleware of one's own
// that authenticates requests some other way. A nil p leaves c anonymous.
func SetPrincipal(c *fiber.Ctx, p *authframe.Principal) {
	c.Locals(principalKey, p)
}

// RequestIDFrom returns the request id that RequestID set for c, or the one carried by
// c.UserContext(), or "".
func RequestIDFrom(c *fiber.Ctx) string {
	if id, ok := c.Locals(requestIDKey).(string); ok {
		return id
	}
	return endpoint.RequestIDFromContext(c.UserContext())
}

// WriteError answers err in the contract's shape (status, WWW-Authenticate or Retry-After
// where due, JSON body with c's request id). It returns nil once the response is written,
// so Fiber's ErrorHandler does not write a second one.
func WriteError(c *fiber.Ctx, err error) error {
	r := endpoint.RenderError(err, RequestIDFrom(c))
	for _, kv := range r.Headers {
		c.Set(kv[0], kv[1])
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Status(r.Status)
	return c.Send(r.Body)
}

// setCookie writes cookie as net/http formats it, so that every adapter sends the same
// bytes: Expires and Max-Age both, Max-Age=0 on a clearing cookie, SameSite as the Guard
// configured it. (fasthttp's Cookie writes Max-Age alone when it is positive and nothing
// for a negative one, and fiber.Cookie turns an unset SameSite into Lax.) An earlier
// Set-Cookie of the same name in this response is replaced.
func setCookie(c *fiber.Ctx, cookie *http.Cookie) {
	if cookie == nil {
		return
	}
	v := cookie.String()
	if v == "" {
		return
	}
	h := &c.Response().Header
	h.DelCookie(cookie.Name)
	h.Add(fiber.HeaderSetCookie, v)
}

// ClientInfo returns the client's IP (as the Guard's trusted-proxy rules see it, from the
// TCP peer and every X-Forwarded-For line) and user agent. Both are copies, safe to keep
// after the handler returns.
func ClientInfo(c *fiber.Ctx, guard *authframe.Guard) authframe.ClientInfo {
	ci := guard.ClientInfo(request{c})
	return authframe.ClientInfo{IP: strings.Clone(ci.IP), UserAgent: strings.Clone(ci.UserAgent)}
}

// RequestID accepts a safe incoming X-Request-ID or makes one, echoes it in the response
// header, and keeps it in c.Locals (for error bodies and RequestIDFrom) and in
// c.UserContext() (for the Guard's audit events). Register it first.
func RequestID() fiber.Handler {
	return func(c *fiber.Ctx) error {
		in := c.Get(endpoint.RequestIDHeader)
		id := endpoint.RequestID(in)
		if id == in {
			// in is a view of fasthttp's buffer; the id outlives it in the user context.
			id = strings.Clone(id)
		}
		c.Set(endpoint.RequestIDHeader, id)
		c.Locals(requestIDKey, id)
		c.SetUserContext(endpoint.ContextWithRequestID(c.UserContext(), id))
		return c.Next()
	}
}
