package authgin

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// WithRegistration makes NewHandlers and Mount serve POST /register, giving every user it
// creates roles. Without it Mount leaves the route out, so an app never opens sign-up by
// accident; a Register method routed by hand is served either way, with these roles.
func WithRegistration(roles ...string) Option {
	roles = append([]string(nil), roles...)
	return optionFunc(func(c *config) {
		c.registration = true
		c.roles = roles
	})
}

// WithBodyLimit caps the request bodies the handlers read (default 64 KiB); a larger body
// is answered 413 payload_too_large. n <= 0 keeps the default.
func WithBodyLimit(n int64) Option {
	return optionFunc(func(c *config) { c.bodyLimit = n })
}

// Handlers are the standard authentication routes as gin handlers: password login for
// tokens and for cookie sessions, refresh, logout, registration, the caller's sessions
// and the JWKS. Each translates the request for endpoint.Handlers and writes its answer;
// every decision is the Guard's. Mount routes them all at once.
type Handlers struct {
	core *endpoint.Handlers
	cfg  config
}

// NewHandlers returns the handlers for guard. WithRegistration, WithBodyLimit and
// WithErrorHandler apply; WithSkipper does not.
func NewHandlers(guard *authframe.Guard, opts ...Option) *Handlers {
	cfg := newConfig(opts)
	return &Handlers{
		core: endpoint.NewHandlers(guard, endpoint.Config{Registration: cfg.registration, Roles: cfg.roles, BodyLimit: cfg.bodyLimit}),
		cfg:  cfg,
	}
}

// Mount routes the standard routes (endpoint.Routes) on r, typically a group:
//
//	authgin.Mount(r.Group("/auth"), guard, authgin.WithRegistration("user"))
//
// POST /token, /refresh and /session/login and GET /jwks.json are public; POST /logout and
// /session/logout, GET /sessions and DELETE /sessions/:id get Middleware(guard) in front.
// POST /register is routed only with WithRegistration. WithErrorHandler applies to the
// handlers and to that Middleware; WithSkipper is ignored, since these routes must always
// know their caller.
func Mount(r gin.IRouter, guard *authframe.Guard, opts ...Option) {
	h := NewHandlers(guard, opts...)
	auth := middleware(guard, config{errorHandler: h.cfg.errorHandler})
	for _, rt := range endpoint.Routes {
		fn := h.core.Handler(rt)
		if fn == nil {
			continue
		}
		handle := func(c *gin.Context) { h.serve(c, fn) }
		if rt.Auth {
			r.Handle(rt.Method, ginPath(rt.Path), auth, handle)
		} else {
			r.Handle(rt.Method, ginPath(rt.Path), handle)
		}
	}
}

// ginPath writes endpoint's {name} parameters as gin's :name.
func ginPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
			segs[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(segs, "/")
}

// Token is POST /token: username and password (JSON, or an urlencoded form) for
// {"access_token","refresh_token","token_type","expires_in"}.
func (h *Handlers) Token(c *gin.Context) { h.serve(c, h.core.Token) }

// Refresh is POST /refresh: {"refresh_token"} spent for a new pair.
func (h *Handlers) Refresh(c *gin.Context) { h.serve(c, h.core.Refresh) }

// Logout is POST /logout, behind Middleware: the caller's session, refresh family and
// access tokens are revoked, and a session cookie is cleared. 204.
func (h *Handlers) Logout(c *gin.Context) { h.serve(c, h.core.Logout) }

// Register is POST /register: username and password for 201 {"user_id"}, with the roles
// of WithRegistration.
func (h *Handlers) Register(c *gin.Context) { h.serve(c, h.core.Register) }

// SessionLogin is POST /session/login: username and password for a session cookie and
// {"csrf_token"}, which the page sends back in X-CSRF-Token. A session id the client
// presents is never adopted.
func (h *Handlers) SessionLogin(c *gin.Context) { h.serve(c, h.core.SessionLogin) }

// SessionLogout is POST /session/logout, behind Middleware: the session is destroyed and
// its cookie cleared. 204.
func (h *Handlers) SessionLogout(c *gin.Context) { h.serve(c, h.core.SessionLogout) }

// Sessions is GET /sessions, behind Middleware: {"sessions":[...]}, the caller's live
// sessions with the current one marked.
func (h *Handlers) Sessions(c *gin.Context) { h.serve(c, h.core.Sessions) }

