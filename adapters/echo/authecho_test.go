package authecho_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	authecho "github.com/authframe/authframe/adapters/echo"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
)

func whoami(c echo.Context) error {
	p, ok := authecho.PrincipalFrom(c)
	if !ok {
		return c.String(http.StatusOK, "anonymous")
	}
	return c.String(http.StatusOK, p.Username)
}

// assertContractError checks the contract's error shape: JSON body with the code and the
// request id of the response, no-store.
func assertContractError(t *testing.T, rec *httptest.ResponseRecorder, code authframe.Code) {
	t.Helper()
	var body endpoint.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %s is not JSON: %v", rec.Body, err)
	}
	if body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error body %s, want code %q and a message", rec.Body, code)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", rec.Header().Get("Cache-Control"))
	}
	if id := rec.Header().Get(endpoint.RequestIDHeader); id == "" || body.RequestID != id {
		t.Fatalf("body request_id %q, header %q", body.RequestID, id)
	}
}

// session logs name in with a cookie session and returns the cookie's value and the CSRF
// token.
func session(t *testing.T, g *authframe.Guard, name string) (string, string) {
	t.Helper()
	u, err := g.VerifyPassword(context.Background(), authframe.ClientInfo{}, name, "password123")
	if err != nil {
		t.Fatal(err)
	}
	grant, err := g.StartSession(context.Background(), u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return grant.Cookie.Value, grant.CSRFToken
}

// TestOptionalAndRequire covers what the conformance suite leaves out: a stale session
// cookie, the CSRF check and a store outage under Optional, and Require after Optional
// or alone.
func TestOptionalAndRequire(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "alice")
	admin := tokenFor(t, g, "root", "admin")
	cookie, csrf := session(t, g, "alice")
	e := echo.New()
	e.Use(authecho.RequestID())
	e.GET("/optional", whoami, authecho.Optional(g))
	e.POST("/optional", whoami, authecho.Optional(g))
	e.GET("/optional/admin", whoami, authecho.Optional(g), authecho.Require("admin"))
	e.GET("/unguarded/admin", whoami, authecho.Require("admin"))

	for _, tc := range []struct {
		name, method, path, authz string
		cookie, csrf              string
		status                    int
		body                      string
		code                      authframe.Code
		challenge                 string
	}{
		{name: "optional passes a request without credentials", method: "GET", path: "/optional", status: 200, body: "anonymous"},
		{name: "optional attaches the principal of a token", method: "GET", path: "/optional", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "optional attaches the principal of a session", method: "GET", path: "/optional", cookie: cookie, status: 200, body: "alice"},
		{name: "optional lets a stale session cookie through anonymously", method: "GET", path: "/optional", cookie: "a-session-that-ended-long-ago-aaaaaaaaaaaa", status: 200, body: "anonymous"},
		{name: "optional refuses a bad token with a challenge", method: "GET", path: "/optional", authz: "Bearer nope.nope.nope", status: 401, code: authframe.ErrInvalidToken, challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "optional refuses an empty bearer token", method: "GET", path: "/optional", authz: "Bearer", status: 401, code: authframe.ErrInvalidToken, challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "optional refuses a session POST without its CSRF token", method: "POST", path: "/optional", cookie: cookie, status: 403, code: authframe.ErrCSRF},
		{name: "optional passes a session POST with its CSRF token", method: "POST", path: "/optional", cookie: cookie, csrf: csrf, status: 200, body: "alice"},
		{name: "require behind optional refuses an anonymous request with 401", method: "GET", path: "/optional/admin", status: 401, code: authframe.ErrInvalidToken, challenge: `Bearer realm="authframe"`},
		{name: "require behind optional refuses a plain user with 403", method: "GET", path: "/optional/admin", authz: "Bearer " + user, status: 403, code: authframe.ErrForbidden},
		{name: "require behind optional admits an admin", method: "GET", path: "/optional/admin", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "require without any middleware in front is a 401", method: "GET", path: "/unguarded/admin", authz: "Bearer " + admin, status: 401, code: authframe.ErrInvalidToken, challenge: `Bearer realm="authframe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "__Host-session", Value: tc.cookie})
			}
			if tc.csrf != "" {
				req.Header.Set(endpoint.CSRFHeader, tc.csrf)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, tc.challenge) || (tc.challenge == "") != (got == "") {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.status < 400 {
				if rec.Body.String() != tc.body {
					t.Fatalf("body %q, want %q", rec.Body, tc.body)
				}
				return
			}
			assertContractError(t, rec, tc.code)
		})
	}
}

// TestOptionalAnswersAStoreOutage checks that Optional fails closed, as Middleware does:
// a token whose session cannot be checked is not taken for an anonymous request.
func TestOptionalAnswersAStoreOutage(t *testing.T) {
	iss := authtest.New(t)
	tok := iss.Token()
	iss.Store().Fail(nil, authtest.OpGetSession)
	e := echo.New()
	e.Use(authecho.RequestID())
	e.GET("/optional", whoami, authecho.Optional(iss.Guard()))
	req := httptest.NewRequest("GET", "/optional", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503", rec.Code, rec.Body)
	}
	assertContractError(t, rec, authframe.ErrUnavailable)
}

// TestSkipperSemantics: echo's own middleware.Skipper fits, it sees the route's pattern
// (c.Path()), and a skipped request is not authenticated at all, token or not.
func TestSkipperSemantics(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "gina", "admin")
	var skipPublic middleware.Skipper = func(c echo.Context) bool { return c.Path() == "/public/:id" }
	e := echo.New()
	api := e.Group("", authecho.Middleware(g, authecho.WithSkipper(skipPublic)))
	api.GET("/public/:id", whoami)
	api.GET("/public/:id/admin", whoami, authecho.Require("admin"))
	api.GET("/private", whoami)
	for _, tc := range []struct {
		path, authz string
		status      int
		body        string
	}{
		{"/public/1", "", 200, "anonymous"},
		{"/public/1", "Bearer " + tok, 200, "anonymous"},
		{"/public/1/admin", "Bearer " + tok, 200, "gina"},
		{"/private", "", 401, ""},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.authz != "" {
			req.Header.Set("Authorization", tc.authz)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.status || tc.body != "" && rec.Body.String() != tc.body {
			t.Fatalf("%s (%q): %d %q, want %d %q", tc.path, tc.authz, rec.Code, rec.Body, tc.status, tc.body)
		}
	}
}

func TestWithHTTPErrorReachesTheHTTPErrorHandler(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "carol")
	e := echo.New()
	var seen []error
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		seen = append(seen, err)
		var he *echo.HTTPError
		if !errors.As(err, &he) {
			c.String(599, "not an HTTPError")
			return
		}
		body := he.Message.(endpoint.ErrorBody)
		c.String(he.Code, "custom "+string(body.Error.Code)+" "+body.RequestID)
	}
	e.Use(authecho.RequestID())
	api := e.Group("/api", authecho.Middleware(g, authecho.WithHTTPError(true)))
	api.GET("/me", whoami)
	api.GET("/admin", whoami, authecho.Require("admin"))
	e.GET("/optional/admin", whoami, authecho.Optional(g, authecho.WithHTTPError(true)), authecho.Require("admin"))

	for _, tc := range []struct {
		name, path, authz string
		status            int
		sentinel          error
		challenge         bool
	}{
		{name: "a missing token", path: "/api/me", status: 401, sentinel: authframe.ErrUnauthenticated, challenge: true},
		{name: "a bad token", path: "/api/me", authz: "Bearer x.y.z", status: 401, sentinel: authframe.ErrInvalidToken, challenge: true},
		{name: "a failed requirement behind Middleware", path: "/api/admin", authz: "Bearer " + user, status: 403, sentinel: authframe.ErrForbidden},
		{name: "an anonymous request on a requirement behind Optional", path: "/optional/admin", status: 401, sentinel: authframe.ErrUnauthenticated, challenge: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header.Set(endpoint.RequestIDHeader, "rid-1")
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if len(seen) != 1 {
				t.Fatalf("the handler saw %d errors", len(seen))
			}
			var he *echo.HTTPError
			var ae *authframe.Error
			if !errors.As(seen[0], &he) || !errors.As(seen[0], &ae) || he.Internal != ae {
				t.Fatalf("%T %v: want an *echo.HTTPError whose Internal is the *authframe.Error", seen[0], seen[0])
			}
			if !errors.Is(seen[0], tc.sentinel) || he.Code != tc.status {
				t.Fatalf("got %v (code %d), want %v", seen[0], he.Code, tc.sentinel)
			}
			want := "custom " + string(ae.Code.Wire()) + " rid-1"
			if rec.Code != tc.status || rec.Body.String() != want {
				t.Fatalf("response %d %q, want %d %q", rec.Code, rec.Body, tc.status, want)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (got != "") != tc.challenge {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		})
	}
}

func TestWithHTTPErrorAndEchosDefaultHandlerWriteTheContract(t *testing.T) {
	g := newGuard(t)
	e := echo.New()
	e.Use(authecho.RequestID(), authecho.Middleware(g, authecho.WithHTTPError(true)))
	e.GET("/me", whoami)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer x.y.z")
	e.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("status %d", rec.Code)
	}
	assertContractError(t, rec, authframe.ErrInvalidToken)
	if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="authframe", error="invalid_token"`) {
		t.Fatalf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
	}

	// The same failure written directly carries the same body.
	direct := echo.New()
	direct.Use(authecho.Middleware(g))
	direct.GET("/me", whoami)
	rec2 := httptest.NewRecorder()
	direct.ServeHTTP(rec2, req)
	var a, b endpoint.ErrorBody
	json.Unmarshal(rec.Body.Bytes(), &a)
	json.Unmarshal(rec2.Body.Bytes(), &b)
	if a.Error != b.Error {
		t.Fatalf("through HTTPErrorHandler %+v, written directly %+v", a, b)
	}
}

func TestWithErrorHandler(t *testing.T) {
	g := newGuard(t)
	e := echo.New()
	e.Use(authecho.Middleware(g, authecho.WithErrorHandler(func(c echo.Context, err error) error {
		if errors.Is(err, authframe.ErrUnauthenticated) {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		return authecho.WriteError(c, err)
	})))
	e.GET("/me", whoami)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/me", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("response %d %v", rec.Code, rec.Header())
	}
}

func TestClientInfoFollowsTheGuardsProxyRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []authframe.Option
		wantIP string
	}{
		{name: "without trusted proxies X-Forwarded-For is ignored", wantIP: "192.0.2.10"},
		{name: "behind a trusted proxy X-Forwarded-For is used", opts: []authframe.Option{authframe.WithTrustedProxies("192.0.2.0/24")}, wantIP: "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuard(t, tc.opts...)
			e := echo.New()
			// echo's own IP extractor would believe the header; the Guard must decide.
			e.IPExtractor = echo.ExtractIPFromXFFHeader(echo.TrustIPRange(mustCIDR(t, "0.0.0.0/0")))
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "192.0.2.10:4321"
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("User-Agent", "test-agent/1")
			ci := authecho.ClientInfo(e.NewContext(req, httptest.NewRecorder()), g)
			if ci.IP != tc.wantIP || ci.UserAgent != "test-agent/1" {
				t.Fatalf("ClientInfo %+v, want IP %s", ci, tc.wantIP)
			}
		})
	}
}

