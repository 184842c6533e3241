package authhttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func newGuard(t testing.TB) *authframe.Guard {
	t.Helper()
	g, err := authframe.New(
		authframe.WithHMACSecret(secret),
		authframe.WithIssuer("https://issuer.test"),
		authframe.WithAudience("api"),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithRolePermissions("admin", "*:*"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func tokenFor(t testing.TB, g *authframe.Guard, name string, roles ...string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := g.Register(ctx, name, "password123", roles...); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, name, "password123", authframe.ClientInfo{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return pair.AccessToken
}

func whoami(w http.ResponseWriter, r *http.Request) {
	p, ok := authhttp.PrincipalFrom(r)
	if !ok {
		io.WriteString(w, "anonymous")
		return
	}
	io.WriteString(w, p.Username)
}

// routers returns the same protected routes on the standard mux and on chi.
func routers(g *authframe.Guard) map[string]http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /me", authhttp.Middleware(g)(http.HandlerFunc(whoami)))
	mux.Handle("POST /me", authhttp.Middleware(g)(http.HandlerFunc(whoami)))
	mux.Handle("GET /admin", authhttp.Middleware(g)(authhttp.Require("admin")(http.HandlerFunc(whoami))))
	mux.Handle("GET /perm", authhttp.Middleware(g)(authhttp.Require("delete:users")(http.HandlerFunc(whoami))))
	mux.Handle("GET /optional", authhttp.Optional(g)(http.HandlerFunc(whoami)))
	mux.Handle("GET /public", authhttp.Middleware(g, authhttp.WithSkipper(func(*http.Request) bool { return true }))(http.HandlerFunc(whoami)))

	r := chi.NewRouter()
	r.Get("/public", authhttp.Middleware(g, authhttp.WithSkipper(func(*http.Request) bool { return true }))(http.HandlerFunc(whoami)).ServeHTTP)
	r.With(authhttp.Optional(g)).Get("/optional", whoami)
	r.Group(func(r chi.Router) {
		r.Use(authhttp.Middleware(g))
		r.Get("/me", whoami)
		r.Post("/me", whoami)
		r.With(authhttp.Require("admin")).Get("/admin", whoami)
		r.With(authhttp.Require("delete:users")).Get("/perm", whoami)
	})
	return map[string]http.Handler{"standard mux": mux, "chi": r}
}

func TestMiddleware(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "alice")
	admin := tokenFor(t, g, "root", "admin")
	ctx := context.Background()
	u, _ := g.VerifyPassword(ctx, "alice", "password123", authframe.ClientInfo{})
	grant, _ := g.StartSession(ctx, u, authframe.ClientInfo{})

	tests := []struct {
		name, method, path, authz string
		cookie, csrf              string
		status                    int
		body, challenge           string
	}{
		{name: "a valid bearer token reaches the handler", method: "GET", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "the lowercase bearer scheme is accepted", method: "GET", path: "/me", authz: "bearer " + user, status: 200, body: "alice"},
		{name: "no credentials is a 401 with a bare challenge", method: "GET", path: "/me", status: 401, challenge: `Bearer realm="authframe"`},
		{name: "a bad token is a 401 with error=invalid_token", method: "GET", path: "/me", authz: "Bearer nope.nope.nope", status: 401, challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "a token in the query string is ignored", method: "GET", path: "/me?access_token=" + user, status: 401},
		{name: "a role requirement refuses a plain user with 403", method: "GET", path: "/admin", authz: "Bearer " + user, status: 403},
		{name: "a role requirement admits an admin", method: "GET", path: "/admin", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a permission requirement is granted by *:*", method: "GET", path: "/perm", authz: "Bearer " + admin, status: 200},
		{name: "a permission requirement refuses a plain user", method: "GET", path: "/perm", authz: "Bearer " + user, status: 403},
		{name: "optional passes anonymous requests", method: "GET", path: "/optional", status: 200, body: "anonymous"},
		{name: "optional attaches a principal when present", method: "GET", path: "/optional", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "optional ignores a bad token", method: "GET", path: "/optional", authz: "Bearer bad", status: 200, body: "anonymous"},
		{name: "a skipped route needs nothing", method: "GET", path: "/public", status: 200, body: "anonymous"},
		{name: "a session cookie authenticates a GET", method: "GET", path: "/me", cookie: grant.Cookie.Value, status: 200, body: "alice"},
		{name: "a session POST without CSRF is a 403", method: "POST", path: "/me", cookie: grant.Cookie.Value, status: 403},
		{name: "a session POST with CSRF passes", method: "POST", path: "/me", cookie: grant.Cookie.Value, csrf: grant.CSRFToken, status: 200, body: "alice"},
		{name: "a bearer POST needs no CSRF", method: "POST", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
	}
	for rname, h := range routers(g) {
		for _, tc := range tests {
			t.Run(rname+"/"+tc.name, func(t *testing.T) {
				req := httptest.NewRequest(tc.method, tc.path, nil)
				if tc.authz != "" {
					req.Header.Set("Authorization", tc.authz)
				}
				if tc.cookie != "" {
					req.AddCookie(&http.Cookie{Name: "__Host-session", Value: tc.cookie})
				}
				if tc.csrf != "" {
					req.Header.Set("X-CSRF-Token", tc.csrf)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
				}
				if tc.body != "" && rec.Body.String() != tc.body {
					t.Fatalf("body %q, want %q", rec.Body, tc.body)
				}
				if tc.challenge != "" && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), tc.challenge) {
					t.Fatalf("WWW-Authenticate %q, want prefix %q", rec.Header().Get("WWW-Authenticate"), tc.challenge)
				}
				if rec.Code >= 400 {
					var body endpoint.ErrorBody
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
						t.Fatalf("error body %s is not the contract's shape", rec.Body)
					}
				}
			})
		}
	}
}

func TestLoginAndLogoutHelpers(t *testing.T) {
	g := newGuard(t)
	tokenFor(t, g, "bob")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		grant, err := authhttp.VerifyPassword(r.Context(), g, w, r, "bob", "password123")
		if err != nil {
			authhttp.WriteError(w, r, err)
			return
		}
		io.WriteString(w, grant.CSRFToken)
	})
	mux.Handle("POST /logout", authhttp.Middleware(g)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authhttp.Logout(r.Context(), g, w, r); err != nil {
			authhttp.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/login", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-session", Value: "attacker-chosen-id-aaaaaaaaaaaaaaaaaaaaaaaa"})
	mux.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 || cookies[0].Value == "attacker-chosen-id-aaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Fatalf("login: %d %v", rec.Code, cookies)
	}
	sc := cookies[0]
	if !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		t.Fatalf("cookie attributes %+v", sc)
	}
	csrf := rec.Body.String()

	rec = httptest.NewRecorder()
	req = httptest.NewRequest("POST", "/logout", nil)
	req.AddCookie(sc)
	req.Header.Set("X-CSRF-Token", csrf)
	mux.ServeHTTP(rec, req)
	if rec.Code != 204 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("logout: %d %v", rec.Code, rec.Header())
	}
	cleared := rec.Result().Cookies()
	if len(cleared) != 1 || cleared[0].MaxAge >= 0 || !cleared[0].Secure || cleared[0].Name != "__Host-session" {
		t.Fatalf("clearing cookie %+v", cleared)
	}
	rec = httptest.NewRecorder()
	req = httptest.NewRequest("POST", "/logout", nil)
	req.AddCookie(sc)
	req.Header.Set("X-CSRF-Token", csrf)
	mux.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("the destroyed session still works: %d", rec.Code)
	}
}

