package authhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/adaptertest"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
)

func newGuard(t testing.TB) *authframe.Guard { return adaptertest.Guard(t) }

// login registers name with roles and logs it in.
func login(t testing.TB, g *authframe.Guard, name string, roles ...string) authframe.User {
	t.Helper()
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, name, "password123", roles...); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, authframe.ClientInfo{IP: "192.0.2.1"}, name, "password123")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func tokenFor(t testing.TB, g *authframe.Guard, name string, roles ...string) string {
	t.Helper()
	pair, err := g.IssueTokens(context.Background(), login(t, g, name, roles...), authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return pair.AccessToken
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func whoami(w http.ResponseWriter, r *http.Request) {
	m := map[string]any{"user_id": ""}
	if p, ok := authhttp.PrincipalFrom(r); ok {
		m["user_id"], m["auth_method"] = p.UserID, p.Method
	}
	writeJSON(w, m)
}

func okJSON(w http.ResponseWriter, _ *http.Request) { writeJSON(w, map[string]bool{"ok": true}) }

// TestConformance runs the adapters' shared suite against the standard mux.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, g *authframe.Guard) http.Handler {
		auth := authhttp.Middleware(g)
		mux := http.NewServeMux()
		mux.Handle("GET /protected", auth(http.HandlerFunc(whoami)))
		mux.Handle("POST /protected", auth(http.HandlerFunc(whoami)))
		mux.Handle("GET /optional", authhttp.Optional(g)(http.HandlerFunc(whoami)))
		mux.Handle("GET /admin", auth(authhttp.Require("admin")(http.HandlerFunc(okJSON))))
		mux.Handle("GET /any", auth(authhttp.RequireAny("admin", "read:reports")(http.HandlerFunc(okJSON))))
		skip := authhttp.WithSkipper(func(r *http.Request) bool { return r.URL.Path == "/skipped" })
		mux.Handle("GET /skipped", authhttp.Middleware(g, skip)(http.HandlerFunc(whoami)))
		mux.HandleFunc("GET /request-id", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]string{"request_id": authhttp.RequestIDFrom(r)})
		})
		mux.HandleFunc("GET /client", func(w http.ResponseWriter, r *http.Request) {
			c := authhttp.ClientInfo(r, g)
			writeJSON(w, map[string]string{"ip": c.IP, "user_agent": c.UserAgent})
		})
		authhttp.Mount(mux, "/auth", g, authhttp.WithRegistration())
		return authhttp.RequestID(mux)
	})
}

func do(h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b endpoint.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("%d %q is not the contract's error shape", rec.Code, rec.Body)
	}
	return string(b.Error.Code)
}

