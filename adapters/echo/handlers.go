package authecho

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// Handlers are the standard routes as echo handlers: password login for tokens or a
// cookie session, refresh, logout, registration, the caller's sessions and the JWKS.
// Each only translates between echo and the framework-neutral endpoint.Handlers; every
// decision is the Guard's. Build them with NewHandlers, or let Mount route them all.
type Handlers struct {
	guard *authframe.Guard
	core  *endpoint.Handlers
	cfg   *config
}

// NewHandlers returns the handlers for guard. WithRegistration sets the roles of the users
// Register creates, WithBodyLimit the largest body read, and WithErrorHandler (or
// WithHTTPError) how failures are answered. Built with a nil guard, every handler answers
// 500 internal, as Middleware does.
func NewHandlers(guard *authframe.Guard, opts ...Option) *Handlers {
	cfg := newConfig(opts)
	return &Handlers{guard: guard, cfg: cfg, core: endpoint.NewHandlers(guard, endpoint.Config{
		Registration: cfg.registration, Roles: cfg.roles, BodyLimit: cfg.bodyLimit,
	})}
}

// Token is POST /token: a JSON or urlencoded username and password answered with an
// access and refresh token pair.
func (h *Handlers) Token(c echo.Context) error { return h.serve(c, h.core.Token) }

// Refresh is POST /refresh: {"refresh_token"} spent for a new pair. A spent token presented
// again revokes its whole family.
func (h *Handlers) Refresh(c echo.Context) error { return h.serve(c, h.core.Refresh) }

// Logout is POST /logout, behind Middleware: the caller's session, refresh family and
// access tokens are revoked, and a session cookie is cleared.
func (h *Handlers) Logout(c echo.Context) error { return h.serve(c, h.core.Logout) }

// Register is POST /register: 201 {"user_id"}, 409 for a taken username.
func (h *Handlers) Register(c echo.Context) error { return h.serve(c, h.core.Register) }

// SessionLogin is POST /session/login: a password login answered with the session cookie
// and {"csrf_token"} for the page to send back in X-CSRF-Token. A session id the client
// presents is never adopted, and a browser's cross-site login is refused.
func (h *Handlers) SessionLogin(c echo.Context) error { return h.serve(c, h.core.SessionLogin) }

// SessionLogout is POST /session/logout, behind Middleware (which checks the CSRF token):
// the session is destroyed and its cookie cleared.
func (h *Handlers) SessionLogout(c echo.Context) error { return h.serve(c, h.core.SessionLogout) }

// Sessions is GET /sessions, behind Middleware: the caller's live sessions, the current
// one marked.
func (h *Handlers) Sessions(c echo.Context) error { return h.serve(c, h.core.Sessions) }

// DeleteSession is DELETE /sessions/:id, behind Middleware: 204, or 404 for an id that is
// not one of the caller's sessions.
func (h *Handlers) DeleteSession(c echo.Context) error { return h.serve(c, h.core.DeleteSession) }

// JWKS is GET /jwks.json: the Guard's public verification keys.
func (h *Handlers) JWKS(c echo.Context) error { return h.serve(c, h.core.JWKS) }

// OAuthToken is POST /oauth/token (RFC 6749): grant_type=client_credentials for a service
// client authenticated with HTTP Basic or client_id and client_secret, or
// grant_type=refresh_token rotating a user's refresh token. Errors in OAuth's shape.
func (h *Handlers) OAuthToken(c echo.Context) error { return h.serve(c, h.core.OAuthToken) }

// Introspect is POST /oauth/introspect (RFC 7662), for authenticated service clients: a
// live access token or API key is {"active":true,...}, anything else {"active":false}.
func (h *Handlers) Introspect(c echo.Context) error { return h.serve(c, h.core.Introspect) }

// RevokeToken is POST /oauth/revoke (RFC 7009): a refresh token ends its family, an access
// token or API key stops working on every instance; 200 also for an unknown token.
func (h *Handlers) RevokeToken(c echo.Context) error { return h.serve(c, h.core.RevokeToken) }

// CreateClient is POST /clients: {"name","scopes"} for a new service client and its
// secret, shown once. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) CreateClient(c echo.Context) error { return h.serve(c, h.core.CreateClient) }

// Clients is GET /clients: every service client, never a secret. Put Middleware and an
// administrator's role requirement in front.
func (h *Handlers) Clients(c echo.Context) error { return h.serve(c, h.core.Clients) }