func TestRequestIDIsEchoedInErrors(t *testing.T) {
	g := newGuard(t)
	h := authhttp.RequestID(authhttp.Middleware(g)(http.HandlerFunc(whoami)))
	for _, tc := range []struct{ in, want string }{{"abc-123", "abc-123"}, {"bad id with spaces", ""}} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Request-ID", tc.in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if tc.want != "" && got != tc.want || got == "" || got == tc.in && tc.want == "" {
			t.Fatalf("request id %q for incoming %q", got, tc.in)
		}
		var body endpoint.ErrorBody
		json.Unmarshal(rec.Body.Bytes(), &body)
		if body.RequestID != got {
			t.Fatalf("body request_id %q, header %q", body.RequestID, got)
		}
	}
}

// TestForwardedForLinesAppendedByAProxyWin defends the login rate limit behind a proxy
// that appends its own X-Forwarded-For line (HAProxy's option forwardfor) instead of
// extending the client's: reading only the first line would let the client choose its
// address.
func TestForwardedForLinesAppendedByAProxyWin(t *testing.T) {
	g, err := authframe.New(
		authframe.WithHMACSecret(secret),
		authframe.WithIssuer("https://issuer.test"),
		authframe.WithAudience("api"),
		authframe.WithTrustedProxies("192.0.2.0/24"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "192.0.2.10:4321"
	req.Header.Add("X-Forwarded-For", "203.0.113.9")
	req.Header.Add("X-Forwarded-For", "198.51.100.7")
	if ip := authhttp.ClientInfo(g, req).IP; ip != "198.51.100.7" {
		t.Fatalf("ClientInfo IP %q, want the proxy-appended 198.51.100.7", ip)
	}
	q := authhttp.Request(req)
	for _, name := range []string{"X-Forwarded-For", "x-forwarded-for"} {
		if got := q.Header(name); got != "203.0.113.9, 198.51.100.7" {
			t.Fatalf("Header(%q) = %q, want both lines joined in order", name, got)
		}
	}
	req.Header.Set("X-Single", "one")
	if got := q.Header("X-Single"); got != "one" {
		t.Fatalf("Header of a single line = %q", got)
	}
	if got := q.Header("X-Absent"); got != "" {
		t.Fatalf("Header of an absent field = %q", got)
	}
}