// TestConcurrentRequestsKeepTheirOwnPrincipal runs under -race: echo pools its contexts, so
// a principal must never outlive its request or leak into another.
func TestConcurrentRequestsKeepTheirOwnPrincipal(t *testing.T) {
	g := newGuard(t)
	toks := map[string]string{"dave": tokenFor(t, g, "dave"), "erin": tokenFor(t, g, "erin"), "": ""}
	e := echo.New()
	e.GET("/", whoami, authecho.Optional(g))
	var wg sync.WaitGroup
	for name, tok := range toks {
		for range 4 {
			wg.Go(func() {
				for range 50 {
					req := httptest.NewRequest("GET", "/", nil)
					if tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					rec := httptest.NewRecorder()
					e.ServeHTTP(rec, req)
					want := name
					if want == "" {
						want = "anonymous"
					}
					if rec.Body.String() != want {
						t.Errorf("got %q, want %q", rec.Body, want)
						return
					}
				}
			})
		}
	}
	wg.Wait()
}

func TestANilGuardFailsClosed(t *testing.T) {
	e := echo.New()
	e.GET("/strict", whoami, authecho.Middleware(nil))
	e.GET("/optional", whoami, authecho.Optional(nil))
	e.POST("/token", authecho.NewHandlers(nil).Token)
	authecho.Mount(e.Group("/auth"), nil)
	for _, path := range []string{"/strict", "/optional", "/token", "/auth/token", "/auth/jwks.json", "/auth/logout"} {
		method := "GET"
		if path != "/strict" && path != "/optional" && path != "/auth/jwks.json" {
			method = "POST"
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(`{"username":"alice","password":"password123"}`)))
		if rec.Code != 500 {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		var body endpoint.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != authframe.ErrInternal || strings.Contains(rec.Body.String(), "nil") {
			t.Fatalf("%s: body %s must be the contract's internal error, without detail", path, rec.Body)
		}
	}
}

