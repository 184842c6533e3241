// Command nethttp serves the authframe HTTP contract (examples/README.md) with the standard
// library's mux and authhttp: the auth routes are the adapter's handlers, the rest is
// plain net/http.
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/totp"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	app.Run("nethttp", func(a *app.App) error { return a.Serve(Handler(a)) })
}

// Handler is the whole contract on the standard mux.
func Handler(a *app.App) http.Handler {
	g := a.Guard
	h := authhttp.NewHandlers(g, authhttp.WithRegistration(app.UserRoles...), authhttp.WithBodyLimit(app.BodyLimit))
	auth := authhttp.Middleware(g)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/register", h.Register)
	mux.HandleFunc("POST /auth/token", h.Token)
	mux.HandleFunc("POST /auth/refresh", h.Refresh)
	mux.Handle("POST /auth/logout", auth(http.HandlerFunc(h.Logout)))
	mux.HandleFunc("POST /session/login", h.SessionLogin)
	mux.Handle("POST /session/logout", auth(http.HandlerFunc(h.SessionLogout)))
	mux.Handle("GET /api/sessions", auth(http.HandlerFunc(h.Sessions)))
	mux.Handle("DELETE /api/sessions/{id}", auth(http.HandlerFunc(h.DeleteSession)))
	mux.HandleFunc("GET /.well-known/jwks.json", h.JWKS)

	admins := func(next http.HandlerFunc) http.Handler { return auth(authhttp.Require("admin")(next)) }
	mux.HandleFunc("POST /oauth/token", h.OAuthToken)
	mux.HandleFunc("POST /oauth/introspect", h.Introspect)
	mux.HandleFunc("POST /oauth/revoke", h.RevokeToken)
	mux.Handle("POST /admin/clients", admins(h.CreateClient))
	mux.Handle("GET /admin/clients", admins(h.Clients))
	mux.Handle("DELETE /admin/clients/{id}", admins(h.DeleteClient))
	mux.Handle("POST /api/keys", auth(http.HandlerFunc(h.CreateKey)))
	mux.Handle("GET /api/keys", auth(http.HandlerFunc(h.Keys)))
	mux.Handle("DELETE /api/keys/{id}", auth(http.HandlerFunc(h.DeleteKey)))
	mux.Handle("GET /api/reports", auth(authhttp.Require("read:reports")(http.HandlerFunc(admin))))
	mux.Handle("POST /api/mfa/totp", auth(http.HandlerFunc(h.EnrollTOTP)))
	mux.Handle("POST /api/mfa/totp/confirm", auth(http.HandlerFunc(h.ConfirmTOTP)))
	mux.Handle("DELETE /api/mfa/totp", auth(http.HandlerFunc(h.DisableTOTP)))
	mux.Handle("GET /api/sensitive", auth(authhttp.RequireMFA(app.StepUpMaxAge)(http.HandlerFunc(admin))))

	mux.Handle("GET /api/me", auth(http.HandlerFunc(me)))
	mux.Handle("POST /api/echo", auth(http.HandlerFunc(echo)))
	mux.Handle("GET /api/admin", auth(authhttp.Require("admin")(http.HandlerFunc(admin))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		rep := g.Health(r.Context())
		status, body := http.StatusOK, map[string]any{"status": "ok", "dependencies": rep.Dependencies}
		if !rep.OK {
			status, body["status"] = http.StatusServiceUnavailable, "unavailable"
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, body)
	})
	mux.Handle("GET /metrics", a.Metrics)
	mux.Handle("GET /openapi.yaml", app.OpenAPIHandler)
	mux.HandleFunc("GET /{$}", page)
	return authhttp.RequestID(withTimeout(contractErrors(mux)))
}

func me(w http.ResponseWriter, r *http.Request) {
	p, _ := authhttp.PrincipalFrom(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"user_id": p.UserID, "username": p.Username, "roles": endpoint.NonNil(p.Roles),
		"permissions": endpoint.NonNil(p.Permissions), "auth_method": p.Method, "mfa": totp.UsedSecondFactor(p),
	})
}

// echo answers a valid JSON body with itself. The body is read raw under the handlers'
// rules: any Content-Encoding is refused unread (a small gzip body can inflate to
// gigabytes), and more than app.BodyLimit bytes is a 413.
func echo(w http.ResponseWriter, r *http.Request) {
	if err := endpoint.CheckContentEncoding(strings.Join(r.Header.Values("Content-Encoding"), ",")); err != nil {
		w.Header().Set("Accept-Encoding", "identity")
		authhttp.WriteError(w, r, err)
		return
	}
	body, err := endpoint.ReadBody(http.MaxBytesReader(w, r.Body, app.BodyLimit), app.BodyLimit)
	if err != nil {
		authhttp.WriteError(w, r, err)
		return
	}
	if !json.Valid(body) {
		authhttp.WriteError(w, r, endpoint.BadRequest("a JSON body is required"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func admin(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
	_, _ = w.Write([]byte(app.Page))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// The values are strings, booleans and slices of them: Marshal cannot fail.
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// withTimeout bounds each request's work, so that a dead store or cache answers 503 in
// time instead of stalling the client.
func withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), app.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// contractErrors answers in the contract's error shape what the mux answers by itself in
// plain text: a path no pattern matches (404) and a known path asked with another method
// (405, with the mux's Allow header).
func contractErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			w = &muxError{ResponseWriter: w, r: r}
		}
		mux.ServeHTTP(w, r)
	})
}

// muxError rewrites the mux's own 404 and 405 and lets anything else (its redirects)
// through.
type muxError struct {
	http.ResponseWriter
	r         *http.Request
	rewritten bool
}

func (m *muxError) WriteHeader(status int) {
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		m.ResponseWriter.WriteHeader(status)
		return
	}
	m.rewritten = true
	authhttp.WriteError(m.ResponseWriter, m.r, app.FrameworkError(status, ""))
}

// Write drops the mux's plain-text body once the error is written.
func (m *muxError) Write(b []byte) (int, error) {
	if m.rewritten {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}
