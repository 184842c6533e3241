package authgin_test

import (
	"context"
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
	"github.com/authframe/authframe/core/adaptertest"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// TestConformance runs the suite every adapter passes, so that gin answers exactly as the
// other frameworks do.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, g *authframe.Guard) http.Handler {
		r := gin.New()
		r.Use(authgin.RequestID())
		whoami := func(c *gin.Context) {
			p, _ := authgin.PrincipalFrom(c)
			c.JSON(http.StatusOK, gin.H{"user_id": p.UserID, "auth_method": p.Method})
		}
		userID := func(c *gin.Context) {
			id := ""
			if p, ok := authgin.PrincipalFrom(c); ok {
				id = p.UserID
			}
			c.JSON(http.StatusOK, gin.H{"user_id": id})
		}
		ok := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }
		protected := r.Group("/", authgin.Middleware(g))
		protected.GET("/protected", whoami)
		protected.POST("/protected", whoami)
		protected.GET("/admin", authgin.Require("admin"), ok)
		protected.GET("/any", authgin.RequireAny("admin", "read:reports"), ok)
		r.GET("/optional", authgin.Optional(g), userID)
		r.GET("/skipped", authgin.Middleware(g, authgin.WithSkipper(func(c *gin.Context) bool {
			return c.Request.URL.Path == "/skipped"
		})), userID)
		r.GET("/request-id", func(c *gin.Context) {
			c.JSON(http.StatusOK, gin.H{"request_id": authgin.RequestIDFrom(c)})
		})
		r.GET("/client", func(c *gin.Context) {
			ci := authgin.ClientInfo(c, g)
			c.JSON(http.StatusOK, gin.H{"ip": ci.IP, "user_agent": ci.UserAgent})
		})
		authgin.Mount(r.Group("/auth"), g, authgin.WithRegistration())
		return r
	})
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
	if _, err := g.Register(ctx, authframe.ClientInfo{}, name, "password123", roles...); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, authframe.ClientInfo{IP: "192.0.2.1"}, name, "password123")
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

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkErrorResponse checks that the body is endpoint.RenderError's bytes for want, so gin
// answers exactly as every other adapter, with the contract's headers.
func checkErrorResponse(t *testing.T, rec *httptest.ResponseRecorder, want error) {
	t.Helper()
	h := rec.Header()
	if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("error headers %v", h)
	}
	if exp := endpoint.RenderError(want, "").Body; rec.Body.String() != string(exp) {
		t.Fatalf("body %s, want %s", rec.Body, exp)
	}
}

