package authfiber

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// WithRegistration serves POST /register from Mount, giving every user it creates these
// roles (also the roles Handlers.Register gives). Without it Mount leaves the route out.
func WithRegistration(roles ...string) Option {
	return optionFunc(func(c *config) {
		c.registration = true
		c.roles = roles
	})
}

// WithBodyLimit caps the request bodies the handlers read (default 64 KiB); a larger one
// is a 413.
func WithBodyLimit(n int64) Option {
	return optionFunc(func(c *config) { c.bodyLimit = n })
}

// Handlers are the standard routes (token login, refresh, logout, registration, session
// login and logout, session listing and deletion, JWKS) as Fiber handlers. Each
// translates the request for the Guard and its answer back: the decisions are the Guard's.
// Mount them all at once with Mount, or one by one:
//
//	h := authfiber.NewHandlers(guard)
//	app.Post("/auth/token", h.Token)
//	app.Post("/auth/logout", authfiber.Middleware(guard), h.Logout)
//
// Logout, SessionLogout, Sessions and DeleteSession need Middleware in front.
type Handlers struct {
	ep  *endpoint.Handlers
	cfg config
}

// NewHandlers returns the handlers for guard. WithErrorHandler answers their failures,
// WithRegistration sets the roles of registered users, WithBodyLimit caps bodies.
func NewHandlers(guard *authframe.Guard, opts ...Option) *Handlers {
	cfg := newConfig(opts)
	return &Handlers{
		ep:  endpoint.NewHandlers(guard, endpoint.Config{Registration: cfg.registration, Roles: cfg.roles, BodyLimit: cfg.bodyLimit}),
		cfg: cfg,
	}
}

// Mount serves every standard route on r, relative to r's prefix (Mount(app.Group("/auth"),
// guard) serves POST /auth/token, and so on): /token, /refresh, /logout, /session/login,
// /session/logout, /sessions, /sessions/:id, /jwks.json, and /register with
// WithRegistration. The routes that need a caller get Middleware(guard) in front, which
// WithErrorHandler also configures; WithSkipper does not apply to them.
func Mount(r fiber.Router, guard *authframe.Guard, opts ...Option) {
	h := NewHandlers(guard, opts...)
	mw := h.cfg
	mw.skipper = nil
	auth := middleware(guard, mw)
	for _, rt := range endpoint.Routes {
		fn := h.ep.Handler(rt)
		if fn == nil {
			continue
		}
		serve := func(c *fiber.Ctx) error { return h.serve(c, fn) }
		path := strings.ReplaceAll(rt.Path, "{id}", ":id")
		if rt.Auth {
			r.Add(rt.Method, path, auth, serve)
		} else {
			r.Add(rt.Method, path, serve)
		}
	}
}

// Token is POST /token: username and password (JSON, or an urlencoded form) for
// {"access_token","refresh_token","token_type","expires_in"}.
func (h *Handlers) Token(c *fiber.Ctx) error { return h.serve(c, h.ep.Token) }

// Refresh is POST /refresh: {"refresh_token"} spent for a new pair of the same family.
func (h *Handlers) Refresh(c *fiber.Ctx) error { return h.serve(c, h.ep.Refresh) }

// Logout is POST /logout (behind Middleware): 204, and the caller's session or token
// family is revoked; a session cookie is cleared.
func (h *Handlers) Logout(c *fiber.Ctx) error { return h.serve(c, h.ep.Logout) }

// Register is POST /register: username and password for 201 {"user_id"}, the user holding
// the roles of WithRegistration. Mount serves it only with WithRegistration; route it
// yourself and it serves registration whatever the options.
func (h *Handlers) Register(c *fiber.Ctx) error { return h.serve(c, h.ep.Register) }

// SessionLogin is POST /session/login: username and password for a session cookie and
// {"csrf_token"}, which the page sends back in X-CSRF-Token. A session id the client
// presented is never adopted.
func (h *Handlers) SessionLogin(c *fiber.Ctx) error { return h.serve(c, h.ep.SessionLogin) }

// SessionLogout is POST /session/logout (behind Middleware, so with X-CSRF-Token): 204,
// the session destroyed server-side and its cookie cleared.
func (h *Handlers) SessionLogout(c *fiber.Ctx) error { return h.serve(c, h.ep.SessionLogout) }

// Sessions is GET /sessions (behind Middleware): the caller's live sessions, the current
// one marked.
func (h *Handlers) Sessions(c *fiber.Ctx) error { return h.serve(c, h.ep.Sessions) }

// DeleteSession is DELETE /sessions/:id (behind Middleware): 204, or 404 for an id that is
// not one of the caller's sessions.
func (h *Handlers) DeleteSession(c *fiber.Ctx) error { return h.serve(c, h.ep.DeleteSession) }

