// Command nethttp serves the authframe HTTP contract (examples/README.md) with net/http and
// authhttp.
package main

import (
	"context"
	"net/http"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	app.Run("nethttp", func(a *app.App) error { return a.Serve(Handler(a)) })
}

// Handler is the whole contract on the standard mux.
func Handler(a *app.App) http.Handler {
	g := a.Guard
	auth := authhttp.Middleware(g)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { write(w, r, a.Health(r.Context())) })
	mux.Handle("GET /metrics", a.Metrics)
	mux.Handle("GET /.well-known/jwks.json", app.JWKS(g))
	mux.Handle("POST /auth/register", bind(a, a.Register))
	mux.Handle("POST /auth/token", bind(a, a.Token))
	mux.Handle("POST /auth/refresh", bind(a, a.Refresh))
	mux.Handle("POST /auth/logout", auth(bind(a, a.Logout)))
	mux.Handle("POST /session/login", bind(a, a.SessionLogin))
	mux.Handle("POST /session/logout", auth(bind(a, a.SessionLogout)))
	mux.Handle("GET /api/me", auth(bind(a, a.Me)))
	mux.Handle("POST /api/echo", auth(bind(a, a.Echo)))
	mux.Handle("GET /api/admin", auth(authhttp.Require("admin")(bind(a, a.Admin))))
	mux.Handle("GET /api/sessions", auth(bind(a, a.Sessions)))
	mux.Handle("DELETE /api/sessions/{id}", auth(bind(a, a.DeleteSession)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
		_, _ = w.Write([]byte(app.Page))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { authhttp.WriteError(w, r, app.NotFound) })
	return authhttp.RequestID(withTimeout(mux))
}

func withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), app.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bind binds a framework-neutral endpoint to net/http.
func bind(a *app.App, fn func(app.Call) app.Result) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := app.CheckContentEncoding(authhttp.Request(r).Header("Content-Encoding")); err != nil {
			w.Header().Set("Accept-Encoding", app.AcceptEncoding)
			authhttp.WriteError(w, r, err)
			return
		}
		body, err := app.ReadBody(http.MaxBytesReader(w, r.Body, app.BodyLimit+1))
		if err != nil {
			authhttp.WriteError(w, r, err)
			return
		}
		p, _ := authhttp.PrincipalFrom(r)
		write(w, r, fn(app.Call{
			Ctx: r.Context(), Body: body, ContentType: r.Header.Get("Content-Type"),
			Client: authhttp.ClientInfo(a.Guard, r), Principal: p, Param: r.PathValue("id"),
		}))
	})
}

func write(w http.ResponseWriter, r *http.Request, res app.Result) {
	if res.Err != nil {
		authhttp.WriteError(w, r, res.Err)
		return
	}
	for _, c := range res.Cookies {
		http.SetCookie(w, c)
	}
	if res.NoStore {
		w.Header().Set("Cache-Control", "no-store")
	}
	body := res.Encode()
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(res.Status)
	_, _ = w.Write(body)
}
