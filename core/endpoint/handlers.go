package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/totp"
)

// BodyLimit is the default largest request body the handlers read (64 KiB); a larger one
// is a 413.
const BodyLimit = 64 << 10

// Input is one request as a handler sees it, gathered by an adapter.
type Input struct {
	Ctx context.Context
	// Request is the adapter's view of the request (origin checks, client address).
	Request authframe.Request
	// Body is the raw request body, read with ReadBody (never decompressed).
	Body []byte
	// Principal is the authenticated caller of the routes behind the middleware.
	Principal *authframe.Principal
	// ID is the {id} path parameter of DELETE /sessions/{id}, /keys/{id} and /clients/{id}.
	ID string
}

// Output is a handler's answer: Err (render it with RenderError), or Status with Body
// (JSON, possibly empty), the cookies to set and the Cache-Control header.
type Output struct {
	Status       int
	Body         []byte
	Cookies      []*http.Cookie
	CacheControl string
	// Header holds further response headers (the /oauth/ routes' challenges and
	// Retry-After), set before the status is written.
	Header http.Header
	Err    error
}

// noStore keeps credentials and personal data out of caches.
const noStore = "no-store"

func fail(err error) Output { return Output{Err: err} }

func jsonOutput(status int, v any) Output {
	b, err := json.Marshal(v)
	if err != nil {
		return fail(&authframe.Error{Code: authframe.ErrInternal, Err: err})
	}
	return Output{Status: status, Body: b, CacheControl: noStore}
}

// Config tunes the handlers. The zero value serves the standard routes without
// registration.
type Config struct {
	// Registration enables POST /register; Roles are given to every user it creates.
	Registration bool
	Roles        []string
	// BodyLimit caps request bodies (default BodyLimit).
	BodyLimit int64
}

// Handlers are the framework-neutral route handlers behind each adapter's Mount.
type Handlers struct {
	guard *authframe.Guard
	cfg   Config
}

// NewHandlers returns the handlers for guard.
func NewHandlers(guard *authframe.Guard, cfg Config) *Handlers {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = BodyLimit
	}
	return &Handlers{guard: guard, cfg: cfg}
}

// Limit is the body limit the handlers enforce.
func (h *Handlers) Limit() int64 { return h.cfg.BodyLimit }

// Route is one standard route: its method, its path relative to the mount point, and
// whether it needs an authenticated caller (the adapters put their middleware in front).
type Route struct {
	Method string
	Path   string
	Auth   bool
}

// Routes are the standard routes relative to the mount point, in one table for every
// adapter. POST /register is served only with Config.Registration. Paths use {id} for a
// parameter; each adapter writes it its framework's way. The OAuth 2.0 routes answer
// service clients (their client-credentials tokens, introspection, revocation) and
// standard OAuth clients refreshing a user's token. The routes of API keys (CreateKey,
// Keys, DeleteKey) and of client administration (CreateClient, Clients, DeleteClient) are
// not mounted: route them where they belong, the latter behind an administrator's role.
var Routes = []Route{
	{http.MethodPost, "/token", false},
	{http.MethodPost, "/refresh", false},
	{http.MethodPost, "/logout", true},
	{http.MethodPost, "/register", false},
	{http.MethodPost, "/session/login", false},
	{http.MethodPost, "/session/logout", true},
	{http.MethodGet, "/sessions", true},
	{http.MethodDelete, "/sessions/{id}", true},
	{http.MethodGet, "/jwks.json", false},
	{http.MethodPost, "/oauth/token", false},
	{http.MethodPost, "/oauth/introspect", false},
	{http.MethodPost, "/oauth/revoke", false},
}

// Handler returns the handler of a route of Routes, or nil for an unknown one or for
// /register without registration.
func (h *Handlers) Handler(r Route) func(Input) Output {
	switch r.Method + " " + r.Path {
	case "POST /token":
		return h.Token
	case "POST /refresh":
		return h.Refresh
	case "POST /logout":
		return h.Logout
	case "POST /register":
		if !h.cfg.Registration {
			return nil
		}
		return h.Register
	case "POST /session/login":
		return h.SessionLogin
	case "POST /session/logout":
		return h.SessionLogout
	case "GET /sessions":
		return h.Sessions
	case "DELETE /sessions/{id}":
		return h.DeleteSession
	case "GET /jwks.json":
		return h.JWKS
	case "POST /oauth/token":
		return h.OAuthToken
	case "POST /oauth/introspect":
		return h.Introspect
	case "POST /oauth/revoke":
		return h.RevokeToken
	}
	return nil
}

