package app

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
	"github.com/authframe/authframe/core/endpoint"
)

// Call is one request as the endpoints see it, gathered by each framework's glue.
type Call struct {
	Ctx         context.Context
	Body        []byte
	ContentType string
	Client      authframe.ClientInfo
	Principal   *authframe.Principal
	// Param is the {id} path parameter of DELETE /api/sessions/{id}.
	Param string
}

// Result is an endpoint's answer, written by each framework's glue: Err (rendered with
// endpoint.RenderError), or Status with JSON (marshalled) or Raw (already JSON).
type Result struct {
	Status  int
	JSON    any
	Raw     []byte
	Cookies []*http.Cookie
	NoStore bool
	Err     error
}

func fail(err error) Result { return Result{Err: err} }

// ReadBody reads at most BodyLimit bytes; a larger body is a 413.
func ReadBody(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, BodyLimit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, authframe.ErrPayloadTooLarge
		}
		return nil, endpoint.BadRequest("could not read the request body")
	}
	if len(b) > BodyLimit {
		return nil, authframe.ErrPayloadTooLarge
	}
	return b, nil
}

// ErrEncodedBody refuses a request body with a content coding. Decompressing it would let
// a few hundred kilobytes inflate to gigabytes before BodyLimit could be checked, and no
// client of the contract needs to compress a login.
var ErrEncodedBody = &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusUnsupportedMediaType, Message: "a Content-Encoding other than identity is not accepted"}

// AcceptEncoding is the Accept-Encoding header of the 415 that ErrEncodedBody answers:
// RFC 9110 §15.5.16 has it name the codings the server would have taken.
const AcceptEncoding = "identity"

// CheckContentEncoding returns ErrEncodedBody unless every coding listed in header (all the
// request's Content-Encoding lines joined with commas, as the adapters' Header returns
// them) is identity. It runs before the body is read, so an encoded body is never read,
// let alone decompressed.
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