func TestNilErrorsWriteNothing(t *testing.T) {
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest("GET", "/", nil), rec)
	if he := authecho.HTTPError(c, nil); he != nil {
		t.Fatalf("HTTPError(nil) = %v", he)
	}
	if err := authecho.WriteError(c, nil); err != nil || c.Response().Committed || rec.Body.Len() != 0 {
		t.Fatalf("WriteError(nil) wrote %d %q", rec.Code, rec.Body)
	}
}

type customContext struct{ echo.Context }

// TestCustomContexts follows echo's documented pattern of wrapping the context in a
// middleware: the principal is found on either side of the wrapper.
func TestCustomContexts(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "frank")
	wrap := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return next(&customContext{c}) }
	}
	handler := func(c echo.Context) error {
		if _, ok := c.(*customContext); !ok {
			return c.String(500, "not wrapped")
		}
		return whoami(c)
	}
	e := echo.New()
	e.GET("/before", handler, authecho.Middleware(g), wrap)
	e.GET("/after", handler, wrap, authecho.Middleware(g), authecho.Require("admin"))
	e.GET("/after-ok", handler, wrap, authecho.Middleware(g))
	for path, want := range map[string]string{"/before": "frank", "/after-ok": "frank"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.String() != want {
			t.Fatalf("%s: %d %q", path, rec.Code, rec.Body)
		}
	}
	req := httptest.NewRequest("GET", "/after", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 403 {
		t.Fatalf("/after: %d %q", rec.Code, rec.Body)
	}
}

