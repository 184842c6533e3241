package authfiber_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	authfiber "github.com/authframe/authframe/adapters/fiber"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func newGuard(t testing.TB, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	base := []authframe.Option{
		authframe.WithHMACSecret(secret),
		authframe.WithIssuer("https://issuer.test"),
		authframe.WithAudience("api"),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithRolePermissions("admin", "*:*"),
		authframe.WithRolePermissions("auditor", "read:reports"),
	}
	g, err := authframe.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

const password = "password123"

func register(t testing.TB, g *authframe.Guard, name string, roles ...string) authframe.User {
	t.Helper()
	u, err := g.Register(context.Background(), name, password, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// tokenFor registers name and returns an access token from a fresh token session.
func tokenFor(t testing.TB, g *authframe.Guard, name string, roles ...string) string {
	t.Helper()
	ctx := context.Background()
	register(t, g, name, roles...)
	u, err := g.VerifyPassword(ctx, name, password, authframe.ClientInfo{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return pair.AccessToken
}

func whoami(c *fiber.Ctx) error {
	p, ok := authfiber.PrincipalFrom(c)
	if !ok {
		return c.SendString("anonymous")
	}
	return c.SendString(p.Username)
}

func newApp(g *authframe.Guard) *fiber.App {
	app := fiber.New()
	app.Get("/public", authfiber.Middleware(g, authfiber.WithSkipper(func(*fiber.Ctx) bool { return true })), whoami)
	app.Get("/optional", authfiber.Optional(g), whoami)
	api := app.Group("/", authfiber.Middleware(g, authfiber.WithSkipper(func(c *fiber.Ctx) bool {
		return c.Path() == "/public" || c.Path() == "/optional"
	})))
	api.Get("/me", whoami)
	api.Post("/me", whoami)
	api.Get("/admin", authfiber.Require("admin"), whoami)
	api.Get("/perm", authfiber.Require("delete:users"), whoami)
	api.Get("/any", authfiber.RequireAny("admin", "read:reports"), whoami)
	return app
}

type response struct {
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie
}

func do(t *testing.T, app *fiber.App, req *http.Request) response {
	t.Helper()
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b), cookies: res.Cookies()}
}

func errorBody(t *testing.T, r response) endpoint.ErrorBody {
	t.Helper()
	var body endpoint.ErrorBody
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error.Code == "" {
		t.Fatalf("error body %q is not the contract's shape", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("error Cache-Control %q", cc)
	}
	return body
}

func TestMiddleware(t *testing.T) {
	g := newGuard(t)
	user := tokenFor(t, g, "alice")
	admin := tokenFor(t, g, "root", "admin")
	auditor := tokenFor(t, g, "carol", "auditor")
	ctx := context.Background()
	u, err := g.VerifyPassword(ctx, "alice", password, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	grant, err := g.StartSession(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(g)

	tests := []struct {
		name, method, path, authz string
		cookie, csrf              string
		status                    int
		body, code, challenge     string
	}{
		{name: "a valid bearer token reaches the handler", method: "GET", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "the lowercase bearer scheme is accepted", method: "GET", path: "/me", authz: "bearer " + user, status: 200, body: "alice"},
		{name: "no credentials is a 401 with a bare challenge", method: "GET", path: "/me", status: 401, code: "invalid_token", challenge: `Bearer realm="authframe"`},
		{name: "a bad token is a 401 with error=invalid_token", method: "GET", path: "/me", authz: "Bearer nope.nope.nope", status: 401, code: "invalid_token", challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "a token signed with another key is a 401 with error=invalid_token", method: "GET", path: "/me", authz: "Bearer " + user[:len(user)-4] + "AAAA", status: 401, code: "invalid_token", challenge: `Bearer realm="authframe", error="invalid_token"`},
		{name: "a token in the query string is ignored", method: "GET", path: "/me?access_token=" + user, status: 401, code: "invalid_token", challenge: `Bearer realm="authframe"`},
		{name: "a role requirement refuses a plain user with 403", method: "GET", path: "/admin", authz: "Bearer " + user, status: 403, code: "forbidden"},
		{name: "a role requirement admits an admin", method: "GET", path: "/admin", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a permission requirement is granted by *:*", method: "GET", path: "/perm", authz: "Bearer " + admin, status: 200, body: "root"},
		{name: "a permission requirement refuses a plain user", method: "GET", path: "/perm", authz: "Bearer " + user, status: 403, code: "forbidden"},
		{name: "require any admits a holder of one permission", method: "GET", path: "/any", authz: "Bearer " + auditor, status: 200, body: "carol"},
		{name: "require any refuses a holder of none", method: "GET", path: "/any", authz: "Bearer " + user, status: 403, code: "forbidden"},
		{name: "optional passes anonymous requests", method: "GET", path: "/optional", status: 200, body: "anonymous"},
		{name: "optional attaches a principal when present", method: "GET", path: "/optional", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "optional ignores a bad token", method: "GET", path: "/optional", authz: "Bearer bad", status: 200, body: "anonymous"},
		{name: "a skipped route needs nothing", method: "GET", path: "/public", status: 200, body: "anonymous"},
		{name: "a skipped route ignores even a bad token", method: "GET", path: "/public", authz: "Bearer bad", status: 200, body: "anonymous"},
		{name: "a session cookie authenticates a GET", method: "GET", path: "/me", cookie: grant.Cookie.Value, status: 200, body: "alice"},
		{name: "a session POST without CSRF is a 403", method: "POST", path: "/me", cookie: grant.Cookie.Value, status: 403, code: "csrf_failed"},
		{name: "a session POST with a wrong CSRF token is a 403", method: "POST", path: "/me", cookie: grant.Cookie.Value, csrf: "wrong", status: 403, code: "csrf_failed"},
		{name: "a session POST with CSRF passes", method: "POST", path: "/me", cookie: grant.Cookie.Value, csrf: grant.CSRFToken, status: 200, body: "alice"},
		{name: "a bearer POST needs no CSRF", method: "POST", path: "/me", authz: "Bearer " + user, status: 200, body: "alice"},
		{name: "an unknown session cookie is a 401 without a bearer challenge", method: "GET", path: "/me", cookie: strings.Repeat("A", 43), status: 401, code: "invalid_token"},
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
			r := do(t, app, req)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tc.status, r.body)
			}
			if tc.body != "" && r.body != tc.body {
				t.Fatalf("body %q, want %q", r.body, tc.body)
			}
			challenge := r.header.Get("WWW-Authenticate")
			if tc.challenge != "" && !strings.HasPrefix(challenge, tc.challenge) {
				t.Fatalf("WWW-Authenticate %q, want prefix %q", challenge, tc.challenge)
			}
			if tc.challenge == `Bearer realm="authframe"` && challenge != tc.challenge {
				t.Fatalf("WWW-Authenticate %q, want exactly %q", challenge, tc.challenge)
			}
			if tc.challenge == "" && challenge != "" {
				t.Fatalf("unexpected WWW-Authenticate %q", challenge)
			}
			if r.status >= 400 {
				if body := errorBody(t, r); body.Error.Code != authframe.Code(tc.code) {
					t.Fatalf("error code %q, want %q", body.Error.Code, tc.code)
				}
			}
		})
	}
}

func TestRequireWithoutMiddlewareIsA401(t *testing.T) {
	app := fiber.New()
	app.Get("/", authfiber.Require("admin"), whoami)
	r := do(t, app, httptest.NewRequest("GET", "/", nil))
	if r.status != 401 || errorBody(t, r).Error.Code != authframe.ErrInvalidToken {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestWithErrorHandler(t *testing.T) {
	g := newGuard(t)
	var seen error
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(599).SendString("app: " + err.Error())
	}})
	app.Get("/custom", authfiber.Middleware(g, authfiber.WithErrorHandler(func(c *fiber.Ctx, err error) error {
		seen = err
		return c.Status(418).SendString("custom")
	})), whoami)
	app.Get("/fiber", authfiber.Middleware(g, authfiber.WithErrorHandler(func(c *fiber.Ctx, err error) error {
		return fiber.NewError(fiber.StatusUnauthorized, "go away")
	})), whoami)

	r := do(t, app, httptest.NewRequest("GET", "/custom", nil))
	if r.status != 418 || r.body != "custom" || !errors.Is(seen, authframe.ErrUnauthenticated) {
		t.Fatalf("%d %q %v", r.status, r.body, seen)
	}
	r = do(t, app, httptest.NewRequest("GET", "/fiber", nil))
	if r.status != 599 || r.body != "app: go away" {
		t.Fatalf("a returned error should reach the app's ErrorHandler: %d %q", r.status, r.body)
	}
}

func TestLoginAndLogoutHelpers(t *testing.T) {
	g := newGuard(t)
	register(t, g, "bob")
	app := fiber.New()
	app.Post("/login", func(c *fiber.Ctx) error {
		grant, err := authfiber.VerifyPassword(c, g, c.FormValue("username"), c.FormValue("password"))
		if err != nil {
			return authfiber.WriteError(c, err)
		}
		return c.JSON(fiber.Map{"csrf_token": grant.CSRFToken})
	})
	app.Post("/logout", authfiber.Middleware(g), func(c *fiber.Ctx) error {
		if err := authfiber.Logout(c, g); err != nil {
			return authfiber.WriteError(c, err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	app.Post("/me", authfiber.Middleware(g), whoami)

	form := func(path, body string, cookies ...*http.Cookie) *http.Request {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		return req
	}

	t.Run("wrong credentials are a 401 that sets no cookie", func(t *testing.T) {
		r := do(t, app, form("/login", "username=bob&password=wrongwrong"))
		if r.status != 401 || len(r.cookies) != 0 || errorBody(t, r).Error.Code != authframe.ErrInvalidCredentials {
			t.Fatalf("%d %v %s", r.status, r.cookies, r.body)
		}
		if r.header.Get("WWW-Authenticate") != "" {
			t.Fatalf("a login failure is not a bearer challenge: %q", r.header.Get("WWW-Authenticate"))
		}
	})

	attacker := &http.Cookie{Name: "__Host-session", Value: strings.Repeat("a", 43)}
	r := do(t, app, form("/login", "username=bob&password="+password, attacker))
	if r.status != 200 || len(r.cookies) != 1 {
		t.Fatalf("login: %d %v %s", r.status, r.cookies, r.body)
	}
	sc := r.cookies[0]
	t.Run("the session cookie carries every attribute", func(t *testing.T) {
		if sc.Name != "__Host-session" || sc.Value == "" || sc.Value == attacker.Value {
			t.Fatalf("cookie %q=%q: the presented id must never be adopted", sc.Name, sc.Value)
		}
		if !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" {
			t.Fatalf("cookie attributes %+v", sc)
		}
		if sc.MaxAge <= 0 || !sc.Expires.After(time.Now()) {
			t.Fatalf("cookie lifetime: Max-Age %d, Expires %v", sc.MaxAge, sc.Expires)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("login Cache-Control %q", r.header.Get("Cache-Control"))
		}
		if n := len(r.header.Values("Set-Cookie")); n != 1 {
			t.Fatalf("%d Set-Cookie headers", n)
		}
	})
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || out.CSRF == "" {
		t.Fatalf("login body %s", r.body)
	}

	t.Run("an unsafe request without the CSRF token is refused", func(t *testing.T) {
		r := do(t, app, form("/me", "", sc))
		if r.status != 403 || errorBody(t, r).Error.Code != authframe.ErrCSRF {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("an unsafe request with the CSRF token passes", func(t *testing.T) {
		req := form("/me", "", sc)
		req.Header.Set(endpoint.CSRFHeader, out.CSRF)
		if r := do(t, app, req); r.status != 200 || r.body != "bob" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("logout needs the CSRF token too", func(t *testing.T) {
		if r := do(t, app, form("/logout", "", sc)); r.status != 403 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("logout clears the cookie and destroys the session", func(t *testing.T) {
		req := form("/logout", "", sc)
		req.Header.Set(endpoint.CSRFHeader, out.CSRF)
		r := do(t, app, req)
		if r.status != 204 || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("logout: %d %v", r.status, r.header)
		}
		if len(r.cookies) != 1 {
			t.Fatalf("clearing cookies %v", r.cookies)
		}
		cl := r.cookies[0]
		if cl.Name != "__Host-session" || cl.Value != "" || cl.MaxAge >= 0 || !cl.Secure || cl.Path != "/" || cl.Expires.After(time.Now()) {
			t.Fatalf("clearing cookie %+v (raw %q)", cl, r.header.Get("Set-Cookie"))
		}
		req = form("/me", "", sc)
		req.Header.Set(endpoint.CSRFHeader, out.CSRF)
		if r := do(t, app, req); r.status != 401 {
			t.Fatalf("the destroyed session still works: %d", r.status)
		}
	})
}

func TestLoginRateLimitAnswersRetryAfter(t *testing.T) {
	g := newGuard(t, authframe.WithLoginRateLimit(2, time.Minute))
	register(t, g, "dave")
	app := fiber.New()
	app.Post("/login", func(c *fiber.Ctx) error {
		if _, err := authfiber.VerifyPassword(c, g, "dave", "wrong-password"); err != nil {
			return authfiber.WriteError(c, err)
		}
		return c.SendStatus(200)
	})
	var r response
	for range 3 {
		r = do(t, app, httptest.NewRequest("POST", "/login", nil))
	}
	if r.status != 429 || r.header.Get("Retry-After") == "" || errorBody(t, r).Error.Code != authframe.ErrRateLimited {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
}

func TestClientInfo(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		xff     string
		want    string
	}{
		{name: "the TCP peer is the client by default", xff: "203.0.113.9", want: "0.0.0.0"},
		{name: "X-Forwarded-For is read behind a trusted proxy", trusted: []string{"0.0.0.0/32"}, xff: "203.0.113.9, 198.51.100.7", want: "198.51.100.7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []authframe.Option
			if tc.trusted != nil {
				opts = append(opts, authframe.WithTrustedProxies(tc.trusted...))
			}
			g := newGuard(t, opts...)
			app := fiber.New(fiber.Config{ProxyHeader: fiber.HeaderXForwardedFor})
			app.Get("/", func(c *fiber.Ctx) error {
				ci := authfiber.ClientInfo(c, g)
				return c.SendString(ci.IP + "|" + ci.UserAgent)
			})
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("X-Forwarded-For", tc.xff)
			req.Header.Set("User-Agent", "test-agent/1.0")
			if r := do(t, app, req); r.body != tc.want+"|test-agent/1.0" {
				t.Fatalf("client info %q, want %q", r.body, tc.want+"|test-agent/1.0")
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	g := newGuard(t)
	app := fiber.New()
	app.Use(authfiber.RequestID())
	app.Get("/ctx", func(c *fiber.Ctx) error {
		return c.SendString(endpoint.RequestIDFromContext(c.UserContext()) + "|" + authfiber.RequestIDFrom(c))
	})
	app.Get("/me", authfiber.Middleware(g), whoami)
	for _, tc := range []struct {
		name, in string
		keep     bool
	}{
		{name: "a safe incoming id is kept", in: "abc-123", keep: true},
		{name: "an unsafe incoming id is replaced", in: "bad id with spaces"},
		{name: "a missing id is made"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/me", nil)
			if tc.in != "" {
				req.Header.Set("X-Request-ID", tc.in)
			}
			r := do(t, app, req)
			got := r.header.Get("X-Request-ID")
			if got == "" || tc.keep != (got == tc.in) {
				t.Fatalf("request id %q for incoming %q", got, tc.in)
			}
			if body := errorBody(t, r); body.RequestID != got {
				t.Fatalf("body request_id %q, header %q", body.RequestID, got)
			}
			req = httptest.NewRequest("GET", "/ctx", nil)
			req.Header.Set("X-Request-ID", tc.in)
			r = do(t, app, req)
			if id := r.header.Get("X-Request-ID"); r.body != id+"|"+id {
				t.Fatalf("context and locals %q, header %q", r.body, id)
			}
		})
	}
}

// sameLengthTokens signs n tokens of equal length for distinct users, so that each one
// overwrites the previous in a reused fasthttp header buffer byte for byte.
func sameLengthTokens(t testing.TB, g *authframe.Guard, n int) (toks, names []string) {
	t.Helper()
	for i := range n {
		name := fmt.Sprintf("user%04d", i)
		tok, err := g.SignAccessToken(fmt.Sprintf("id-%04d", i), name, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) > 0 && len(tok) != len(toks[0]) {
			t.Fatalf("token lengths differ: %d and %d", len(tok), len(toks[0]))
		}
		toks, names = append(toks, tok), append(names, name)
	}
	return toks, names
}

// TestCachedPrincipalSurvivesBufferReuse drives one reused fasthttp.RequestCtx, as a
// keep-alive connection does: every token is written over the previous one in the same
// header buffer. If the Guard's cache kept a view of that buffer instead of a copy, its
// keys would change under it and a token would come back with another user's identity.
func TestCachedPrincipalSurvivesBufferReuse(t *testing.T) {
	g := newGuard(t)
	toks, names := sameLengthTokens(t, g, 64)
	app := fiber.New()
	app.Get("/me", authfiber.Middleware(g), func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		return c.SendString(p.Username + "|" + p.UserID)
	})
	h := app.Handler()
	var fctx fasthttp.RequestCtx
	for round := range 4 {
		for i, tok := range toks {
			fctx.Request.Reset()
			fctx.Response.Reset()
			fctx.ResetUserValues()
			fctx.Request.Header.SetMethod(fiber.MethodGet)
			fctx.Request.SetRequestURI("/me")
			fctx.Request.Header.Set(fiber.HeaderAuthorization, "Bearer "+tok)
			h(&fctx)
			want := names[i] + "|" + fmt.Sprintf("id-%04d", i)
			if got := string(fctx.Response.Body()); fctx.Response.StatusCode() != 200 || got != want {
				t.Fatalf("round %d, token %d: %d %q, want %q", round, i, fctx.Response.StatusCode(), got, want)
			}
		}
	}
}

// TestKeepAliveServer runs the middleware on a real listener, with one keep-alive
// connection carrying many requests, and checks identities, a session's stored user agent
// and request ids after fasthttp has reused its buffers many times over.
func TestKeepAliveServer(t *testing.T) {
	g := newGuard(t)
	toks, names := sameLengthTokens(t, g, 32)
	register(t, g, "erin")

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(authfiber.RequestID())
	var (
		mu   sync.Mutex
		seen []string
	)
	app.Post("/login", func(c *fiber.Ctx) error {
		if _, err := authfiber.VerifyPassword(c, g, c.Get("X-User"), c.Get("X-Password")); err != nil {
			return authfiber.WriteError(c, err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	app.Get("/me", authfiber.Middleware(g), func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		mu.Lock()
		seen = append(seen, endpoint.RequestIDFromContext(c.UserContext()))
		mu.Unlock()
		return c.SendString(p.Username)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })

	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	base := "http://" + ln.Addr().String()
	send := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	req, _ := http.NewRequest("POST", base+"/login", nil)
	req.Header.Set("X-User", "erin")
	req.Header.Set("X-Password", password)
	req.Header.Set("User-Agent", "agent-of-erin/1.0")
	if res, body := send(req); res.StatusCode != 204 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}

	var ids []string
	for round := range 4 {
		for i, tok := range toks {
			id := fmt.Sprintf("rid-%d-%04d", round, i)
			ids = append(ids, id)
			req, _ := http.NewRequest("GET", base+"/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Request-ID", id)
			req.Header.Set("User-Agent", fmt.Sprintf("other-agent-%08d", i))
			res, body := send(req)
			if res.StatusCode != 200 || body != names[i] {
				t.Fatalf("round %d, token %d: %d %q, want %q", round, i, res.StatusCode, body, names[i])
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("request ids in the user context changed after the requests:\n%v\n%v", seen, ids)
	}

	u, ok, err := g.Store().GetUserByUsername(context.Background(), "erin")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	sessions, err := g.ListSessions(context.Background(), u.ID)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions %v %v", sessions, err)
	}
	if s := sessions[0]; s.UserAgent != "agent-of-erin/1.0" || s.IP != "127.0.0.1" {
		t.Fatalf("the session record was corrupted by buffer reuse: user agent %q, ip %q", s.UserAgent, s.IP)
	}
}

// TestForwardedForLinesAppendedByAProxyWin defends the login rate limit behind a proxy
// that appends its own X-Forwarded-For line (HAProxy's option forwardfor) instead of
// extending the client's: reading only the first line would let the client choose its
// address.
func TestForwardedForLinesAppendedByAProxyWin(t *testing.T) {
	// app.Test's peer is 0.0.0.0.
	g := newGuard(t, authframe.WithTrustedProxies("0.0.0.0/32"))
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error {
		q := authfiber.Request(c)
		return c.SendString(strings.Join([]string{
			authfiber.ClientInfo(c, g).IP, q.Header("X-Forwarded-For"), q.Header("x-forwarded-for"), q.Header("X-Single"),
		}, "|"))
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Add("X-Forwarded-For", "203.0.113.9")
	req.Header.Add("X-Forwarded-For", "198.51.100.7")
	req.Header.Set("X-Single", "one")
	got := strings.Split(do(t, app, req).body, "|")
	if len(got) != 4 || got[0] != "198.51.100.7" {
		t.Fatalf("ClientInfo IP %q, want the proxy-appended 198.51.100.7", got)
	}
	if got[1] != "203.0.113.9, 198.51.100.7" || got[2] != got[1] {
		t.Fatalf("Header = %q / %q, want both lines joined in order", got[1], got[2])
	}
	if got[3] != "one" {
		t.Fatalf("Header of a single line = %q", got[3])
	}
}