// TestMountOptions covers what the suite's one configuration cannot: the prefix forms,
// registration left off, a smaller body limit and an error handler of the app's own.
func TestMountOptions(t *testing.T) {
	g := newGuard(t)
	login(t, g, "mount-user")
	creds := `{"username":"mount-user","password":"password123"}`
	for _, prefix := range []string{"/auth", "auth", "/auth/"} {
		t.Run("the prefix "+prefix+" serves /auth/token", func(t *testing.T) {
			mux := http.NewServeMux()
			authhttp.Mount(mux, prefix, g)
			if rec := do(mux, "POST", "/auth/token", creds); rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("an empty prefix mounts at the root", func(t *testing.T) {
		mux := http.NewServeMux()
		authhttp.Mount(mux, "", g)
		if rec := do(mux, "GET", "/jwks.json", ""); rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=300" || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	})
	t.Run("without WithRegistration there is no register route", func(t *testing.T) {
		mux := http.NewServeMux()
		authhttp.Mount(mux, "/auth", g)
		if rec := do(mux, "POST", "/auth/register", `{"username":"nobody-new","password":"password123"}`); rec.Code != 404 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		// Routing the handler by hand is opting in, as in every adapter.
		h := authhttp.NewHandlers(g)
		if rec := do(http.HandlerFunc(h.Register), "POST", "/register", `{"username":"nobody-new","password":"password123"}`); rec.Code != 201 {
			t.Fatalf("Register wired by hand: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("WithRegistration gives its roles", func(t *testing.T) {
		mux := http.NewServeMux()
		authhttp.Mount(mux, "/auth", g, authhttp.WithRegistration("reader"))
		if rec := do(mux, "POST", "/auth/register", `{"username":"new-reader","password":"password123"}`); rec.Code != 201 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		rec := do(mux, "POST", "/auth/token", `{"username":"new-reader","password":"password123"}`)
		var pair authframe.TokenPair
		json.Unmarshal(rec.Body.Bytes(), &pair)
		p, err := g.VerifyToken(context.Background(), pair.AccessToken)
		if err != nil || !p.HasRole("reader") {
			t.Fatalf("roles of a registered user: %v %v", p, err)
		}
	})
	t.Run("WithBodyLimit lowers the limit", func(t *testing.T) {
		mux := http.NewServeMux()
		authhttp.Mount(mux, "/auth", g, authhttp.WithBodyLimit(16))
		if rec := do(mux, "POST", "/auth/token", creds); rec.Code != 413 || errorCode(t, rec) != "payload_too_large" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("WithErrorHandler answers the handlers' and the middleware's errors", func(t *testing.T) {
		var seen []error
		mine := authhttp.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			seen = append(seen, err)
			w.WriteHeader(http.StatusTeapot)
		})
		mux := http.NewServeMux()
		authhttp.Mount(mux, "/auth", g, mine)
		if rec := do(mux, "POST", "/auth/token", `{"username":"mount-user","password":"wrong-password"}`); rec.Code != http.StatusTeapot {
			t.Fatalf("a handler's error: %d", rec.Code)
		}
		if rec := do(mux, "POST", "/auth/token", creds, "Content-Encoding", "gzip"); rec.Code != http.StatusTeapot || rec.Header().Get("Accept-Encoding") != "identity" {
			t.Fatalf("an encoded body: %d %v", rec.Code, rec.Header())
		}
		if rec := do(mux, "GET", "/auth/sessions", ""); rec.Code != http.StatusTeapot {
			t.Fatalf("the middleware's error: %d", rec.Code)
		}
		want := []authframe.Code{authframe.ErrInvalidCredentials, authframe.ErrInvalidRequest, authframe.ErrUnauthenticated}
		if len(seen) != len(want) {
			t.Fatalf("errors seen: %v", seen)
		}
		for i, code := range want {
			if !errors.Is(seen[i], code) {
				t.Errorf("error %d = %v, want %s", i, seen[i], code)
			}
		}
	})
	t.Run("every Content-Encoding line counts", func(t *testing.T) {
		mux := http.NewServeMux()
		authhttp.Mount(mux, "/auth", g)
		rec := do(mux, "POST", "/auth/token", creds, "Content-Encoding", "identity", "Content-Encoding", "gzip")
		if rec.Code != 415 || rec.Header().Get("Accept-Encoding") != "identity" {
			t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	})
}

// TestChi checks the middleware and the handlers on chi, whose routers take the same
// func(http.Handler) http.Handler and set r.PathValue for DeleteSession.
func TestChi(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "chi-user")
	admin := tokenFor(t, g, "chi-admin", "admin")
	h := authhttp.NewHandlers(g)
	r := chi.NewRouter()
	r.Use(authhttp.RequestID)
	r.Post("/auth/token", h.Token)
	r.With(authhttp.Optional(g)).Get("/optional", whoami)
	r.Group(func(r chi.Router) {
		r.Use(authhttp.Middleware(g))
		r.Get("/me", whoami)
		r.With(authhttp.Require("admin")).Get("/admin", okJSON)
		r.Get("/auth/sessions", h.Sessions)
		r.Delete("/auth/sessions/{id}", h.DeleteSession)
	})

	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"a token reaches the handler", "/me", user, 200},
		{"no token is a 401", "/me", "", 401},
		{"a role requirement refuses a plain user", "/admin", user, 403},
		{"a role requirement admits an admin", "/admin", admin, 200},
		{"optional passes anonymous requests", "/optional", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.token != "" {
				hdr = []string{"Authorization", "Bearer " + tc.token}
			}
			if rec := do(r, "GET", tc.path, "", hdr...); rec.Code != tc.status {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("a session is deleted by the id in its path", func(t *testing.T) {
		bearer := []string{"Authorization", "Bearer " + user}
		var list struct {
			Sessions []struct {
				ID string `json:"id"`
			} `json:"sessions"`
		}
		rec := do(r, "GET", "/auth/sessions", "", bearer...)
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Sessions) != 1 {
			t.Fatalf("sessions: %d %s", rec.Code, rec.Body)
		}
		if rec := do(r, "DELETE", "/auth/sessions/"+list.Sessions[0].ID, "", bearer...); rec.Code != 204 {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		if rec := do(r, "GET", "/me", "", bearer...); rec.Code != 401 {
			t.Fatalf("the deleted session's token still works: %d", rec.Code)
		}
	})
}

// TestOptionalLetsStaleSessionCookiesThrough: a browser keeps sending a session cookie
// after the session ended, and a public page must not answer it with a 401.
func TestOptionalLetsStaleSessionCookiesThrough(t *testing.T) {
	g := newGuard(t)
	ctx := context.Background()
	grant, err := g.StartSession(ctx, login(t, g, "stale-user"), authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	h := authhttp.Optional(g)(http.HandlerFunc(whoami))
	cookie := grant.Cookie.Name + "=" + grant.Cookie.Value
	if rec := do(h, "GET", "/", "", "Cookie", cookie); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"auth_method":"session"`) {
		t.Fatalf("a live session: %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(grant.Cookie)
	live, err := g.Authenticate(ctx, authhttp.Request(req))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Logout(ctx, live); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/", "", "Cookie", cookie); rec.Code != 200 || rec.Body.String() != `{"user_id":""}`+"\n" {
		t.Fatalf("a stale session cookie: %d %s", rec.Code, rec.Body)
	}
}

// TestRequestHeaderLines pins the Header view the Guard reads: a canonical name is found
// without canonicalising, any other spelling is found too, and several field lines are
// joined in order (RFC 9110 §5.3) so that a proxy's appended X-Forwarded-For line is seen.
func TestRequestHeaderLines(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Add("X-Forwarded-For", "203.0.113.9")
	req.Header.Add("X-Forwarded-For", "198.51.100.7")
	req.Header.Set("X-Single", "one")
	q := authhttp.Request(req)
	for _, tc := range []struct{ name, want string }{
		{"X-Forwarded-For", "203.0.113.9, 198.51.100.7"},
		{"x-forwarded-for", "203.0.113.9, 198.51.100.7"},
		{"X-Single", "one"},
		{"X-Absent", ""},
	} {
		if got := q.Header(tc.name); got != tc.want {
			t.Errorf("Header(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestAuthtestTokensPassTheMiddleware: the tokens the test kit mints are the Guard's own
// to the middleware, expiry and roles included.
func TestAuthtestTokensPassTheMiddleware(t *testing.T) {
	iss := authtest.New(t, authframe.WithRolePermissions("admin", "*:*"))
	h := authhttp.Middleware(iss.Guard())(authhttp.Require("delete:users")(http.HandlerFunc(whoami)))
	for _, tc := range []struct {
		authz  string
		status int
	}{
		{iss.Header(authtest.Subject("u-ada"), authtest.Roles("admin")), 200},
		{iss.Header(authtest.Subject("u-bob")), 403},
		{iss.Header(authtest.Subject("u-ada"), authtest.Roles("admin"), authtest.Expired()), 401},
	} {
		req := httptest.NewRequest("GET", "/admin", nil)
		req.Header.Set("Authorization", tc.authz)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || tc.status == 200 && !strings.Contains(rec.Body.String(), `"user_id":"u-ada"`) {
			t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.status)
		}
	}
}
