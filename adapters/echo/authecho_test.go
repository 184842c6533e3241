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
	"github.com/authframe/authframe/core/endpoint"
)

func whoami(c echo.Context) error {
	p, ok := authecho.PrincipalFrom(c)
	if !ok {
		return c.String(http.StatusOK, "anonymous")
	}
	return c.String(http.StatusOK, p.Username)
}

// newApp serves the same handler behind every combination the table below exercises.
func newApp(g *authframe.Guard) *echo.Echo {
	e := echo.New()
	e.Use(authecho.RequestID())
	var skipPublic middleware.Skipper = func(c echo.Context) bool { return c.Path() == "/public" }
	api := e.Group("", authecho.Middleware(g, authecho.WithSkipper(skipPublic)))
	api.GET("/me", whoami)
	api.POST("/me", whoami)
	api.GET("/public", whoami)
	api.GET("/admin", whoami, authecho.Require("admin"))
	api.GET("/perm", whoami, authecho.Require("delete:users"))
	api.GET("/any", whoami, authecho.RequireAny("admin", "auditor"))
	e.GET("/optional", whoami, authecho.Optional(g))
	e.GET("/optional/admin", whoami, authecho.Optional(g), authecho.Require("admin"))
	e.GET("/unguarded/admin", whoami, authecho.Require("admin"))
	return e
}