// ErrEncodedBody answers a request body with a Content-Encoding: it is never decompressed
// (a few hundred kilobytes of gzip can inflate to gigabytes).
var ErrEncodedBody = &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusUnsupportedMediaType, Message: "request bodies with a Content-Encoding are not accepted"}

// ErrMediaType answers a body that is neither JSON nor an urlencoded form.
var ErrMediaType = &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusUnsupportedMediaType, Message: "send application/json or application/x-www-form-urlencoded"}

// CheckContentEncoding returns ErrEncodedBody unless every coding listed in header (all
// the request's Content-Encoding lines joined with commas) is identity. Call it before
// reading the body, so that an encoded body is never read.
func CheckContentEncoding(header string) error {
	for header != "" {
		var coding string
		coding, header, _ = strings.Cut(header, ",")
		if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
			return ErrEncodedBody
		}
	}
	return nil
}

// ReadBody reads at most limit bytes of r; a larger body is ErrPayloadTooLarge.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, authframe.ErrPayloadTooLarge
		}
		return nil, BadRequest("could not read the request body")
	}
	if int64(len(b)) > limit {
		return nil, authframe.ErrPayloadTooLarge
	}
	return b, nil
}

// decode reads the body into fields: JSON when the Content-Type is absent or JSON, an
// urlencoded form when it says so, ErrMediaType otherwise. Only string fields are read.
func decode(in Input, fields map[string]*string) error {
	ct := ""
	if in.Request != nil {
		ct = in.Request.Header("Content-Type")
	}
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case ct == "" || mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if len(in.Body) == 0 {
			return BadRequest("a JSON body is required")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(in.Body, &m); err != nil {
			return BadRequest("malformed JSON body")
		}
		for k, dst := range fields {
			raw, ok := m[k]
			if !ok {
				continue
			}
			if err := json.Unmarshal(raw, dst); err != nil {
				return BadRequest(k + " must be a string")
			}
		}
	case mt == "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(in.Body))
		if err != nil {
			return BadRequest("malformed form body")
		}
		for k, dst := range fields {
			*dst = v.Get(k)
		}
	default:
		return ErrMediaType
	}
	return nil
}

func (h *Handlers) credentials(in Input) (username, password string, err error) {
	if err := decode(in, map[string]*string{"username": &username, "password": &password}); err != nil {
		return "", "", err
	}
	if username == "" || password == "" {
		return "", "", BadRequest("username and password are required")
	}
	return username, password, nil
}

func (h *Handlers) client(in Input) authframe.ClientInfo {
	if in.Request == nil {
		return authframe.ClientInfo{}
	}
	return h.guard.ClientInfo(in.Request)
}

// login checks the origin and the credentials of a login: the password and, for a user
// with two-factor login on, the otp field (see totp.VerifyLogin). The context it returns
// carries what the login proved, for IssueTokens and StartSession.
func (h *Handlers) login(in Input) (context.Context, authframe.User, authframe.ClientInfo, error) {
	if in.Request != nil {
		if err := h.guard.CheckLoginOrigin(in.Request); err != nil {
			return in.Ctx, authframe.User{}, authframe.ClientInfo{}, err
		}
	}
	username, password, otp, err := h.loginFields(in)
	if err != nil {
		return in.Ctx, authframe.User{}, authframe.ClientInfo{}, err
	}
	client := h.client(in)
	ctx, u, err := totp.VerifyLogin(in.Ctx, h.guard, client, username, password, otp)
	return ctx, u, client, err
}

// Token is POST /token: a password login (with otp for a user with two-factor login on)
// answered with an access and refresh token pair, DPoP-bound when the request carries a
// valid proof (dpop.TokenRequest).
func (h *Handlers) Token(in Input) Output {
	in, err := h.bindProof(in)
	if err != nil {
		return fail(err)
	}
	ctx, u, client, err := h.login(in)
	if err != nil {
		return fail(err)
	}
	pair, err := h.guard.IssueTokens(ctx, u, client)
	if err != nil {
		return fail(err)
	}
	return jsonOutput(http.StatusOK, pair)
}

