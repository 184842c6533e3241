package authgin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/endpoint"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

var secret = []byte("0123456789abcdef0123456789abcdef")

func newGuard(t testing.TB, extra ...authframe.Option) *authframe.Guard {
	t.Helper()
	opts := append([]authframe.Option{
		authframe.WithHMACSecret(secret),
		authframe.WithIssuer("https://issuer.test"),
		authframe.WithAudience("api"),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithRolePermissions("admin", "*:*"),
		authframe.WithRolePermissions("auditor", "read:reports"),
	}, extra...)
	g, err := authframe.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// tokenFor registers name and returns an access token from a real login.
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

func whoami(c *gin.Context) {
	p, ok := authgin.PrincipalFrom(c)
	if !ok {
		c.String(http.StatusOK, "anonymous")
		return
	}
	c.String(http.StatusOK, p.Username)
}

func skipAll(*gin.Context) bool { return true }

func newRouter(g *authframe.Guard) *gin.Engine {
	r := gin.New()
	r.GET("/optional", authgin.Optional(g), whoami)
	r.GET("/public", authgin.Middleware(g, authgin.WithSkipper(skipAll)), whoami)
	api := r.Group("/", authgin.Middleware(g))
	api.GET("/me", whoami)
	api.POST("/me", whoami)
	api.GET("/admin", authgin.Require("admin"), whoami)
	api.GET("/perm", authgin.Require("delete:users"), whoami)
	api.GET("/reports", authgin.RequireAny("admin", "read:reports"), whoami)
	r.GET("/require-alone", authgin.Require("admin"), whoami)
	return r
}

func TestMiddleware(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "alice")
	admin := tokenFor(t, g, "root", "admin")
	auditor := tokenFor(t, g, "carol", "auditor")
	ctx := context.Background()
	u, err := g.VerifyPassword(ctx, "alice", "password123", authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	grant, err := g.StartSession(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(g)

	tests := []struct {
		name, method, path, authz string
		cookie, csrf              string
		status                    int
		body                      string
		// want, when set, is the error whose rendering must be the body, byte for byte.
		want      error
		code      authframe.Code
		challenge string
	}{
		{name: "a valid bearer token reaches the handler", method: "GET", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "the lowercase bearer scheme is accepted", method: "GET", path: "/me", authz: "bearer " + user, status: 200, body: "alice"},
		{name: "no credentials is a 401 with a bare challenge", method: "GET", path: "/me", status: 401, want: authframe.ErrUnauthenticated, challenge: `Bearer realm="authframe"`},
		{name: "a bad token is a 401 with error=invalid_token", method: "GET", path: "/me", authz: "Bearer nope.nope.nope", status: 401, code: authframe.ErrInvalidToken, challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "an empty bearer token is a 401 with error=invalid_token", method: "GET", path: "/me", authz: "Bearer", status: 401, code: authframe.ErrInvalidToken, challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "a token in the query string is ignored", method: "GET", path: "/me?access_token=" + user, status: 401, want: authframe.ErrUnauthenticated, challenge: `Bearer realm="authframe"`},
		{name: "a role requirement refuses a plain user with 403", method: "GET", path: "/admin", authz: "Bearer " + user, status: 403, want: authframe.ErrForbidden},
		{name: "a role requirement admits an admin", method: "GET", path: "/admin", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a permission requirement is granted by *:*", method: "GET", path: "/perm", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a permission requirement refuses a plain user", method: "GET", path: "/perm", authz: "Bearer " + user, status: 403, want: authframe.ErrForbidden},
		{name: "require-any admits a holder of one permission", method: "GET", path: "/reports", authz: "Bearer " + auditor, status: 200, body: "carol"},
		{name: "require-any refuses a holder of none", method: "GET", path: "/reports", authz: "Bearer " + user, status: 403, want: authframe.ErrForbidden},
		{name: "require without a principal is a 401", method: "GET", path: "/require-alone", authz: "Bearer " + admin, status: 401, want: authframe.ErrUnauthenticated, challenge: `Bearer realm="authframe"`},
		{name: "optional passes anonymous requests", method: "GET", path: "/optional", status: 200, body: "anonymous"},
		{name: "optional attaches a principal when present", method: "GET", path: "/optional", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "optional ignores a bad token", method: "GET", path: "/optional", authz: "Bearer bad", status: 200, body: "anonymous"},
		{name: "a skipped route needs nothing", method: "GET", path: "/public", status: 200, body: "anonymous"},
		{name: "a skipped route does not authenticate even a good token", method: "GET", path: "/public", authz: "Bearer " + user, status: 200, body: "anonymous"},
		{name: "a session cookie authenticates a GET", method: "GET", path: "/me", cookie: grant.Cookie.Value, status: 200, body: "alice"},
		{name: "a session POST without CSRF is a 403", method: "POST", path: "/me", cookie: grant.Cookie.Value, status: 403, want: authframe.ErrCSRF},
		{name: "a session POST with a wrong CSRF token is a 403", method: "POST", path: "/me", cookie: grant.Cookie.Value, csrf: "wrong", status: 403, want: authframe.ErrCSRF},
		{name: "a session POST with CSRF passes", method: "POST", path: "/me", cookie: grant.Cookie.Value, csrf: grant.CSRFToken, status: 200, body: "alice"},
		{name: "a bearer POST needs no CSRF", method: "POST", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "an unknown session cookie is a 401 without a challenge", method: "GET", path: "/me", cookie: strings.Repeat("a", 43), status: 401, want: authframe.ErrSessionInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
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
			r.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.body != "" && rec.Body.String() != tc.body {
				t.Fatalf("body %q, want %q", rec.Body, tc.body)
			}
			challenge := rec.Header().Get("WWW-Authenticate")
			if tc.challenge == `Bearer realm="authframe"` && challenge != tc.challenge {
				t.Fatalf("WWW-Authenticate %q, want exactly %q", challenge, tc.challenge)
			}
			if !strings.HasPrefix(challenge, tc.challenge) || tc.challenge == "" && challenge != "" {
				t.Fatalf("WWW-Authenticate %q, want prefix %q", challenge, tc.challenge)
			}
			if rec.Code < 400 {
				return
			}
			checkErrorResponse(t, rec, tc.want, tc.code, "")
		})
	}
}

// checkErrorResponse checks the contract's error shape. With want set, the body must be
// endpoint.RenderError's bytes for it, so gin answers exactly as every other adapter.
func checkErrorResponse(t *testing.T, rec *httptest.ResponseRecorder, want error, code authframe.Code, requestID string) {
	t.Helper()
	h := rec.Header()
	if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("error headers %v", h)
	}
	if want != nil {
		if exp := endpoint.RenderError(want, requestID).Body; rec.Body.String() != string(exp) {
			t.Fatalf("body %s, want %s", rec.Body, exp)
		}
		return
	}
	var body endpoint.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error body %s is not the contract's shape with code %q", rec.Body, code)
	}
}

