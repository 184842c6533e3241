// Package adaptertest is the conformance suite of authframe's framework adapters, as
// storetest is the stores': every adapter's tests build the same small app with their
// framework and run Run against it, so that the four adapters answer alike (401 and 403
// shapes and headers, optional and required authentication, getters, the ready-made
// handlers, content types).
package adaptertest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	authframe "github.com/authframe/authframe/core"
)

// Build returns an http.Handler serving, with the adapter under test:
//
//   - the adapter's RequestID middleware around everything;
//   - GET and POST /protected behind Middleware(guard): 200 {"user_id","auth_method"}
//     from the adapter's principal getter;
//   - GET /optional behind Optional(guard): 200 {"user_id"} ("" when anonymous; no
//     credentials, or a session cookie naming no live session, pass as anonymous, while a
//     token that fails is answered as Middleware answers it);
//   - GET /admin behind Middleware and Require("admin"), GET /any behind Middleware and
//     RequireAny("admin", "read:reports"): 200 {"ok":true};
//   - GET /skipped behind Middleware(guard, WithSkipper(path is /skipped)): 200 {"user_id"};
//   - GET /request-id: 200 {"request_id"} from the adapter's RequestIDFrom;
//   - GET /client: 200 {"ip","user_agent"} from the adapter's ClientInfo;
//   - the standard routes mounted under /auth with registration enabled:
//     Mount(group "/auth", guard, WithRegistration()).
//
// Fiber apps are served through fiber's net/http adaptor.
type Build func(t *testing.T, guard *authframe.Guard) http.Handler

// Guard returns the Guard that Run hands to Build: HS256, a fixed issuer and audience,
// fast (test-only) password hashing, role "admin" with every permission and role
// "reader" with read:reports, 192.0.2.0/24 trusted as a proxy, and its public URL
// https://app.example.
func Guard(t testing.TB, extra ...authframe.Option) *authframe.Guard {
	t.Helper()
	opts := append([]authframe.Option{
		authframe.WithHMACSecret([]byte("adaptertest-secret-0123456789abcdef")),
		authframe.WithIssuer("https://issuer.adaptertest"),
		authframe.WithAudience("adaptertest"),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithRolePermissions("admin", "*:*"),
		authframe.WithRolePermissions("reader", "read:reports"),
		authframe.WithTrustedProxies("192.0.2.0/24"),
		authframe.WithPublicURL("https://app.example"),
	}, extra...)
	g, err := authframe.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// Run drives the app that build makes through the whole table.
func Run(t *testing.T, build Build) {
	g := Guard(t)
	h := build(t, g)
	s := &suite{t: t, h: h, g: g}
	t.Run("errors", s.errors)
	t.Run("bearer", s.bearer)
	t.Run("optional and skipped", s.optional)
	t.Run("require", s.require)
	t.Run("request id", s.requestID)
	t.Run("client info", s.clientInfo)
	t.Run("handlers", s.handlers)
	t.Run("bodies", s.bodies)
	t.Run("sessions", s.sessions)
}

type suite struct {
	t *testing.T
	h http.Handler
	g *authframe.Guard
}

type req struct {
	method, path string
	body         string
	headers      map[string]string
	cookie       *http.Cookie
	remote       string
}

type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%s: body is not JSON: %q", r.Request.URL.Path, r.body)
	}
	return m
}

func (s *suite) do(t *testing.T, r req) resp {
	t.Helper()
	var body *strings.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	var hr *http.Request
	if body != nil {
		hr = httptest.NewRequest(r.method, r.path, body)
	} else {
		hr = httptest.NewRequest(r.method, r.path, nil)
	}
	hr.RemoteAddr = "198.51.100.20:4321"
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	for k, v := range r.headers {
		for _, line := range strings.Split(v, "\n") {
			hr.Header.Add(k, line)
		}
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, hr)
	res := w.Result()
	res.Request = hr
	return resp{Response: res, body: w.Body.Bytes()}
}

// expectError checks the contract's error shape.
func expectError(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s = %d %s, want %d %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.body, status, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type = %q", ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("error Cache-Control = %q, want no-store", cc)
	}
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code != code || b.Error.Message == "" {
		t.Fatalf("error body %q, want code %s", r.body, code)
	}
	if b.RequestID == "" || b.RequestID != r.Header.Get("X-Request-ID") {
		t.Errorf("request_id %q does not match the X-Request-ID header %q", b.RequestID, r.Header.Get("X-Request-ID"))
	}
}