// JWKS is GET /jwks.json: the Guard's public verification keys, cacheable for five
// minutes.
func (h *Handlers) JWKS(c *fiber.Ctx) error { return h.serve(c, h.ep.JWKS) }

// OAuthToken is POST /oauth/token (RFC 6749): grant_type=client_credentials for a service
// client authenticated with HTTP Basic or client_id and client_secret, or
// grant_type=refresh_token rotating a user's refresh token. Errors in OAuth's shape.
func (h *Handlers) OAuthToken(c *fiber.Ctx) error { return h.serve(c, h.ep.OAuthToken) }

// Introspect is POST /oauth/introspect (RFC 7662), for authenticated service clients: a
// live access token or API key is {"active":true,...}, anything else {"active":false}.
func (h *Handlers) Introspect(c *fiber.Ctx) error { return h.serve(c, h.ep.Introspect) }

// RevokeToken is POST /oauth/revoke (RFC 7009): a refresh token ends its family, an access
// token or API key stops working on every instance; 200 also for an unknown token.
func (h *Handlers) RevokeToken(c *fiber.Ctx) error { return h.serve(c, h.ep.RevokeToken) }

// CreateClient is POST /clients: {"name","scopes"} for a new service client and its
// secret, shown once. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) CreateClient(c *fiber.Ctx) error { return h.serve(c, h.ep.CreateClient) }

// Clients is GET /clients: every service client, never a secret. Put Middleware and an
// administrator's role requirement in front.
func (h *Handlers) Clients(c *fiber.Ctx) error { return h.serve(c, h.ep.Clients) }

// DeleteClient is DELETE /clients/{id}: 204, and every token issued to the client stops
// working on every instance. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) DeleteClient(c *fiber.Ctx) error { return h.serve(c, h.ep.DeleteClient) }

// CreateKey is POST /keys, behind Middleware: {"name","permissions","expires_in"} for a
// new API key of the caller (a user, not a key or a client), shown once.
func (h *Handlers) CreateKey(c *fiber.Ctx) error { return h.serve(c, h.ep.CreateKey) }

// Keys is GET /keys, behind Middleware: the caller's own API keys, never a key itself.
func (h *Handlers) Keys(c *fiber.Ctx) error { return h.serve(c, h.ep.Keys) }

// DeleteKey is DELETE /keys/{id}, behind Middleware: 204, and the key stops working on
// every instance; 404 for another user's key.
func (h *Handlers) DeleteKey(c *fiber.Ctx) error { return h.serve(c, h.ep.DeleteKey) }

// serve gathers the request for fn and writes its answer.
func (h *Handlers) serve(c *fiber.Ctx, fn func(endpoint.Input) endpoint.Output) error {
	body, err := h.body(c)
	if err != nil {
		return h.cfg.errorHandler(c, err)
	}
	p, _ := PrincipalFrom(c)
	out := fn(endpoint.Input{
		Ctx:     c.UserContext(),
		Request: request{c},
		// The body and the request's strings are views of fasthttp's buffers, which the
		// handlers only read while they run; the id is copied, since a revoked session id
		// stays in the Guard's revocation set after the buffer is reused.
		Body:      body,
		Principal: p,
		ID:        strings.Clone(c.Params("id")),
	})
	if out.Err != nil {
		return h.cfg.errorHandler(c, out.Err)
	}
	for _, ck := range out.Cookies {
		setCookie(c, ck)
	}
	for k, vs := range out.Header {
		for _, v := range vs {
			c.Set(k, v)
		}
	}
	if out.CacheControl != "" {
		c.Set(fiber.HeaderCacheControl, out.CacheControl)
	}
	c.Status(out.Status)
	if len(out.Body) == 0 {
		return nil
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out.Body)
}

// body returns the raw request body, refusing any Content-Encoding before looking at it
// (415, with Accept-Encoding: identity) and a body over the limit (413). c.Body() and
// c.BodyParser would decompress whatever coding the client names, without a limit.
func (h *Handlers) body(c *fiber.Ctx) ([]byte, error) {
	if err := endpoint.CheckContentEncoding(request{c}.Header(fiber.HeaderContentEncoding)); err != nil {
		c.Set(fiber.HeaderAcceptEncoding, "identity")
		return nil, err
	}
	req := c.Request()
	if req.IsBodyStream() {
		// With fiber.Config{StreamRequestBody: true} the body has not been read yet, and
		// fasthttp's Body() would read all of it.
		return endpoint.ReadBody(req.BodyStream(), h.ep.Limit())
	}
	b := req.Body()
	if int64(len(b)) > h.ep.Limit() {
		return nil, authframe.ErrPayloadTooLarge
	}
	return b, nil
}