// CheckBodySize is ReadBody for frameworks that buffer the body themselves.
func CheckBodySize(b []byte) error {
	if len(b) > BodyLimit {
		return authframe.ErrPayloadTooLarge
	}
	return nil
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// decodeCredentials reads username and password from JSON, or, when allowForm, from an
// urlencoded form.
func decodeCredentials(c Call, allowForm bool) (credentials, error) {
	var cr credentials
	mt, _, _ := mime.ParseMediaType(c.ContentType)
	if allowForm && mt == "application/x-www-form-urlencoded" {
		v, err := url.ParseQuery(string(c.Body))
		if err != nil {
			return cr, endpoint.BadRequest("malformed form body")
		}
		cr.Username, cr.Password = v.Get("username"), v.Get("password")
	} else if err := decodeJSON(c.Body, &cr); err != nil {
		return cr, err
	}
	if cr.Username == "" || cr.Password == "" {
		return cr, endpoint.BadRequest("username and password are required")
	}
	return cr, nil
}

func decodeJSON(body []byte, v any) error {
	if len(body) == 0 {
		return endpoint.BadRequest("a JSON body is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return endpoint.BadRequest("malformed JSON body")
	}
	return nil
}

// Register is POST /auth/register.
func (a *App) Register(c Call) Result {
	cr, err := decodeCredentials(c, false)
	if err != nil {
		return fail(err)
	}
	u, err := a.Guard.Register(c.Ctx, c.Client, cr.Username, cr.Password, UserRoles...)
	if err != nil {
		return fail(err)
	}
	return Result{Status: http.StatusCreated, JSON: map[string]string{"user_id": u.ID}}
}

// Token is POST /auth/token.
func (a *App) Token(c Call) Result {
	cr, err := decodeCredentials(c, false)
	if err != nil {
		return fail(err)
	}
	u, err := a.Guard.VerifyPassword(c.Ctx, c.Client, cr.Username, cr.Password)
	if err != nil {
		return fail(err)
	}
	pair, err := a.Guard.IssueTokens(c.Ctx, u, c.Client)
	if err != nil {
		return fail(err)
	}
	return Result{Status: http.StatusOK, JSON: pair, NoStore: true}
}

// Refresh is POST /auth/refresh.
func (a *App) Refresh(c Call) Result {
	var body struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decodeJSON(c.Body, &body); err != nil {
		return fail(err)
	}
	if body.RefreshToken == "" {
		return fail(endpoint.BadRequest("refresh_token is required"))
	}
	pair, err := a.Guard.Refresh(c.Ctx, body.RefreshToken, c.Client)
	if err != nil {
		return fail(err)
	}
	return Result{Status: http.StatusOK, JSON: pair, NoStore: true}
}

// Logout is POST /auth/logout: the caller's session, refresh family and access tokens are
// revoked (for an external OIDC token, that token).
func (a *App) Logout(c Call) Result {
	if err := a.Guard.Logout(c.Ctx, c.Principal); err != nil {
		return fail(err)
	}
	return Result{Status: http.StatusNoContent, NoStore: true}
}

// SessionLogin is POST /session/login. The cookie comes back in Result.Cookies.
func (a *App) SessionLogin(c Call) Result {
	cr, err := decodeCredentials(c, true)
	if err != nil {
		return fail(err)
	}
	u, err := a.Guard.VerifyPassword(c.Ctx, c.Client, cr.Username, cr.Password)
	if err != nil {
		return fail(err)
	}
	grant, err := a.Guard.StartSession(c.Ctx, u, c.Client)
	if err != nil {
		return fail(err)
	}
	return Result{Status: http.StatusOK, JSON: map[string]string{"csrf_token": grant.CSRFToken}, Cookies: []*http.Cookie{grant.Cookie}, NoStore: true}
}

// SessionLogout is POST /session/logout: the session is destroyed and its cookie cleared.
func (a *App) SessionLogout(c Call) Result {
	if c.Principal == nil || c.Principal.Method != authframe.MethodSession {
		return fail(authframe.ErrSessionInvalid)
	}
	err := a.Guard.Logout(c.Ctx, c.Principal)
	cookie := a.Guard.ClearSessionCookie()
	if err != nil {
		return fail(err)
	}
	return Result{Status: http.StatusNoContent, Cookies: []*http.Cookie{cookie}, NoStore: true}
}

// Me is GET /api/me.
func (a *App) Me(c Call) Result {
	p := c.Principal
	return Result{Status: http.StatusOK, JSON: map[string]any{
		"user_id": p.UserID, "username": p.Username, "roles": nonNil(p.Roles),
		"permissions": nonNil(p.Permissions), "auth_method": p.Method,
	}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Echo is POST /api/echo: the JSON body back.
func (a *App) Echo(c Call) Result {
	if len(c.Body) == 0 || !json.Valid(c.Body) {
		return fail(endpoint.BadRequest("a JSON body is required"))
	}
	return Result{Status: http.StatusOK, Raw: c.Body}
}

// Admin is GET /api/admin (behind Require("admin")).
func (a *App) Admin(Call) Result {
	return Result{Status: http.StatusOK, JSON: map[string]bool{"ok": true}}
}

type sessionView struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastSeenAt string `json:"last_seen_at"`
	UserAgent  string `json:"user_agent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

// Sessions is GET /api/sessions.
func (a *App) Sessions(c Call) Result {
	ss, err := a.Guard.ListSessions(c.Ctx, c.Principal)
	if err != nil {
		return fail(err)
	}
	out := make([]sessionView, 0, len(ss))
	for _, s := range ss {
		out = append(out, sessionView{
			ID: s.ID, CreatedAt: s.CreatedAt.UTC().Format(time.RFC3339), LastSeenAt: s.LastSeenAt.UTC().Format(time.RFC3339),
			UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == c.Principal.SessionID,
		})
	}
	return Result{Status: http.StatusOK, JSON: map[string]any{"sessions": out}, NoStore: true}
}

// DeleteSession is DELETE /api/sessions/{id}: 404 for an id that is not the caller's.
func (a *App) DeleteSession(c Call) Result {
	if err := a.Guard.RevokeSession(c.Ctx, c.Principal, c.Param); err != nil {
		return fail(err)
	}
	return Result{Status: http.StatusNoContent}
}

// Health is GET /healthz.
func (a *App) Health(ctx context.Context) Result {
	rep := a.Guard.Health(ctx)
	if rep.OK {
		return Result{Status: http.StatusOK, JSON: map[string]any{"status": "ok", "dependencies": rep.Dependencies}, NoStore: true}
	}
	return Result{Status: http.StatusServiceUnavailable, JSON: map[string]any{"status": "unavailable", "dependencies": rep.Dependencies}, NoStore: true}
}

// NotFound answers unknown routes in the contract's error shape.
var NotFound = &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusNotFound, Message: "no such route"}

// MethodNotAllowed answers known paths with the wrong method.
var MethodNotAllowed = &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusMethodNotAllowed, Message: "method not allowed"}

// Encode renders a Result's body and content type (errors excluded).
func (r Result) Encode() []byte {
	if r.Raw != nil {
		return r.Raw
	}
	if r.JSON == nil {
		return nil
	}
	b, _ := json.Marshal(r.JSON)
	return b
}

// IsJSONRequest reports whether a content type is JSON (the only body the JSON endpoints
// take).
func IsJSONRequest(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// JWKS serves the Guard's public keys with caching headers.
func JWKS(g *authframe.Guard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(g.JWKS())
	})
}