func TestFailureAbortsTheChain(t *testing.T) {
	g := newGuard(t)
	var reached []string
	mark := func(name string) gin.HandlerFunc {
		return func(c *gin.Context) { reached = append(reached, name); c.Next() }
	}
	lazy := func(c *gin.Context, err error) {
		// A custom handler that answers but forgets c.Abort().
		c.JSON(http.StatusTeapot, gin.H{"nope": endpoint.AsError(err).Code})
	}
	r := gin.New()
	r.GET("/default", authgin.Middleware(g), mark("after"), whoami)
	r.GET("/custom", authgin.Middleware(g, authgin.WithErrorHandler(lazy)), mark("after"), whoami)
	r.GET("/nil-handler", authgin.Middleware(g, authgin.WithErrorHandler(nil), nil), mark("after"), whoami)
	for _, path := range []string{"/default", "/custom", "/nil-handler"} {
		reached = nil
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if len(reached) != 0 || strings.Contains(rec.Body.String(), "anonymous") {
			t.Fatalf("%s: the chain went on after a failure: %v %s", path, reached, rec.Body)
		}
		switch path {
		case "/custom":
			if rec.Code != http.StatusTeapot || rec.Body.String() != `{"nope":"invalid_token"}` {
				t.Fatalf("custom handler not used: %d %s", rec.Code, rec.Body)
			}
		default:
			if rec.Code != 401 {
				t.Fatalf("%s: status %d", path, rec.Code)
			}
			checkErrorResponse(t, rec, authframe.ErrUnauthenticated, "", "")
		}
	}
}