// Code that holds only the request finds the Principal: a service layer handed
// c.Request().Context() and a net/http handler behind echo.WrapHandler. The caller's own
// request is never changed.
func TestPrincipalInRequestContext(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "dave")
	name := func(ctx context.Context) string {
		if p, ok := authframe.PrincipalFromContext(ctx); ok {
			return p.Username
		}
		return "none"
	}
	e := echo.New()
	e.GET("/service", func(c echo.Context) error {
		return c.String(http.StatusOK, name(c.Request().Context()))
	}, authecho.Middleware(g))
	e.GET("/optional", func(c echo.Context) error {
		return c.String(http.StatusOK, name(c.Request().Context()))
	}, authecho.Optional(g))
	e.GET("/wrap", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name(r.Context()))
	})), authecho.Middleware(g))
	for _, path := range []string{"/service", "/optional", "/wrap"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.String() != "dave" {
			t.Fatalf("%s: %d %q, want dave", path, rec.Code, rec.Body)
		}
		if _, ok := authframe.PrincipalFromContext(req.Context()); ok {
			t.Fatalf("%s: the caller's request context was changed", path)
		}
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/optional", nil))
	if rec.Body.String() != "none" {
		t.Fatalf("anonymous: %q", rec.Body)
	}
}

// A Principal put in the request context before echo (by authhttp.Middleware around the
// Echo instance, say) is the one PrincipalFrom and Require see.
func TestPrincipalFromAnOuterNetHTTPMiddleware(t *testing.T) {
	e := echo.New()
	e.GET("/", whoami, authecho.Require("ops"))
	outer := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := &authframe.Principal{UserID: "u1", Username: "erin", Roles: []string{"ops"}}
		e.ServeHTTP(w, authframe.RequestWithPrincipal(req, p))
	})
	rec := httptest.NewRecorder()
	outer.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Body.String() != "erin" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestRequestViewJoinsHeaderLines defends the login rate limit behind a proxy that
// appends its own X-Forwarded-For line (HAProxy's option forwardfor) instead of extending
// the client's: a view that returned only the first line would let the client choose its
// address. The Guard asks for canonical names, and a caller of Request may not.
func TestRequestViewJoinsHeaderLines(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Add("X-Forwarded-For", "203.0.113.9")
	req.Header.Add("X-Forwarded-For", "198.51.100.7")
	q := authecho.Request(echo.New().NewContext(req, httptest.NewRecorder()))
	for _, name := range []string{"X-Forwarded-For", "x-forwarded-for"} {
		if got := q.Header(name); got != "203.0.113.9, 198.51.100.7" {
			t.Fatalf("Header(%q) = %q, want both lines joined in order", name, got)
		}
	}
	req.Header.Set("X-Single", "one")
	if got := q.Header("X-Single"); got != "one" {
		t.Fatalf("Header of a single line = %q", got)
	}
}

// TestAuthtestTokensPassTheMiddleware: the tokens the test kit mints are the Guard's own
// to the middleware, expiry and roles included.
func TestAuthtestTokensPassTheMiddleware(t *testing.T) {
	iss := authtest.New(t, authframe.WithRolePermissions("admin", "*:*"))
	e := echo.New()
	e.GET("/admin", whoami, authecho.Middleware(iss.Guard()), authecho.Require("delete:users"))
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
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.status || tc.status == 200 && rec.Body.String() != "ada" {
			t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.status)
		}
	}
}