// DeleteClient is DELETE /clients/{id}: 204, and every token issued to the client stops
// working on every instance. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) DeleteClient(c echo.Context) error { return h.serve(c, h.core.DeleteClient) }

// CreateKey is POST /keys, behind Middleware: {"name","permissions","expires_in"} for a
// new API key of the caller (a user, not a key or a client), shown once.
func (h *Handlers) CreateKey(c echo.Context) error { return h.serve(c, h.core.CreateKey) }

// Keys is GET /keys, behind Middleware: the caller's own API keys, never a key itself.
func (h *Handlers) Keys(c echo.Context) error { return h.serve(c, h.core.Keys) }

// DeleteKey is DELETE /keys/{id}, behind Middleware: 204, and the key stops working on
// every instance; 404 for another user's key.
func (h *Handlers) DeleteKey(c echo.Context) error { return h.serve(c, h.core.DeleteKey) }

// serve gathers c into an endpoint.Input, runs fn and writes its Output.
func (h *Handlers) serve(c echo.Context, fn func(endpoint.Input) endpoint.Output) error {
	if h.guard == nil {
		return h.cfg.fail(c, errNilGuard)
	}
	r := c.Request()
	view := request{r}
	// Refused before a byte is read: decompressing would let a small body inflate far past
	// the limit before it could be measured.
	if err := endpoint.CheckContentEncoding(view.Header("Content-Encoding")); err != nil {
		c.Response().Header().Set("Accept-Encoding", "identity")
		return h.cfg.fail(c, err)
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		limit := h.core.Limit()
		// MaxBytesReader on echo's underlying writer lets net/http close the connection
		// rather than drain the rest of an oversized body.
		b, err := endpoint.ReadBody(http.MaxBytesReader(c.Response().Writer, r.Body, limit), limit)
		if err != nil {
			return h.cfg.fail(c, err)
		}
		body = b
	}
	p, _ := PrincipalFrom(c)
	return h.write(c, fn(endpoint.Input{Ctx: r.Context(), Request: view, Body: body, Principal: p, ID: c.Param("id")}))
}

func (h *Handlers) write(c echo.Context, out endpoint.Output) error {
	if out.Err != nil {
		return h.cfg.fail(c, out.Err)
	}
	for _, ck := range out.Cookies {
		c.SetCookie(ck)
	}
	for k, vs := range out.Header {
		c.Response().Header()[k] = vs
	}
	if out.CacheControl != "" {
		c.Response().Header().Set("Cache-Control", out.CacheControl)
	}
	if len(out.Body) == 0 {
		return c.NoContent(out.Status)
	}
	return c.Blob(out.Status, echo.MIMEApplicationJSON, out.Body)
}

// Router is where Mount adds its routes: *echo.Echo and *echo.Group both satisfy it.
type Router interface {
	Add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

// Mount adds the standard routes of endpoint.Routes to r, relative to it, with
// Middleware(guard) in front of those that need a caller: on a group,
//
//	authecho.Mount(e.Group("/auth"), guard)
//
// serves POST /auth/token, /auth/refresh, /auth/logout, /auth/session/login and
// /auth/session/logout, GET /auth/sessions, DELETE /auth/sessions/:id and
// GET /auth/jwks.json, and POST /auth/register with WithRegistration. The options are
// NewHandlers' and Middleware's; WithSkipper is left out, since these routes must never
// pass unauthenticated.
func Mount(r Router, guard *authframe.Guard, opts ...Option) {
	h := NewHandlers(guard, opts...)
	mw := *h.cfg
	mw.skipper = nil
	auth := mw.middleware(guard)
	for _, rt := range endpoint.Routes {
		fn := h.core.Handler(rt)
		if fn == nil {
			continue
		}
		handler := func(c echo.Context) error { return h.serve(c, fn) }
		if rt.Auth {
			r.Add(rt.Method, echoPath(rt.Path), handler, auth)
		} else {
			r.Add(rt.Method, echoPath(rt.Path), handler)
		}
	}
}

// echoPath writes the table's {name} parameters echo's way, :name.
func echoPath(p string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			b.WriteString(p)
			return b.String()
		}
		end := strings.IndexByte(p[open:], '}')
		if end < 0 {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:open])
		b.WriteByte(':')
		b.WriteString(p[open+1 : open+end])
		p = p[open+end+1:]
	}
}