func TestLoginAndLogoutHelpers(t *testing.T) {
	g := newGuard(t)
	tokenFor(t, g, "bob")
	r := gin.New()
	r.POST("/login", func(c *gin.Context) {
		grant, err := authgin.VerifyPassword(c, g, c.PostForm("username"), c.PostForm("password"))
		if err != nil {
			authgin.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"csrf_token": grant.CSRFToken})
	})
	auth := r.Group("/", authgin.Middleware(g))
	auth.POST("/logout", func(c *gin.Context) {
		if err := authgin.Logout(c, g); err != nil {
			authgin.WriteError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
	auth.POST("/echo", whoami)

	login := func(user, pass string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/login", strings.NewReader("username="+user+"&password="+pass))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "__Host-session", Value: "attacker-chosen-id-aaaaaaaaaaaaaaaaaaaaaaaa"})
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	post := func(path string, cookie *http.Cookie, csrf string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, nil)
		req.AddCookie(cookie)
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}

	t.Run("a wrong password is a 401 invalid_credentials and sets no cookie", func(t *testing.T) {
		rec := login("bob", "wrong-password")
		if rec.Code != 401 || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("login: %d %v", rec.Code, rec.Result().Cookies())
		}
		checkErrorResponse(t, rec, authframe.ErrInvalidCredentials, "", "")
	})

	rec := login("bob", "password123")
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 || cookies[0].Value == "attacker-chosen-id-aaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Fatalf("login: %d %v", rec.Code, cookies)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("login response is cacheable: %v", rec.Header())
	}
	sc := cookies[0]
	if sc.Name != "__Host-session" || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		t.Fatalf("cookie attributes %+v", sc)
	}
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.CSRF == "" {
		t.Fatalf("login body %s", rec.Body)
	}

	t.Run("the session cookie needs the CSRF token on a POST", func(t *testing.T) {
		rec := post("/echo", sc, "")
		if rec.Code != 403 {
			t.Fatalf("status %d", rec.Code)
		}
		checkErrorResponse(t, rec, authframe.ErrCSRF, "", "")
		if rec := post("/echo", sc, body.CSRF); rec.Code != 200 || rec.Body.String() != "bob" {
			t.Fatalf("with CSRF: %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("logout without CSRF is refused and keeps the session", func(t *testing.T) {
		if rec := post("/logout", sc, ""); rec.Code != 403 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec := post("/echo", sc, body.CSRF); rec.Code != 200 {
			t.Fatalf("session gone after a refused logout: %d", rec.Code)
		}
	})

	t.Run("logout destroys the session and clears the cookie", func(t *testing.T) {
		rec := post("/logout", sc, body.CSRF)
		if rec.Code != 204 || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("logout: %d %v", rec.Code, rec.Header())
		}
		cleared := rec.Result().Cookies()
		if len(cleared) != 1 || cleared[0].Name != "__Host-session" || cleared[0].Value != "" || cleared[0].MaxAge >= 0 || !cleared[0].Secure || cleared[0].Path != "/" {
			t.Fatalf("clearing cookie %+v", cleared)
		}
		if rec := post("/logout", sc, body.CSRF); rec.Code != 401 {
			t.Fatalf("the destroyed session still works: %d", rec.Code)
		}
	})
}