func TestMiddleware(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "alice")
	admin := tokenFor(t, g, "root", "admin")
	auditor := tokenFor(t, g, "audrey", "auditor")
	signed, err := g.SignAccessToken("u-42", "signed", []string{"admin"}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := g.VerifyPassword(ctx, "alice", "password123", authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	grant, err := g.StartSession(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	e := newApp(g)

	tests := []struct {
		name, method, path, authz string
		cookie, csrf              string
		status                    int
		body                      string
		code                      authframe.Code
		challenge                 string // the whole WWW-Authenticate value, or a prefix ending in ", "
	}{
		{name: "a valid bearer token reaches the handler", method: "GET", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "a token from SignAccessToken is accepted", method: "GET", path: "/me", authz: "Bearer " + signed, status: 200, body: "signed"},
		{name: "the lowercase bearer scheme is accepted", method: "GET", path: "/me", authz: "bearer " + user, status: 200, body: "alice"},
		{name: "no credentials is a 401 with a bare challenge", method: "GET", path: "/me", status: 401, code: "invalid_token", challenge: `Bearer realm="authframe"`},
		{name: "a bad token is a 401 with error=invalid_token", method: "GET", path: "/me", authz: "Bearer nope.nope.nope", status: 401, code: "invalid_token", challenge: `Bearer realm="authframe", error="invalid_token", `},
		{name: "an empty bearer token is a 401 with error=invalid_token", method: "GET", path: "/me", authz: "Bearer", status: 401, code: "invalid_token", challenge: `Bearer realm="authframe", error="invalid_token", `},
		{name: "a token in the query string is ignored", method: "GET", path: "/me?access_token=" + user, status: 401, code: "invalid_token", challenge: `Bearer realm="authframe"`},
		{name: "a role requirement refuses a plain user with 403", method: "GET", path: "/admin", authz: "Bearer " + user, status: 403, code: "forbidden"},
		{name: "a role requirement admits an admin", method: "GET", path: "/admin", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a permission requirement is granted by *:*", method: "GET", path: "/perm", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a permission requirement refuses a plain user", method: "GET", path: "/perm", authz: "Bearer " + user, status: 403, code: "forbidden"},
		{name: "require any admits a holder of one of the roles", method: "GET", path: "/any", authz: "Bearer " + auditor, status: 200, body: "audrey"},
		{name: "require any refuses a holder of none", method: "GET", path: "/any", authz: "Bearer " + user, status: 403, code: "forbidden"},
		{name: "require without a principal is a 401", method: "GET", path: "/unguarded/admin", status: 401, code: "invalid_token", challenge: `Bearer realm="authframe"`},
		{name: "optional passes anonymous requests", method: "GET", path: "/optional", status: 200, body: "anonymous"},
		{name: "optional attaches a principal when present", method: "GET", path: "/optional", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "optional ignores a bad token", method: "GET", path: "/optional", authz: "Bearer bad", status: 200, body: "anonymous"},
		{name: "require behind optional refuses anonymous requests with 401", method: "GET", path: "/optional/admin", status: 401, code: "invalid_token"},
		{name: "require behind optional admits an admin", method: "GET", path: "/optional/admin", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a skipped route needs nothing", method: "GET", path: "/public", status: 200, body: "anonymous"},
		{name: "a session cookie authenticates a GET", method: "GET", path: "/me", cookie: grant.Cookie.Value, status: 200, body: "alice"},
		{name: "a session POST without CSRF is a 403", method: "POST", path: "/me", cookie: grant.Cookie.Value, status: 403, code: "csrf_failed"},
		{name: "a session POST with a wrong CSRF token is a 403", method: "POST", path: "/me", cookie: grant.Cookie.Value, csrf: "wrong", status: 403, code: "csrf_failed"},
		{name: "a session POST with CSRF passes", method: "POST", path: "/me", cookie: grant.Cookie.Value, csrf: grant.CSRFToken, status: 200, body: "alice"},
		{name: "a bearer POST needs no CSRF", method: "POST", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "an unknown session cookie is a 401", method: "GET", path: "/me", cookie: "not-a-session", status: 401, code: "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: g.SessionCookieName(), Value: tc.cookie})
			}
			if tc.csrf != "" {
				req.Header.Set(endpoint.CSRFHeader, tc.csrf)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.body != "" && rec.Body.String() != tc.body {
				t.Fatalf("body %q, want %q", rec.Body, tc.body)
			}
			challenge := rec.Header().Get("WWW-Authenticate")
			switch {
			case tc.challenge == "":
				if rec.Code != 401 && challenge != "" {
					t.Fatalf("unexpected WWW-Authenticate %q", challenge)
				}
			case strings.HasSuffix(tc.challenge, ", "):
				if !strings.HasPrefix(challenge, tc.challenge) {
					t.Fatalf("WWW-Authenticate %q, want prefix %q", challenge, tc.challenge)
				}
			default:
				if challenge != tc.challenge {
					t.Fatalf("WWW-Authenticate %q, want %q", challenge, tc.challenge)
				}
			}
			if rec.Code < 400 {
				return
			}
			assertContractError(t, rec, tc.code)
		})
	}
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
			want := "custom " + string(ae.Code) + " rid-1"
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

func TestLoginAndLogoutHelpers(t *testing.T) {
	g := newGuard(t)
	tokenFor(t, g, "bob")
	e := echo.New()
	e.Use(authecho.RequestID())
	e.POST("/login", func(c echo.Context) error {
		grant, err := authecho.VerifyPassword(c, g, c.FormValue("username"), c.FormValue("password"))
		if err != nil {
			return authecho.WriteError(c, err)
		}
		return c.JSON(http.StatusOK, map[string]string{"csrf_token": grant.CSRFToken})
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := authecho.Logout(c, g); err != nil {
			return authecho.WriteError(c, err)
		}
		return c.NoContent(http.StatusNoContent)
	}, authecho.Middleware(g))
	e.GET("/me", whoami, authecho.Middleware(g))
	e.POST("/me", whoami, authecho.Middleware(g))

	do := func(method, path, form string, cookie *http.Cookie, csrf string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(form))
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != nil {
			req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		}
		if csrf != "" {
			req.Header.Set(endpoint.CSRFHeader, csrf)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}

	rec := do("POST", "/login", "username=bob&password=wrong-password", nil, "")
	if rec.Code != 401 || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("a wrong password: %d %v", rec.Code, rec.Result().Cookies())
	}
	assertContractError(t, rec, authframe.ErrInvalidCredentials)

	planted := &http.Cookie{Name: g.SessionCookieName(), Value: "attacker-chosen-id-aaaaaaaaaaaaaaaaaaaaaaaa"}
	rec = do("POST", "/login", "username=bob&password=password123", planted, "")
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 || cookies[0].Value == planted.Value || cookies[0].Value == "" {
		t.Fatalf("login: %d %v", rec.Code, cookies)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("login Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
	sc := cookies[0]
	if sc.Name != "__Host-session" || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		t.Fatalf("cookie attributes %+v", sc)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.CSRF == "" {
		t.Fatalf("login body %s", rec.Body)
	}

	if rec := do("GET", "/me", "", sc, ""); rec.Code != 200 || rec.Body.String() != "bob" {
		t.Fatalf("the session does not authenticate: %d %s", rec.Code, rec.Body)
	}
	rec = do("POST", "/me", "", sc, "")
	if rec.Code != 403 {
		t.Fatalf("an unsafe session request without CSRF: %d", rec.Code)
	}
	assertContractError(t, rec, authframe.ErrCSRF)
	if rec := do("POST", "/me", "", sc, out.CSRF); rec.Code != 200 || rec.Body.String() != "bob" {
		t.Fatalf("an unsafe session request with CSRF: %d %s", rec.Code, rec.Body)
	}

	rec = do("POST", "/logout", "", sc, "")
	if rec.Code != 403 {
		t.Fatalf("logout without CSRF: %d", rec.Code)
	}
	assertContractError(t, rec, authframe.ErrCSRF)

	rec = do("POST", "/logout", "", sc, out.CSRF)
	if rec.Code != 204 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("logout: %d %v", rec.Code, rec.Header())
	}
	cleared := rec.Result().Cookies()
	if len(cleared) != 1 || cleared[0].Name != sc.Name || cleared[0].Value != "" || cleared[0].MaxAge >= 0 || !cleared[0].Secure || cleared[0].Path != "/" {
		t.Fatalf("clearing cookie %+v", cleared)
	}
	if rec := do("GET", "/me", "", sc, ""); rec.Code != 401 {
		t.Fatalf("the destroyed session still works: %d", rec.Code)
	}
	if rec := do("POST", "/logout", "", sc, out.CSRF); rec.Code != 401 {
		t.Fatalf("a second logout: %d", rec.Code)
	}
}

func TestLogoutWithoutASessionStillClearsTheCookie(t *testing.T) {
	g := newGuard(t)
	e := echo.New()
	c := e.NewContext(httptest.NewRequest("POST", "/logout", nil), httptest.NewRecorder())
	err := authecho.Logout(c, g)
	if !errors.Is(err, authframe.ErrUnauthenticated) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(c.Response().Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("Set-Cookie %q", c.Response().Header().Get("Set-Cookie"))
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

func TestRequestID(t *testing.T) {
	g := newGuard(t)
	e := echo.New()
	e.Use(authecho.RequestID(), authecho.Middleware(g))
	e.GET("/", whoami)
	for _, tc := range []struct{ name, in, want string }{
		{name: "a safe incoming id is kept", in: "abc-123", want: "abc-123"},
		{name: "an unsafe incoming id is replaced", in: "bad id with spaces"},
		{name: "a missing id is made"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tc.in != "" {
				req.Header.Set(endpoint.RequestIDHeader, tc.in)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			got := rec.Header().Get(endpoint.RequestIDHeader)
			if got == "" || tc.want != "" && got != tc.want || tc.want == "" && got == tc.in {
				t.Fatalf("request id %q", got)
			}
			assertContractError(t, rec, authframe.ErrInvalidToken)
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
	for _, path := range []string{"/strict", "/optional"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
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

// TestForwardedForLinesAppendedByAProxyWin defends the login rate limit behind a proxy
// that appends its own X-Forwarded-For line (HAProxy's option forwardfor) instead of
// extending the client's: reading only the first line would let the client choose its
// address.
func TestForwardedForLinesAppendedByAProxyWin(t *testing.T) {
	g := newGuard(t, authframe.WithTrustedProxies("192.0.2.0/24"))
	e := echo.New()
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "192.0.2.10:4321"
	req.Header.Add("X-Forwarded-For", "203.0.113.9")
	req.Header.Add("X-Forwarded-For", "198.51.100.7")
	c := e.NewContext(req, httptest.NewRecorder())
	if ip := authecho.ClientInfo(c, g).IP; ip != "198.51.100.7" {
		t.Fatalf("ClientInfo IP %q, want the proxy-appended 198.51.100.7", ip)
	}
	q := authecho.Request(c)
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
