package authhttp

import (
	"net/http"
	"path"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// Handlers are the standard routes as http.HandlerFunc values: token login, refresh,
// logout, registration, session login and logout, the caller's sessions and the JWKS. The
// routes behind authentication (Logout, SessionLogout, Sessions, DeleteSession) need
// Middleware in front; DeleteSession reads the session id from the {id} wildcard of its
// pattern. Mount wires them all.
type Handlers struct {
	h            *endpoint.Handlers
	errorHandler func(http.ResponseWriter, *http.Request, error)
}

// NewHandlers returns the handlers for guard. WithRegistration, WithBodyLimit and
// WithErrorHandler apply.
func NewHandlers(guard *authframe.Guard, opts ...Option) *Handlers {
	c := newConfig(opts)
	return &Handlers{
		h:            endpoint.NewHandlers(guard, endpoint.Config{Registration: c.registration, Roles: c.roles, BodyLimit: c.bodyLimit}),
		errorHandler: c.errorHandler,
	}
}

// Token is POST /token: username and password (JSON or an urlencoded form) for an access
// and refresh token pair.
func (h *Handlers) Token(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Token) }

// Refresh is POST /refresh: a refresh token, spent, for a new pair.
func (h *Handlers) Refresh(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Refresh) }

// Logout is POST /logout: the caller's session, refresh family and access tokens are
// revoked, and a session cookie is cleared.
func (h *Handlers) Logout(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Logout) }

// Register is POST /register: 201 {"user_id"}, with the roles of WithRegistration. Mount
// serves it only with WithRegistration; routing it by hand opts in too.
func (h *Handlers) Register(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Register) }

// SessionLogin is POST /session/login: username and password for a session cookie and
// {"csrf_token"}. A session id the client presents is never adopted.
func (h *Handlers) SessionLogin(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.SessionLogin)
}

// SessionLogout is POST /session/logout: the session is destroyed server-side and its
// cookie cleared.
func (h *Handlers) SessionLogout(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.SessionLogout)
}

// Sessions is GET /sessions: the caller's live sessions, the current one marked.
func (h *Handlers) Sessions(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Sessions) }

// DeleteSession is DELETE /sessions/{id}: 204, or 404 for an id that is not the caller's.
func (h *Handlers) DeleteSession(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.DeleteSession)
}

// JWKS is GET /jwks.json: the public verification keys, cacheable for five minutes.
func (h *Handlers) JWKS(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.JWKS) }

// OAuthToken is POST /oauth/token (RFC 6749): grant_type=client_credentials for a service
// client authenticated with HTTP Basic or client_id and client_secret, or
// grant_type=refresh_token rotating a user's refresh token. Errors in OAuth's shape.
func (h *Handlers) OAuthToken(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.OAuthToken) }

// Introspect is POST /oauth/introspect (RFC 7662), for authenticated service clients: a
// live access token or API key is {"active":true,...}, anything else {"active":false}.
func (h *Handlers) Introspect(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Introspect) }

// RevokeToken is POST /oauth/revoke (RFC 7009): a refresh token ends its family, an access
// token or API key stops working on every instance; 200 also for an unknown token.
func (h *Handlers) RevokeToken(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.RevokeToken)
}

// CreateClient is POST /clients: {"name","scopes"} for a new service client and its
// secret, shown once. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) CreateClient(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.CreateClient)
}

// Clients is GET /clients: every service client, never a secret. Put Middleware and an
// administrator's role requirement in front.
func (h *Handlers) Clients(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Clients) }

// DeleteClient is DELETE /clients/{id}: 204, and every token issued to the client stops
// working on every instance. Put Middleware and an administrator's role requirement in front.
func (h *Handlers) DeleteClient(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.DeleteClient)
}

// CreateKey is POST /keys, behind Middleware: {"name","permissions","expires_in"} for a
// new API key of the caller (a user, not a key or a client), shown once.
func (h *Handlers) CreateKey(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.CreateKey) }

// Keys is GET /keys, behind Middleware: the caller's own API keys, never a key itself.
func (h *Handlers) Keys(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.Keys) }

// DeleteKey is DELETE /keys/{id}, behind Middleware: 204, and the key stops working on
// every instance; 404 for another user's key.
func (h *Handlers) DeleteKey(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.DeleteKey) }

// serve translates r into the endpoint's Input and its Output back into w.
func (h *Handlers) serve(w http.ResponseWriter, r *http.Request, fn func(endpoint.Input) endpoint.Output) {
	q := request{r}
	// The coding is checked before a byte is read: decompressing would let a small body
	// inflate far past the limit before the limit could see it.
	if err := endpoint.CheckContentEncoding(q.Header("Content-Encoding")); err != nil {
		w.Header().Set("Accept-Encoding", "identity")
		h.errorHandler(w, r, err)
		return
	}
	limit := h.h.Limit()
	// MaxBytesReader also tells the server to close the connection rather than drain the
	// rest of an oversized body.
	body, err := endpoint.ReadBody(http.MaxBytesReader(w, r.Body, limit), limit)
	if err != nil {
		h.errorHandler(w, r, err)
		return
	}
	p, _ := PrincipalFrom(r)
	out := fn(endpoint.Input{Ctx: r.Context(), Request: q, Body: body, Principal: p, ID: r.PathValue("id")})
	if out.Err != nil {
		h.errorHandler(w, r, out.Err)
		return
	}
	for _, c := range out.Cookies {
		http.SetCookie(w, c)
	}
	hdr := w.Header()
	for k, vs := range out.Header {
		hdr[k] = vs
	}
	if out.CacheControl != "" {
		hdr.Set("Cache-Control", out.CacheControl)
	}
	if len(out.Body) > 0 {
		hdr.Set("Content-Type", "application/json")
	}
	w.WriteHeader(out.Status)
	_, _ = w.Write(out.Body)
}

// Mount serves the standard routes on mux under prefix ("/auth" gives POST /auth/token,
// POST /auth/refresh, POST /auth/logout, POST /auth/session/login, POST
// /auth/session/logout, GET /auth/sessions, DELETE /auth/sessions/{id}, GET
// /auth/jwks.json, and POST /auth/register with WithRegistration), with Middleware(guard)
// in front of the routes that need a caller. The options configure both; as for any
// pattern, mux panics when one of them is already registered.
func Mount(mux *http.ServeMux, prefix string, guard *authframe.Guard, opts ...Option) {
	h := NewHandlers(guard, opts...)
	auth := Middleware(guard, opts...)
	// "auth" would otherwise be read as a host name by the mux, and "/auth/" would give
	// "/auth//token".
	prefix = path.Join("/", prefix)
	if prefix == "/" {
		prefix = ""
	}
	for _, rt := range endpoint.Routes {
		fn := h.h.Handler(rt)
		if fn == nil {
			continue
		}
		var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, fn) })
		if rt.Auth {
			handler = auth(handler)
		}
		mux.Handle(rt.Method+" "+prefix+rt.Path, handler)
	}
}