// login registers a user with roles through the Guard and returns a bearer token.
func (s *suite) token(t *testing.T, name string, roles ...string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.g.Register(ctx, authframe.ClientInfo{}, name, "password123", roles...); err != nil {
		t.Fatal(err)
	}
	u, err := s.g.VerifyPassword(ctx, authframe.ClientInfo{IP: "203.0.113.1"}, name, "password123")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := s.g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return pair.AccessToken
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func (s *suite) errors(t *testing.T) {
	r := s.do(t, req{method: "GET", path: "/protected"})
	expectError(t, r, 401, "invalid_token")
	if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="authframe"` {
		t.Errorf("challenge without a token = %q", got)
	}
	r = s.do(t, req{method: "GET", path: "/protected", headers: bearer("not.a.token")})
	expectError(t, r, 401, "invalid_token")
	if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer realm="authframe", error="invalid_token"`) {
		t.Errorf("challenge with a bad token = %q", got)
	}
}

func (s *suite) bearer(t *testing.T) {
	tok := s.token(t, "bearer-user")
	for _, scheme := range []string{"Bearer ", "bearer ", "BEARER "} {
		r := s.do(t, req{method: "GET", path: "/protected", headers: map[string]string{"Authorization": scheme + tok}})
		if r.StatusCode != 200 {
			t.Fatalf("scheme %q: %d %s", scheme, r.StatusCode, r.body)
		}
		if m := r.json(t); m["auth_method"] != "bearer" || m["user_id"] == "" {
			t.Fatalf("principal %v", m)
		}
	}
	r := s.do(t, req{method: "GET", path: "/protected?access_token=" + url.QueryEscape(tok)})
	expectError(t, r, 401, "invalid_token")
	r = s.do(t, req{method: "POST", path: "/protected", headers: bearer(tok)})
	if r.StatusCode != 200 {
		t.Fatalf("an unsafe bearer request needs no CSRF token: %d %s", r.StatusCode, r.body)
	}
}

func (s *suite) optional(t *testing.T) {
	r := s.do(t, req{method: "GET", path: "/optional"})
	if r.StatusCode != 200 || r.json(t)["user_id"] != "" {
		t.Fatalf("anonymous optional: %d %s", r.StatusCode, r.body)
	}
	tok := s.token(t, "optional-user")
	r = s.do(t, req{method: "GET", path: "/optional", headers: bearer(tok)})
	if r.StatusCode != 200 || r.json(t)["user_id"] == "" {
		t.Fatalf("optional with a token: %d %s", r.StatusCode, r.body)
	}
	// Credentials that fail are refused (a client learns that its token expired); a session
	// cookie that outlived its session is ignored instead, since browsers keep the cookie
	// longer than the session lives and a public page must not answer 401 to a returning
	// visitor.
	r = s.do(t, req{method: "GET", path: "/optional", headers: bearer("bad.token.here")})
	expectError(t, r, 401, "invalid_token")
	stale := &http.Cookie{Name: "__Host-session", Value: strings.Repeat("A", 43)}
	r = s.do(t, req{method: "GET", path: "/optional", cookie: stale})
	if r.StatusCode != 200 || r.json(t)["user_id"] != "" {
		t.Fatalf("optional with a stale session cookie: %d %s", r.StatusCode, r.body)
	}
	r = s.do(t, req{method: "GET", path: "/skipped"})
	if r.StatusCode != 200 {
		t.Fatalf("skipped route: %d %s", r.StatusCode, r.body)
	}
}

func (s *suite) require(t *testing.T) {
	admin := s.token(t, "require-admin", "admin")
	reader := s.token(t, "require-reader", "reader")
	plain := s.token(t, "require-plain")
	for _, tc := range []struct {
		path, tok string
		status    int
	}{
		{"/admin", admin, 200}, {"/admin", reader, 403}, {"/admin", plain, 403}, {"/admin", "", 401},
		{"/any", admin, 200}, {"/any", reader, 200}, {"/any", plain, 403},
	} {
		var h map[string]string
		if tc.tok != "" {
			h = bearer(tc.tok)
		}
		r := s.do(t, req{method: "GET", path: tc.path, headers: h})
		switch tc.status {
		case 200:
			if r.StatusCode != 200 {
				t.Errorf("%s: %d %s", tc.path, r.StatusCode, r.body)
			}
		case 403:
			expectError(t, r, 403, "forbidden")
		case 401:
			expectError(t, r, 401, "invalid_token")
		}
	}
}

func (s *suite) requestID(t *testing.T) {
	r := s.do(t, req{method: "GET", path: "/request-id", headers: map[string]string{"X-Request-ID": "trace-42"}})
	if r.Header.Get("X-Request-ID") != "trace-42" || r.json(t)["request_id"] != "trace-42" {
		t.Fatalf("a safe incoming id is kept: %v %s", r.Header, r.body)
	}
	r = s.do(t, req{method: "GET", path: "/request-id", headers: map[string]string{"X-Request-ID": "bad id <script>"}})
	id := r.Header.Get("X-Request-ID")
	if id == "" || strings.Contains(id, "<") || r.json(t)["request_id"] != id {
		t.Fatalf("an unsafe incoming id is replaced: %q %s", id, r.body)
	}
}