// DeleteSession is DELETE /sessions/:id, behind Middleware: 204, or 404 for an id that is
// not one of the caller's sessions. The id is the path parameter named id.
func (h *Handlers) DeleteSession(c *gin.Context) { h.serve(c, h.core.DeleteSession) }

// JWKS is GET /jwks.json: the Guard's public verification keys.
func (h *Handlers) JWKS(c *gin.Context) { h.serve(c, h.core.JWKS) }

// OAuthToken is POST /oauth/token (RFC 6749): grant_type=client_credentials for a service
// client authenticated with HTTP Basic or client_id and client_secret, or
// grant_type=refresh_token rotating a user's refresh token. Errors in OAuth's shape.
func (h *Handlers) OAuthToken(c *gin.Context) { h.serve(c, h.core.OAuthToken) }

// Introspect is POST /oauth/introspect (RFC 7662), for authenticated service clients: a
// live access token or API key is {"active":true,...}, anything else {"active":false}.
func (h *Handlers) Introspect(c *gin.Context) { h.serve(c, h.core.Introspect) }

// RevokeToken is POST /oauth/revoke (RFC 7009): a refresh token ends its family, an access
// token or API key stops working on every instance; 200 also for an unknown token.
func (h *Handlers) RevokeToken(c *gin.Context) { h.serve(c, h.core.RevokeToken) }

// CreateClient is POST /clients: {"name","scopes"} for a new service client and its
// secret, shown once. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) CreateClient(c *gin.Context) { h.serve(c, h.core.CreateClient) }

// Clients is GET /clients: every service client, never a secret. Put Middleware and an
// administrator's role requirement in front.
func (h *Handlers) Clients(c *gin.Context) { h.serve(c, h.core.Clients) }

// DeleteClient is DELETE /clients/{id}: 204, and every token issued to the client stops
// working on every instance. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) DeleteClient(c *gin.Context) { h.serve(c, h.core.DeleteClient) }

// CreateKey is POST /keys, behind Middleware: {"name","permissions","expires_in"} for a
// new API key of the caller (a user, not a key or a client), shown once.
func (h *Handlers) CreateKey(c *gin.Context) { h.serve(c, h.core.CreateKey) }

// Keys is GET /keys, behind Middleware: the caller's own API keys, never a key itself.
func (h *Handlers) Keys(c *gin.Context) { h.serve(c, h.core.Keys) }

// DeleteKey is DELETE /keys/{id}, behind Middleware: 204, and the key stops working on
// every instance; 404 for another user's key.
func (h *Handlers) DeleteKey(c *gin.Context) { h.serve(c, h.core.DeleteKey) }

// serve reads the request for fn and writes its answer. The body is c.Request.Body as
// sent: gin's binding helpers are not used, and a body with a Content-Encoding is refused
// before a byte of it is read, since inflating it could exhaust memory long before the
// limit could see it.
func (h *Handlers) serve(c *gin.Context, fn func(endpoint.Input) endpoint.Output) {
	q := request{c}
	if err := endpoint.CheckContentEncoding(q.Header("Content-Encoding")); err != nil {
		// RFC 9110 §15.5.16: the 415 names the codings that would have been accepted.
		c.Header("Accept-Encoding", "identity")
		h.fail(c, err)
		return
	}
	body, err := endpoint.ReadBody(c.Request.Body, h.core.Limit())
	if err != nil {
		h.fail(c, err)
		return
	}
	p, _ := PrincipalFrom(c)
	out := fn(endpoint.Input{Ctx: c.Request.Context(), Request: q, Body: body, Principal: p, ID: c.Param("id")})
	if out.Err != nil {
		h.fail(c, out.Err)
		return
	}
	// http.SetCookie, not c.SetCookie or c.SetCookieData: those escape the value or fill
	// in the engine's SameSite, and the cookie must carry exactly what the Guard set.
	for _, ck := range out.Cookies {
		http.SetCookie(c.Writer, ck)
	}
	for k, vs := range out.Header {
		c.Writer.Header()[k] = vs
	}
	if out.CacheControl != "" {
		c.Header("Cache-Control", out.CacheControl)
	}
	if len(out.Body) > 0 {
		c.Data(out.Status, "application/json", out.Body)
		return
	}
	c.Status(out.Status)
	c.Writer.WriteHeaderNow()
}

func (h *Handlers) fail(c *gin.Context, err error) {
	h.cfg.errorHandler(c, err)
	c.Abort()
}