func TestLogoutWithoutSession(t *testing.T) {
	g := newGuard(t)
	r := gin.New()
	r.POST("/logout", func(c *gin.Context) {
		err := authgin.Logout(c, g)
		if !errors.Is(err, authframe.ErrUnauthenticated) {
			t.Errorf("Logout without a principal: %v", err)
		}
		c.Status(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("POST", "/logout", nil))
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("the cookie is not cleared: %v", c)
	}
}

func TestRequestIDIsEchoedInErrors(t *testing.T) {
	g := newGuard(t)
	r := gin.New()
	r.Use(authgin.RequestID(), authgin.Middleware(g))
	r.GET("/", whoami)
	for _, tc := range []struct{ name, in, want string }{
		{"a safe incoming id is kept", "abc-123", "abc-123"},
		{"an unsafe incoming id is replaced", "bad id with spaces", ""},
		{"a missing id is made", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tc.in != "" {
				req.Header.Set("X-Request-ID", tc.in)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-ID")
			if got == "" || tc.want != "" && got != tc.want || tc.want == "" && got == tc.in {
				t.Fatalf("request id %q for incoming %q", got, tc.in)
			}
			checkErrorResponse(t, rec, authframe.ErrUnauthenticated, "", got)
		})
	}
}

func TestRequestIDReachesTheGuard(t *testing.T) {
	obs := &recordingObserver{}
	g := newGuard(t, authframe.WithObserver(obs))
	r := gin.New()
	r.Use(authgin.RequestID(), authgin.Middleware(g))
	r.GET("/", whoami)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	req.Header.Set("X-Request-ID", "trace-42")
	r.ServeHTTP(httptest.NewRecorder(), req)
	if got := obs.last(); got != "trace-42" {
		t.Fatalf("the Guard's last event saw request id %q", got)
	}
}

// recordingObserver keeps the request id of every event; the Guard may also report from
// its background goroutines.
type recordingObserver struct {
	mu  sync.Mutex
	ids []string
}

func (o *recordingObserver) Observe(ctx context.Context, _ audit.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ids = append(o.ids, endpoint.RequestIDFromContext(ctx))
}

func (o *recordingObserver) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ids) == 0 {
		return ""
	}
	return o.ids[len(o.ids)-1]
}

// Every reader that holds only the request finds the Principal: a service layer handed
// c.Request.Context(), a goroutine given c.Copy(), a net/http handler behind gin.WrapH, and
// *gin.Context itself as a context.Context on an engine with ContextWithFallback.
func TestPrincipalInRequestContext(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "dave")
	name := func(ctx context.Context) string {
		if p, ok := authframe.PrincipalFromContext(ctx); ok {
			return p.Username
		}
		return "none"
	}
	r := gin.New()
	r.ContextWithFallback = true
	r.GET("/service", authgin.Middleware(g), func(c *gin.Context) {
		c.String(http.StatusOK, name(c.Request.Context()))
	})
	r.GET("/optional", authgin.Optional(g), func(c *gin.Context) {
		c.String(http.StatusOK, name(c.Request.Context()))
	})
	r.GET("/copy", authgin.Middleware(g), func(c *gin.Context) {
		cp := c.Copy()
		done := make(chan string)
		go func() { done <- name(cp.Request.Context()) }()
		c.String(http.StatusOK, <-done)
	})
	r.GET("/wrap", authgin.Middleware(g), gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, name(req.Context()))
	})))
	r.GET("/fallback", authgin.Middleware(g), func(c *gin.Context) {
		c.String(http.StatusOK, name(c))
	})
	for _, path := range []string{"/service", "/optional", "/copy", "/wrap", "/fallback"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.String() != "dave" {
			t.Fatalf("%s: %d %q, want dave", path, rec.Code, rec.Body)
		}
	}
	// Anonymous through Optional: nothing is attached, and PrincipalFrom says so.
	req := httptest.NewRequest("GET", "/optional", nil)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Body.String() != "none" {
		t.Fatalf("anonymous: %q", rec.Body)
	}
}

// The handler's c.Request carries the Principal; the caller's request is never changed.
func TestMiddlewareLeavesTheCallersRequestAlone(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "dave")
	r := gin.New()
	r.GET("/", authgin.Middleware(g), whoami)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Body.String() != "dave" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	if _, ok := authframe.PrincipalFromContext(req.Context()); ok {
		t.Fatal("the caller's request context was changed")
	}
}