// Refresh is POST /refresh: the refresh token is spent and a new pair returned. A bound
// family's token needs a proof by its key (dpop.TokenRequest).
func (h *Handlers) Refresh(in Input) Output {
	in, err := h.bindProof(in)
	if err != nil {
		return fail(err)
	}
	var rt string
	if err := decode(in, map[string]*string{"refresh_token": &rt}); err != nil {
		return fail(err)
	}
	if rt == "" {
		return fail(BadRequest("refresh_token is required"))
	}
	pair, err := h.guard.Refresh(in.Ctx, rt, h.client(in))
	if err != nil {
		return fail(err)
	}
	return jsonOutput(http.StatusOK, pair)
}

// Logout is POST /logout: the caller's session, refresh family and access tokens are
// revoked (for a token of a remote issuer, that token), and a session cookie is cleared.
func (h *Handlers) Logout(in Input) Output {
	if in.Principal == nil {
		return fail(authframe.ErrUnauthenticated)
	}
	if err := h.guard.Logout(in.Ctx, in.Principal); err != nil {
		return fail(err)
	}
	out := Output{Status: http.StatusNoContent, CacheControl: noStore}
	if in.Principal.Method == authframe.MethodSession {
		out.Cookies = []*http.Cookie{h.guard.ClearSessionCookie()}
	}
	return out
}

// Register is POST /register (only with Config.Registration): 201 {"user_id"}.
func (h *Handlers) Register(in Input) Output {
	username, password, err := h.credentials(in)
	if err != nil {
		return fail(err)
	}
	u, err := h.guard.Register(in.Ctx, h.client(in), username, password, h.cfg.Roles...)
	if err != nil {
		return fail(err)
	}
	return jsonOutput(http.StatusCreated, map[string]string{"user_id": u.ID})
}

// SessionLogin is POST /session/login: a password login (with otp for a user with
// two-factor login on) answered with a session cookie and {"csrf_token"}.
func (h *Handlers) SessionLogin(in Input) Output {
	ctx, u, client, err := h.login(in)
	if err != nil {
		return fail(err)
	}
	grant, err := h.guard.StartSession(ctx, u, client)
	if err != nil {
		return fail(err)
	}
	out := jsonOutput(http.StatusOK, map[string]string{"csrf_token": grant.CSRFToken})
	out.Cookies = []*http.Cookie{grant.Cookie}
	return out
}

// SessionLogout is POST /session/logout: the session is destroyed and its cookie cleared.
func (h *Handlers) SessionLogout(in Input) Output {
	if in.Principal == nil || in.Principal.Method != authframe.MethodSession {
		return fail(authframe.ErrSessionInvalid)
	}
	return h.Logout(in)
}

type sessionView struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastSeenAt string `json:"last_seen_at"`
	UserAgent  string `json:"user_agent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

// Sessions is GET /sessions: the caller's live sessions, with the current one marked.
func (h *Handlers) Sessions(in Input) Output {
	ss, err := h.guard.ListSessions(in.Ctx, in.Principal)
	if err != nil {
		return fail(err)
	}
	out := make([]sessionView, 0, len(ss))
	for _, s := range ss {
		out = append(out, sessionView{
			ID: s.ID, CreatedAt: s.CreatedAt.UTC().Format(time.RFC3339), LastSeenAt: s.LastSeenAt.UTC().Format(time.RFC3339),
			UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == in.Principal.SessionID,
		})
	}
	return jsonOutput(http.StatusOK, map[string]any{"sessions": out})
}

// DeleteSession is DELETE /sessions/{id}: 204, or 404 for an id that is not the caller's.
func (h *Handlers) DeleteSession(in Input) Output {
	if err := h.guard.RevokeSession(in.Ctx, in.Principal, in.ID); err != nil {
		return fail(err)
	}
	return Output{Status: http.StatusNoContent, CacheControl: noStore}
}

// JWKS is GET /jwks.json: the public verification keys (cacheable for five minutes).
func (h *Handlers) JWKS(Input) Output {
	return Output{Status: http.StatusOK, Body: h.guard.JWKS(), CacheControl: "public, max-age=300"}
}

// NonNil returns s, or an empty slice for nil, so that JSON says [] rather than null.
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