func (s *suite) clientInfo(t *testing.T) {
	r := s.do(t, req{method: "GET", path: "/client", headers: map[string]string{"User-Agent": "suite/1", "X-Forwarded-For": "203.0.113.9"}})
	if m := r.json(t); m["ip"] != "198.51.100.20" || m["user_agent"] != "suite/1" {
		t.Fatalf("an untrusted peer's X-Forwarded-For must be ignored: %v", m)
	}
	// Behind a trusted proxy that appends its own line, the client's forged first line
	// loses (RFC 9110 §5.3: the lines form one list).
	r = s.do(t, req{method: "GET", path: "/client", remote: "192.0.2.5:80", headers: map[string]string{"X-Forwarded-For": "203.0.113.9\n198.51.100.7"}})
	if m := r.json(t); m["ip"] != "198.51.100.7" {
		t.Fatalf("client IP behind a trusted proxy = %v, want 198.51.100.7", m["ip"])
	}
}

func (s *suite) handlers(t *testing.T) {
	creds := `{"username":"handler-user","password":"password123"}`
	r := s.do(t, req{method: "POST", path: "/auth/register", body: creds})
	if r.StatusCode != 201 || r.json(t)["user_id"] == "" {
		t.Fatalf("register: %d %s", r.StatusCode, r.body)
	}
	expectError(t, s.do(t, req{method: "POST", path: "/auth/register", body: creds}), 409, "conflict")
	r = s.do(t, req{method: "POST", path: "/auth/token", body: creds, headers: map[string]string{"Content-Type": "application/json"}})
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token: %d %v %s", r.StatusCode, r.Header, r.body)
	}
	pair := r.json(t)
	if pair["token_type"] != "Bearer" || pair["access_token"] == "" || pair["refresh_token"] == "" || pair["expires_in"] == nil {
		t.Fatalf("token pair %v", pair)
	}
	expectError(t, s.do(t, req{method: "POST", path: "/auth/token", body: `{"username":"handler-user","password":"wrong-password"}`}), 401, "invalid_credentials")
	r = s.do(t, req{method: "POST", path: "/auth/refresh", body: `{"refresh_token":"` + pair["refresh_token"].(string) + `"}`})
	if r.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", r.StatusCode, r.body)
	}
	next := r.json(t)
	expectError(t, s.do(t, req{method: "POST", path: "/auth/refresh", body: `{"refresh_token":"` + pair["refresh_token"].(string) + `"}`}), 401, "invalid_token")
	if r := s.do(t, req{method: "GET", path: "/protected", headers: bearer(next["access_token"].(string))}); r.StatusCode != 401 {
		t.Fatalf("reusing a spent refresh token must end the family: %d", r.StatusCode)
	}
	// A fresh login, then logout.
	r = s.do(t, req{method: "POST", path: "/auth/token", body: "username=handler-user&password=password123", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if r.StatusCode != 200 {
		t.Fatalf("a form login: %d %s", r.StatusCode, r.body)
	}
	at := r.json(t)["access_token"].(string)
	if r := s.do(t, req{method: "POST", path: "/auth/logout", headers: bearer(at)}); r.StatusCode != 204 {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	expectError(t, s.do(t, req{method: "GET", path: "/protected", headers: bearer(at)}), 401, "invalid_token")
	expectError(t, s.do(t, req{method: "POST", path: "/auth/logout"}), 401, "invalid_token")
	r = s.do(t, req{method: "GET", path: "/auth/jwks.json"})
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"keys"`) {
		t.Fatalf("jwks: %d %s", r.StatusCode, r.body)
	}
	// Login CSRF: a browser's cross-site login is refused.
	r = s.do(t, req{method: "POST", path: "/auth/token", body: creds, headers: map[string]string{"Origin": "https://evil.example"}})
	expectError(t, r, 403, "csrf_failed")
}

func (s *suite) bodies(t *testing.T) {
	creds := `{"username":"body-user","password":"password123"}`
	expectError(t, s.do(t, req{method: "POST", path: "/auth/token", body: creds, headers: map[string]string{"Content-Type": "text/plain"}}), 415, "invalid_request")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(creds))
	zw.Close()
	expectError(t, s.do(t, req{method: "POST", path: "/auth/token", body: gz.String(), headers: map[string]string{"Content-Encoding": "gzip"}}), 415, "invalid_request")
	big := `{"username":"body-user","password":"` + strings.Repeat("p", 70<<10) + `"}`
	expectError(t, s.do(t, req{method: "POST", path: "/auth/token", body: big}), 413, "payload_too_large")
	expectError(t, s.do(t, req{method: "POST", path: "/auth/token", body: `{"username":`}), 400, "invalid_request")
	expectError(t, s.do(t, req{method: "POST", path: "/auth/token", body: `{"username":"a"}`}), 400, "invalid_request")
	expectError(t, s.do(t, req{method: "POST", path: "/auth/register", body: `{"username":"x","password":"password123"}`}), 400, "invalid_request")
}

func sessionCookie(t *testing.T, r resp) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookies() {
		if c.Name == "__Host-session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", r.Header["Set-Cookie"])
	return nil
}

func (s *suite) sessions(t *testing.T) {
	creds := `{"username":"session-user","password":"password123"}`
	if r := s.do(t, req{method: "POST", path: "/auth/register", body: creds}); r.StatusCode != 201 {
		t.Fatalf("register: %d %s", r.StatusCode, r.body)
	}
	r := s.do(t, req{method: "POST", path: "/auth/session/login", body: "username=session-user&password=password123", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://app.example"}})
	if r.StatusCode != 200 {
		t.Fatalf("session login: %d %s", r.StatusCode, r.body)
	}
	c := sessionCookie(t, r)
	if !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", c)
	}
	csrf, _ := r.json(t)["csrf_token"].(string)
	if csrf == "" {
		t.Fatal("no csrf_token")
	}
	cookie := &http.Cookie{Name: c.Name, Value: c.Value}
	if r := s.do(t, req{method: "GET", path: "/protected", cookie: cookie}); r.StatusCode != 200 || r.json(t)["auth_method"] != "session" {
		t.Fatalf("session GET: %d %s", r.StatusCode, r.body)
	}
	expectError(t, s.do(t, req{method: "POST", path: "/protected", cookie: cookie}), 403, "csrf_failed")
	if r := s.do(t, req{method: "POST", path: "/protected", cookie: cookie, headers: map[string]string{"X-CSRF-Token": csrf}}); r.StatusCode != 200 {
		t.Fatalf("session POST with CSRF: %d %s", r.StatusCode, r.body)
	}
	// A second device, listed and then deleted from the first.
	r = s.do(t, req{method: "POST", path: "/auth/token", body: creds, headers: map[string]string{"User-Agent": "second-device"}})
	other := r.json(t)["access_token"].(string)
	r = s.do(t, req{method: "GET", path: "/auth/sessions", cookie: cookie})
	var list struct {
		Sessions []struct {
			ID        string `json:"id"`
			UserAgent string `json:"user_agent"`
			Current   bool   `json:"current"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || len(list.Sessions) != 2 {
		t.Fatalf("sessions: %d %s", r.StatusCode, r.body)
	}
	var otherID string
	current := 0
	for _, x := range list.Sessions {
		if x.Current {
			current++
		} else {
			otherID = x.ID
		}
	}
	if current != 1 || otherID == "" {
		t.Fatalf("sessions %+v: want exactly one current", list.Sessions)
	}
	expectError(t, s.do(t, req{method: "DELETE", path: "/auth/sessions/" + otherID, cookie: cookie}), 403, "csrf_failed")
	if r := s.do(t, req{method: "DELETE", path: "/auth/sessions/" + otherID, cookie: cookie, headers: map[string]string{"X-CSRF-Token": csrf}}); r.StatusCode != 204 {
		t.Fatalf("delete session: %d %s", r.StatusCode, r.body)
	}
	expectError(t, s.do(t, req{method: "GET", path: "/protected", headers: bearer(other)}), 401, "invalid_token")
	expectError(t, s.do(t, req{method: "DELETE", path: "/auth/sessions/no-such-session", cookie: cookie, headers: map[string]string{"X-CSRF-Token": csrf}}), 404, "invalid_request")
	// Logout clears the cookie with the attributes a __Host- cookie needs to be dropped.
	r = s.do(t, req{method: "POST", path: "/auth/session/logout", cookie: cookie, headers: map[string]string{"X-CSRF-Token": csrf}})
	if r.StatusCode != 204 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("session logout: %d %v", r.StatusCode, r.Header)
	}
	cleared := sessionCookie(t, r)
	if cleared.MaxAge >= 0 || !cleared.Secure || cleared.Path != "/" {
		t.Fatalf("clearing cookie %+v", cleared)
	}
	expectError(t, s.do(t, req{method: "GET", path: "/protected", cookie: cookie}), 401, "invalid_token")
}