func TestPrincipalFromFallsBackToTheRequestContext(t *testing.T) {
	r := gin.New()
	r.GET("/", authgin.Require("ops"), whoami)
	// A net/http middleware outside the engine (authhttp.Middleware, say) put it there.
	outer := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := &authframe.Principal{UserID: "u1", Username: "erin", Roles: []string{"ops"}}
		r.ServeHTTP(w, req.WithContext(authframe.ContextWithPrincipal(req.Context(), p)))
	})
	rec := httptest.NewRecorder()
	outer.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Body.String() != "erin" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestClientInfoUsesTheGuardsProxyRules(t *testing.T) {
	plain := newGuard(t)
	proxied := newGuard(t, authframe.WithTrustedProxies("10.0.0.0/8"))
	var got authframe.ClientInfo
	for _, tc := range []struct {
		name   string
		guard  *authframe.Guard
		remote string
		want   string
	}{
		// gin's own c.ClientInfo() trusts every proxy by default and would answer 203.0.113.9.
		{"without trusted proxies X-Forwarded-For is ignored", plain, "10.1.2.3:4567", "10.1.2.3"},
		{"an untrusted peer cannot claim an address", proxied, "192.0.2.7:4567", "192.0.2.7"},
		{"a trusted proxy's X-Forwarded-For is used", proxied, "10.1.2.3:4567", "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gin.New()
			r.GET("/", func(c *gin.Context) { got = authgin.ClientInfo(c, tc.guard) })
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.remote
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("User-Agent", "test-agent/1.0")
			r.ServeHTTP(httptest.NewRecorder(), req)
			if got.IP != tc.want || got.UserAgent != "test-agent/1.0" {
				t.Fatalf("ClientInfo %+v, want IP %s", got, tc.want)
			}
		})
	}
}

func TestRequestView(t *testing.T) {
	r := gin.New()
	var view struct{ header, cookie, query, method, path, remote string }
	r.PUT("/items/:id", func(c *gin.Context) {
		q := authgin.Request(c)
		view.header, view.cookie, view.query = q.Header("x-custom"), q.Cookie("c"), q.Query("q")
		view.method, view.path, view.remote = q.Method(), q.Path(), q.RemoteAddr()
	})
	req := httptest.NewRequest("PUT", "/items/7?q=a%2Bb", nil)
	req.Header.Set("X-Custom", "v")
	// Cookie values are passed raw, as every other adapter passes them (c.Cookie would
	// URL-unescape this one).
	req.Header.Set("Cookie", "c=a%2Bb+c")
	req.RemoteAddr = "192.0.2.1:1234"
	r.ServeHTTP(httptest.NewRecorder(), req)
	want := struct{ header, cookie, query, method, path, remote string }{"v", "a%2Bb+c", "a+b", "PUT", "/items/7", "192.0.2.1:1234"}
	if view != want {
		t.Fatalf("view %+v, want %+v", view, want)
	}
}

func TestQueryTokenWhenEnabled(t *testing.T) {
	g := newGuard(t, authframe.WithTokens(authframe.TokenConfig{QueryParameter: "access_token"}))
	tok := tokenFor(t, g, "frank")
	r := gin.New()
	r.GET("/ws", authgin.Middleware(g), whoami)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/ws?access_token="+tok, nil))
	if rec.Code != 200 || rec.Body.String() != "frank" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestForwardedForLinesAppendedByAProxyWin defends the login rate limit behind a proxy
// that appends its own X-Forwarded-For line (HAProxy's option forwardfor) instead of
// extending the client's: reading only the first line would let the client choose its
// address.
func TestForwardedForLinesAppendedByAProxyWin(t *testing.T) {
	g := newGuard(t, authframe.WithTrustedProxies("10.0.0.0/8"))
	var ip, joined, lower, single string
	r := gin.New()
	r.GET("/", func(c *gin.Context) {
		ip = authgin.ClientInfo(c, g).IP
		q := authgin.Request(c)
		joined, lower, single = q.Header("X-Forwarded-For"), q.Header("x-forwarded-for"), q.Header("X-Single")
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.1.2.3:4567"
	req.Header.Add("X-Forwarded-For", "203.0.113.9")
	req.Header.Add("X-Forwarded-For", "198.51.100.7")
	req.Header.Set("X-Single", "one")
	r.ServeHTTP(httptest.NewRecorder(), req)
	if ip != "198.51.100.7" {
		t.Fatalf("ClientInfo IP %q, want the proxy-appended 198.51.100.7", ip)
	}
	if joined != "203.0.113.9, 198.51.100.7" || lower != joined {
		t.Fatalf("Header = %q / %q, want both lines joined in order", joined, lower)
	}
	if single != "one" {
		t.Fatalf("Header of a single line = %q", single)
	}
}
