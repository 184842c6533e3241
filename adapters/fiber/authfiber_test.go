package authfiber_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	authfiber "github.com/authframe/authframe/adapters/fiber"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/memstore"
)

// These tests cover what adaptertest cannot see through fiber's net/http adaptor:
// fasthttp's reused buffers, streamed bodies, Fiber's own error handling and settings,
// and the exact bytes of the Set-Cookie header.

func newGuard(t testing.TB, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	base := []authframe.Option{
		authframe.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")),
		authframe.WithIssuer("https://issuer.test"),
		authframe.WithAudience("api"),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithRolePermissions("admin", "*:*"),
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
	u, err := g.Register(context.Background(), authframe.ClientInfo{}, name, password, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// issue registers name and starts a token session for it.
func issue(t testing.TB, g *authframe.Guard, name string, roles ...string) *authframe.TokenPair {
	t.Helper()
	pair, err := g.IssueTokens(context.Background(), register(t, g, name, roles...), authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// tokenFor registers name and returns an access token of a fresh token session.
func tokenFor(t testing.TB, g *authframe.Guard, name string, roles ...string) string {
	t.Helper()
	return issue(t, g, name, roles...).AccessToken
}

type response struct {
	status int
	header http.Header
	body   string
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
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func post(path, contentType, body string) *http.Request {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return req
}

func credentials(name string) string {
	return `{"username":"` + name + `","password":"` + password + `"}`
}

func errorCode(t *testing.T, r response) authframe.Code {
	t.Helper()
	var body endpoint.ErrorBody
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error.Code == "" {
		t.Fatalf("error body %q is not the contract's shape", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
	return body.Error.Code
}

func TestWithErrorHandler(t *testing.T) {
	g := newGuard(t)
	var seen []error
	custom := authfiber.WithErrorHandler(func(c *fiber.Ctx, err error) error {
		seen = append(seen, err)
		return c.Status(418).SendString("custom")
	})
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(599).SendString("app: " + err.Error())
	}})
	app.Get("/custom", authfiber.Middleware(g, custom), func(c *fiber.Ctx) error { return c.SendStatus(200) })
	app.Get("/fiber", authfiber.Middleware(g, authfiber.WithErrorHandler(func(c *fiber.Ctx, err error) error {
		return fiber.NewError(fiber.StatusUnauthorized, "go away")
	})), func(c *fiber.Ctx) error { return c.SendStatus(200) })
	authfiber.Mount(app.Group("/auth"), g, custom)

	for _, tc := range []struct {
		name string
		req  *http.Request
		want authframe.Code
	}{
		{"the middleware's failure", httptest.NewRequest("GET", "/custom", nil), authframe.ErrUnauthenticated},
		{"a handler's failure", post("/auth/token", "application/json", `{"username":`), authframe.ErrInvalidRequest},
		{"the failure of the middleware Mount puts in front", httptest.NewRequest("POST", "/auth/logout", nil), authframe.ErrUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			r := do(t, app, tc.req)
			if r.status != 418 || r.body != "custom" || len(seen) != 1 || !errors.Is(seen[0], tc.want) {
				t.Fatalf("%d %q %v, want the custom handler called with %s", r.status, r.body, seen, tc.want)
			}
		})
	}
	t.Run("a returned error reaches the app's ErrorHandler", func(t *testing.T) {
		r := do(t, app, httptest.NewRequest("GET", "/fiber", nil))
		if r.status != 599 || r.body != "app: go away" {
			t.Fatalf("%d %q", r.status, r.body)
		}
	})
}

func TestMountOptions(t *testing.T) {
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	g := newGuard(t, authframe.WithStore(st))
	register(t, g, "grace")

	t.Run("without WithRegistration there is no /register", func(t *testing.T) {
		app := fiber.New()
		authfiber.Mount(app.Group("/auth"), g)
		if r := do(t, app, post("/auth/register", "application/json", credentials("henry"))); r.status != 404 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if _, ok, _ := st.GetUserByUsername(context.Background(), "henry"); ok {
			t.Fatal("a user was registered")
		}
	})
	t.Run("WithRegistration gives its roles", func(t *testing.T) {
		app := fiber.New()
		authfiber.Mount(app.Group("/auth"), g, authfiber.WithRegistration("member", "writer"))
		if r := do(t, app, post("/auth/register", "application/json", credentials("ivy"))); r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		u, ok, err := st.GetUserByUsername(context.Background(), "ivy")
		if err != nil || !ok || strings.Join(u.Roles, ",") != "member,writer" {
			t.Fatalf("user %+v %v %v", u, ok, err)
		}
	})
	t.Run("WithSkipper does not open the routes that need a caller", func(t *testing.T) {
		app := fiber.New()
		authfiber.Mount(app.Group("/auth"), g, authfiber.WithSkipper(func(*fiber.Ctx) bool { return true }))
		for _, req := range []*http.Request{
			httptest.NewRequest("POST", "/auth/logout", nil),
			httptest.NewRequest("POST", "/auth/session/logout", nil),
			httptest.NewRequest("GET", "/auth/sessions", nil),
			httptest.NewRequest("DELETE", "/auth/sessions/abc", nil),
		} {
			if r := do(t, app, req); r.status != 401 || errorCode(t, r) != authframe.ErrInvalidToken {
				t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, r.status, r.body)
			}
		}
	})
	t.Run("WithBodyLimit caps bodies", func(t *testing.T) {
		app := fiber.New()
		authfiber.Mount(app.Group("/auth"), g, authfiber.WithBodyLimit(64))
		r := do(t, app, post("/auth/token", "application/json", `{"username":"grace","password":"`+password+`","pad":"`+strings.Repeat("x", 20)+`"}`))
		if r.status != 413 || errorCode(t, r) != authframe.ErrPayloadTooLarge {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := do(t, app, post("/auth/token", "application/json", credentials("grace"))); r.status != 200 {
			t.Fatalf("a body under the limit: %d %s", r.status, r.body)
		}
	})
	t.Run("the handlers can be routed one by one", func(t *testing.T) {
		app := fiber.New()
		h := authfiber.NewHandlers(g)
		app.Post("/login", h.Token)
		app.Post("/bye", authfiber.Middleware(g), h.Logout)
		r := do(t, app, post("/login", "application/json", credentials("grace")))
		var pair authframe.TokenPair
		if r.status != 200 || json.Unmarshal([]byte(r.body), &pair) != nil || pair.AccessToken == "" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		req := httptest.NewRequest("POST", "/bye", nil)
		req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		if r := do(t, app, req); r.status != 204 || r.body != "" {
			t.Fatalf("%d %q", r.status, r.body)
		}
	})
}

// TestSessionCookiesAreFormattedAsNetHTTP pins the Set-Cookie bytes: fasthttp's own
// cookie type writes Max-Age alone, and nothing for a negative one, so a clearing cookie
// would not clear; every adapter sends what net/http writes.
func TestSessionCookiesAreFormattedAsNetHTTP(t *testing.T) {
	g := newGuard(t)
	register(t, g, "jack")
	app := fiber.New()
	authfiber.Mount(app.Group("/auth"), g)

	req := post("/auth/session/login", "application/json", credentials("jack"))
	planted := &http.Cookie{Name: "__Host-session", Value: strings.Repeat("a", 43)}
	req.AddCookie(planted)
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	var grant struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(res.Body).Decode(&grant)
	res.Body.Close()
	login := res.Header.Values("Set-Cookie")
	if res.StatusCode != 200 || len(login) != 1 || grant.CSRF == "" {
		t.Fatalf("login: %d %q", res.StatusCode, login)
	}
	c, err := http.ParseSetCookie(login[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != login[0] {
		t.Fatalf("Set-Cookie %q, net/http writes %q", login[0], c.String())
	}
	if c.Value == planted.Value || c.MaxAge <= 0 || !c.Expires.After(time.Now()) || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", c)
	}

	req = httptest.NewRequest("POST", "/auth/session/logout", nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	req.Header.Set(endpoint.CSRFHeader, grant.CSRF)
	r := do(t, app, req)
	logout := r.header.Values("Set-Cookie")
	if r.status != 204 || len(logout) != 1 {
		t.Fatalf("logout: %d %q", r.status, logout)
	}
	cl, err := http.ParseSetCookie(logout[0])
	if err != nil {
		t.Fatal(err)
	}
	if cl.String() != logout[0] || !strings.Contains(logout[0], "Max-Age=0") || cl.Expires.After(time.Now()) || !cl.Secure || cl.Path != "/" {
		t.Fatalf("clearing cookie %q", logout[0])
	}
}

func TestLoginRateLimitAnswersRetryAfter(t *testing.T) {
	g := newGuard(t, authframe.WithRateLimits(authframe.RateLimits{Login: 2, Window: time.Minute}))
	register(t, g, "dave")
	app := fiber.New()
	authfiber.Mount(app, g)
	var r response
	for range 3 {
		r = do(t, app, post("/token", "application/json", `{"username":"dave","password":"wrong-password"}`))
	}
	if r.status != 429 || r.header.Get("Retry-After") == "" || errorCode(t, r) != authframe.ErrRateLimited {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
}

// TestOptional covers what the suite leaves out: a stale session cookie, which browsers
// keep after the session's idle timeout, must not make a public page fail.
func TestOptional(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "kate")
	app := fiber.New()
	app.Get("/", authfiber.Optional(g), func(c *fiber.Ctx) error {
		if p, ok := authfiber.PrincipalFrom(c); ok {
			return c.SendString(p.Username)
		}
		return c.SendString("anonymous")
	})
	for _, tc := range []struct {
		name, authz, cookie string
		status              int
		body                string
	}{
		{name: "no credentials pass anonymously", status: 200, body: "anonymous"},
		{name: "a valid token attaches its principal", authz: "Bearer " + tok, status: 200, body: "kate"},
		{name: "a session cookie naming no session passes anonymously", cookie: strings.Repeat("A", 43), status: 200, body: "anonymous"},
		{name: "a bad token is refused", authz: "Bearer " + tok[:len(tok)-4] + "AAAA", status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "__Host-session", Value: tc.cookie})
			}
			r := do(t, app, req)
			if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
				t.Fatalf("%d %q, want %d %q", r.status, r.body, tc.status, tc.body)
			}
		})
	}
}

// TestClientInfoIgnoresFibersProxyHeader: the Guard's trusted-proxy rules decide the
// client address, not Fiber's ProxyHeader setting, which trusts any client.
func TestClientInfoIgnoresFibersProxyHeader(t *testing.T) {
	g := newGuard(t)
	app := fiber.New(fiber.Config{ProxyHeader: fiber.HeaderXForwardedFor})
	app.Get("/", func(c *fiber.Ctx) error {
		ci := authfiber.ClientInfo(c, g)
		return c.SendString(ci.IP + "|" + ci.UserAgent)
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("User-Agent", "test-agent/1.0")
	// app.Test's peer is 0.0.0.0.
	if r := do(t, app, req); r.body != "0.0.0.0|test-agent/1.0" {
		t.Fatalf("client info %q", r.body)
	}
}

// TestForwardedForLinesAppendedByAProxyWin defends the login rate limit behind a proxy
// that appends its own X-Forwarded-For line (HAProxy's option forwardfor) instead of
// extending the client's: reading only the first line would let the client choose its
// address. (fiber's net/http adaptor keeps only the last line, so the suite cannot tell.)
func TestForwardedForLinesAppendedByAProxyWin(t *testing.T) {
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

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestStreamedBodiesAreReadOnlyToTheLimit: with fiber.Config{StreamRequestBody: true}
// fasthttp hands over bodies of any size unread, whatever BodyLimit says, and
// c.Request().Body() would read all of it into memory.
func TestStreamedBodiesAreReadOnlyToTheLimit(t *testing.T) {
	g := newGuard(t)
	register(t, g, "lena")
	app := fiber.New(fiber.Config{StreamRequestBody: true})
	authfiber.Mount(app, g)
	h := app.Handler()

	send := func(body io.Reader, size int, encoding string) *fasthttp.Response {
		var fctx fasthttp.RequestCtx
		fctx.Request.Header.SetMethod(fiber.MethodPost)
		fctx.Request.SetRequestURI("/token")
		fctx.Request.Header.SetContentType(fiber.MIMEApplicationJSON)
		if encoding != "" {
			fctx.Request.Header.Set(fiber.HeaderContentEncoding, encoding)
		}
		fctx.Request.SetBodyStream(body, size)
		h(&fctx)
		return &fctx.Response
	}

	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := send(io.LimitReader(zeros{}, size), size, "")
	runtime.ReadMemStats(&after)
	if res.StatusCode() != 413 {
		t.Fatalf("%d %s", res.StatusCode(), res.Body())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("a %d MiB body allocated %d MiB", size>>20, alloc>>20)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(credentials("lena")))
	zw.Close()
	if res := send(bytes.NewReader(gz.Bytes()), gz.Len(), "gzip"); res.StatusCode() != 415 || string(res.Header.Peek(fiber.HeaderAcceptEncoding)) != "identity" {
		t.Fatalf("gzip: %d %s", res.StatusCode(), res.Body())
	}
	if res := send(strings.NewReader(credentials("lena")), len(credentials("lena")), ""); res.StatusCode() != 200 {
		t.Fatalf("a small streamed body: %d %s", res.StatusCode(), res.Body())
	}
}

// reused is one fasthttp.RequestCtx serving request after request, as a keep-alive
// connection does: each request is written over the previous one in the same buffers.
type reused struct {
	h    fasthttp.RequestHandler
	fctx fasthttp.RequestCtx
}

func (r *reused) send(method, uri, token string) *fasthttp.Response {
	r.fctx.Request.Reset()
	r.fctx.Response.Reset()
	r.fctx.ResetUserValues()
	r.fctx.Request.Header.SetMethod(method)
	r.fctx.Request.SetRequestURI(uri)
	if token != "" {
		r.fctx.Request.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
	}
	r.h(&r.fctx)
	return &r.fctx.Response
}

// sameLengthTokens mints n tokens of equal length for distinct users, so that each one
// overwrites the previous in a reused fasthttp header buffer byte for byte.
func sameLengthTokens(t testing.TB, iss *authtest.Issuer, n int) (toks, names []string) {
	t.Helper()
	for i := range n {
		name := fmt.Sprintf("user%04d", i)
		tok := iss.Token(authtest.Subject(name))
		if len(toks) > 0 && len(tok) != len(toks[0]) {
			t.Fatalf("token lengths differ: %d and %d", len(tok), len(toks[0]))
		}
		toks, names = append(toks, tok), append(names, name)
	}
	return toks, names
}

// TestCachedPrincipalSurvivesBufferReuse: if the Guard's cache kept a view of the header
// buffer instead of a copy, its keys would change under it and a token would come back
// with another user's identity.
func TestCachedPrincipalSurvivesBufferReuse(t *testing.T) {
	iss := authtest.New(t)
	toks, names := sameLengthTokens(t, iss, 64)
	app := fiber.New()
	app.Get("/me", authfiber.Middleware(iss.Guard()), func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		return c.SendString(p.Username)
	})
	r := &reused{h: app.Handler()}
	for round := range 4 {
		for i, tok := range toks {
			res := r.send(fiber.MethodGet, "/me", tok)
			if got := string(res.Body()); res.StatusCode() != 200 || got != names[i] {
				t.Fatalf("round %d, token %d: %d %q, want %q", round, i, res.StatusCode(), got, names[i])
			}
		}
	}
}

// TestDeletedSessionStaysRevokedAfterBufferReuse: the id of DELETE /sessions/:id enters
// the Guard's revocation set; were it a view of the request's path, the next request on
// the connection would rewrite it, and the deleted session's tokens, already in the cache,
// would work again.
func TestDeletedSessionStaysRevokedAfterBufferReuse(t *testing.T) {
	g := newGuard(t)
	u := register(t, g, "mike")
	ctx := context.Background()
	victim, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	authfiber.Mount(app.Group("/auth"), g)
	app.Get("/me", authfiber.Middleware(g), func(c *fiber.Ctx) error { return c.SendStatus(200) })
	r := &reused{h: app.Handler()}

	if res := r.send(fiber.MethodGet, "/me", victim.AccessToken); res.StatusCode() != 200 {
		t.Fatalf("before: %d %s", res.StatusCode(), res.Body())
	}
	if res := r.send(fiber.MethodDelete, "/auth/sessions/"+victim.SessionID, owner.AccessToken); res.StatusCode() != 204 {
		t.Fatalf("delete: %d %s", res.StatusCode(), res.Body())
	}
	for range 3 {
		other := "/auth/sessions/" + strings.Repeat("x", len(victim.SessionID))
		if res := r.send(fiber.MethodDelete, other, owner.AccessToken); res.StatusCode() != 404 {
			t.Fatalf("delete of an unknown id: %d %s", res.StatusCode(), res.Body())
		}
		if res := r.send(fiber.MethodGet, "/me", victim.AccessToken); res.StatusCode() != 401 {
			t.Fatalf("the deleted session's token works again: %d", res.StatusCode())
		}
	}
}

// TestKeepAliveServer runs the middleware and the handlers on a real listener, with one
// keep-alive connection carrying many requests, and checks identities, a session's stored
// user agent and the request ids in the user context after fasthttp has reused its buffers
// many times over.
func TestKeepAliveServer(t *testing.T) {
	iss := authtest.New(t)
	g := iss.Guard()
	toks, names := sameLengthTokens(t, iss, 32)
	register(t, g, "erin")

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(authfiber.RequestID())
	authfiber.Mount(app.Group("/auth"), g)
	var (
		mu   sync.Mutex
		seen []string
	)
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

	req, _ := http.NewRequest("POST", base+"/auth/session/login", strings.NewReader(credentials("erin")))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "agent-of-erin/1.0")
	res, body := send(req)
	if res.StatusCode != 200 || len(res.Cookies()) != 1 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	session := res.Cookies()[0]

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

	req, _ = http.NewRequest("GET", base+"/auth/sessions", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	res, body = send(req)
	var list struct {
		Sessions []struct {
			UserAgent string `json:"user_agent"`
			IP        string `json:"ip"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || res.StatusCode != 200 || len(list.Sessions) != 1 {
		t.Fatalf("sessions: %d %s", res.StatusCode, body)
	}
	if s := list.Sessions[0]; s.UserAgent != "agent-of-erin/1.0" || s.IP != "127.0.0.1" {
		t.Fatalf("the session record was corrupted by buffer reuse: user agent %q, ip %q", s.UserAgent, s.IP)
	}
}

// TestAuthtestTokensPassTheMiddleware: the tokens the test kit mints are the Guard's own
// to the middleware, expiry and roles included.
func TestAuthtestTokensPassTheMiddleware(t *testing.T) {
	iss := authtest.New(t, authframe.WithRolePermissions("admin", "*:*"))
	app := fiber.New()
	app.Get("/admin", authfiber.Middleware(iss.Guard()), authfiber.Require("delete:users"), func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		return c.SendString(p.Username)
	})
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
		if r := do(t, app, req); r.status != tc.status || tc.status == 200 && r.body != "ada" {
			t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
		}
	}
}