// The cases below are gin's own: what the conformance suite cannot see from outside.
func TestMiddlewareSemantics(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "alice")
	admin := tokenFor(t, g, "root", "admin")
	r := gin.New()
	r.GET("/optional", authgin.Optional(g), whoami)
	r.GET("/public", authgin.Middleware(g, authgin.WithSkipper(func(*gin.Context) bool { return true })), whoami)
	r.GET("/me", authgin.Middleware(g), whoami)
	r.GET("/require-alone", authgin.Require("admin"), whoami)

	for _, tc := range []struct {
		name, path, authz, cookie string
		status                    int
		body                      string
		want                      error
		challenge                 string
	}{
		{name: "a skipped route does not authenticate even a good token", path: "/public", authz: "Bearer " + user, status: 200, body: "anonymous"},
		{name: "optional refuses a bad token", path: "/optional", authz: "Bearer bad", status: 401, challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "optional ignores a stale session cookie", path: "/optional", cookie: strings.Repeat("a", 43), status: 200, body: "anonymous"},
		{name: "require without a principal in front is a 401", path: "/require-alone", authz: "Bearer " + admin, status: 401, want: authframe.ErrUnauthenticated, challenge: `Bearer realm="authframe"`},
		{name: "an unknown session cookie is a 401 without a challenge", path: "/me", cookie: strings.Repeat("a", 43), status: 401, want: authframe.ErrSessionInvalid},
		{name: "an empty bearer token is a bad token, not a missing one", path: "/me", authz: "Bearer", status: 401, challenge: `Bearer realm="authframe", error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "__Host-session", Value: tc.cookie})
			}
			rec := serve(r, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.body != "" && rec.Body.String() != tc.body {
				t.Fatalf("body %q, want %q", rec.Body, tc.body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, tc.challenge) || tc.challenge == "" && got != "" {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.want != nil {
				checkErrorResponse(t, rec, tc.want)
			}
		})
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
		c.JSON(http.StatusTeapot, gin.H{"nope": endpoint.AsError(err).Code.Wire()})
	}
	r := gin.New()
	r.GET("/default", authgin.Middleware(g), mark("after"), whoami)
	r.GET("/custom", authgin.Middleware(g, authgin.WithErrorHandler(lazy)), mark("after"), whoami)
	r.GET("/nil-handler", authgin.Middleware(g, authgin.WithErrorHandler(nil), nil), mark("after"), whoami)
	for _, path := range []string{"/default", "/custom", "/nil-handler"} {
		reached = nil
		rec := serve(r, httptest.NewRequest("GET", path, nil))
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
			checkErrorResponse(t, rec, authframe.ErrUnauthenticated)
		}
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

func TestRequestIDReachesTheGuard(t *testing.T) {
	obs := &recordingObserver{}
	g := newGuard(t, authframe.WithObserver(obs))
	r := gin.New()
	r.Use(authgin.RequestID(), authgin.Middleware(g))
	r.GET("/", whoami)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	req.Header.Set("X-Request-ID", "trace-42")
	serve(r, req)
	if got := obs.last(); got != "trace-42" {
		t.Fatalf("the Guard's last event saw request id %q", got)
	}
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
		rec := serve(r, req)
		if rec.Code != http.StatusOK || rec.Body.String() != "dave" {
			t.Fatalf("%s: %d %q, want dave", path, rec.Code, rec.Body)
		}
	}
	// Anonymous through Optional: nothing is attached, and PrincipalFrom says so.
	if rec := serve(r, httptest.NewRequest("GET", "/optional", nil)); rec.Body.String() != "none" {
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
	if rec := serve(r, req); rec.Body.String() != "dave" {
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
		r.ServeHTTP(w, authtest.WithPrincipal(req, &authframe.Principal{UserID: "u1", Username: "erin", Roles: []string{"ops"}}))
	})
	if rec := serve(outer, httptest.NewRequest("GET", "/", nil)); rec.Code != 200 || rec.Body.String() != "erin" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestRequestView(t *testing.T) {
	r := gin.New()
	type view struct{ header, joined, lower, cookie, query, method, path, remote string }
	var got view
	r.PUT("/items/:id", func(c *gin.Context) {
		q := authgin.Request(c)
		got = view{
			q.Header("x-custom"), q.Header("X-Forwarded-For"), q.Header("x-forwarded-for"),
			q.Cookie("c"), q.Query("q"), q.Method(), q.Path(), q.RemoteAddr(),
		}
	})
	req := httptest.NewRequest("PUT", "/items/7?q=a%2Bb", nil)
	req.Header.Set("X-Custom", "v")
	// A proxy that appends its own line (HAProxy's option forwardfor) must not be hidden
	// behind the client's: c.GetHeader returns the first line only.
	req.Header.Add("X-Forwarded-For", "203.0.113.9")
	req.Header.Add("X-Forwarded-For", "198.51.100.7")
	// Cookie values are passed raw, as every other adapter passes them (c.Cookie would
	// URL-unescape this one).
	req.Header.Set("Cookie", "c=a%2Bb+c")
	req.RemoteAddr = "192.0.2.1:1234"
	serve(r, req)
	want := view{"v", "203.0.113.9, 198.51.100.7", "203.0.113.9, 198.51.100.7", "a%2Bb+c", "a+b", "PUT", "/items/7", "192.0.2.1:1234"}
	if got != want {
		t.Fatalf("view %+v, want %+v", got, want)
	}
}

func TestQueryTokenWhenEnabled(t *testing.T) {
	g := newGuard(t, authframe.WithTokens(authframe.TokenConfig{QueryParameter: "access_token"}))
	tok := tokenFor(t, g, "frank")
	r := gin.New()
	r.GET("/ws", authgin.Middleware(g), whoami)
	if rec := serve(r, httptest.NewRequest("GET", "/ws?access_token="+tok, nil)); rec.Code != 200 || rec.Body.String() != "frank" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestAuthtestTokensPassTheMiddleware: the tokens the test kit mints are the Guard's own
// to the middleware, expiry and roles included.
func TestAuthtestTokensPassTheMiddleware(t *testing.T) {
	iss := authtest.New(t, authframe.WithRolePermissions("admin", "*:*"))
	r := gin.New()
	r.GET("/admin", authgin.Middleware(iss.Guard()), authgin.Require("delete:users"), whoami)
	for _, tc := range []struct {
		authz  string
		status int
	}{
		{iss.Header(authtest.Username("ada"), authtest.Roles("admin")), 200},
		{iss.Header(authtest.Username("bob")), 403},
		{iss.Header(authtest.Username("ada"), authtest.Roles("admin"), authtest.Expired()), 401},
	} {
		req := httptest.NewRequest("GET", "/admin", nil)
		req.Header.Set("Authorization", tc.authz)
		if rec := serve(r, req); rec.Code != tc.status || tc.status == 200 && rec.Body.String() != "ada" {
			t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.status)
		}
	}
}
