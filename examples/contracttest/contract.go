// Package contracttest is the black-box test of the example apps' HTTP contract
// (examples/README.md). Run checks one running app; the package's tests build every
// example binary, start each as a real process on a free port and run the same checks.
package contracttest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Target is a running app.
type Target struct {
	Base          string
	AdminUser     string
	AdminPassword string
	// CookieName is __Host-session, or session with AUTHFRAME_INSECURE_COOKIES=1.
	CookieName string
	// Secrets collects every secret the checks used, for the log scan.
	Secrets *Secrets
}

// Secrets is a concurrency-safe list of strings that must never appear in logs.
type Secrets struct {
	mu   sync.Mutex
	list []string
}

// Add records secrets.
func (s *Secrets) Add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range v {
		if len(x) >= 8 {
			s.list = append(s.list, x)
		}
	}
}

// List returns the recorded secrets.
func (s *Secrets) List() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.list...)
}

var client = &http.Client{Transport: ValidatingTransport{}, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var userSeq atomic.Int64

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1e9, userSeq.Add(1))
}

// Resp is a response with its body read.
type Resp struct {
	*http.Response
	Body []byte
}

// JSON decodes the body.
func (r Resp) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", r.Request.Method, r.Request.URL.Path, r.Body)
	}
	return m
}

// Req is one request.
type Req struct {
	Method, Path string
	JSON         any
	Raw          string
	ContentType  string
	Bearer       string
	Cookie       string
	CSRF         string
	Header       map[string]string
}

// Do sends a request.
func (tg Target) Do(t *testing.T, r Req) Resp {
	t.Helper()
	var body io.Reader
	ct := r.ContentType
	if r.JSON != nil {
		b, _ := json.Marshal(r.JSON)
		body = bytes.NewReader(b)
		if ct == "" {
			ct = "application/json"
		}
	} else if r.Raw != "" {
		body = strings.NewReader(r.Raw)
	}
	req, err := http.NewRequest(r.Method, tg.Base+r.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.Bearer)
	}
	if r.Cookie != "" {
		req.Header.Set("Cookie", tg.CookieName+"="+r.Cookie)
	}
	if r.CSRF != "" {
		req.Header.Set("X-CSRF-Token", r.CSRF)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Resp{Response: resp, Body: b}
}

// Expect fails unless the response has the status (and, for failures, the contract's
// error shape with the code).
func Expect(t *testing.T, r Resp, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s = %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
	}
	if status >= 400 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s: failure body %q is not the contract's error shape", r.Request.Method, r.Request.URL.Path, r.Body)
		}
		if code != "" && e.Error.Code != code {
			t.Fatalf("%s %s: code %q, want %q", r.Request.Method, r.Request.URL.Path, e.Error.Code, code)
		}
		if e.RequestID == "" || e.RequestID != r.Header.Get("X-Request-ID") {
			t.Fatalf("%s %s: request_id %q, X-Request-ID header %q", r.Request.Method, r.Request.URL.Path, e.RequestID, r.Header.Get("X-Request-ID"))
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %s: failure Content-Type %q", r.Request.Method, r.Request.URL.Path, ct)
		}
	}
}

// Pair is a token pair.
type Pair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Register registers a fresh user and returns its name and password.
func (tg Target) Register(t *testing.T, prefix string) (string, string) {
	t.Helper()
	name, pass := uniqueName(prefix), "pw-"+uniqueName("secret")
	tg.Secrets.Add(pass)
	r := tg.Do(t, Req{Method: "POST", Path: "/auth/register", JSON: map[string]string{"username": name, "password": pass}})
	Expect(t, r, 201, "")
	if id, _ := r.JSON(t)["user_id"].(string); id == "" {
		t.Fatalf("register answered %s", r.Body)
	}
	return name, pass
}

// Token logs in for a token pair.
func (tg Target) Token(t *testing.T, name, pass string) Pair {
	t.Helper()
	r := tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": name, "password": pass}})
	Expect(t, r, 200, "")
	var p Pair
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.AccessToken == "" || p.RefreshToken == "" || p.TokenType != "Bearer" || p.ExpiresIn <= 0 {
		t.Fatalf("token answer %s", r.Body)
	}
	tg.Secrets.Add(p.AccessToken, p.RefreshToken)
	return p
}

// Session logs in with a cookie and returns the cookie value and CSRF token.
func (tg Target) Session(t *testing.T, name, pass string) (cookie, csrf string, resp Resp) {
	t.Helper()
	resp = tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": pass}})
	Expect(t, resp, 200, "")
	csrf, _ = resp.JSON(t)["csrf_token"].(string)
	for _, c := range resp.Cookies() {
		if c.Name == tg.CookieName {
			cookie = c.Value
		}
	}
	if cookie == "" || csrf == "" {
		t.Fatalf("session login: cookie %q csrf %q; headers %v", cookie, csrf, resp.Header)
	}
	tg.Secrets.Add(cookie, csrf)
	return cookie, csrf, resp
}

// Run runs every check of the contract against tg.
func Run(t *testing.T, tg Target) {
	t.Run("health, metrics and JWKS", func(t *testing.T) { checkPublic(t, tg) })
	t.Run("registration", func(t *testing.T) { checkRegister(t, tg) })
	t.Run("token login", func(t *testing.T) { checkToken(t, tg) })
	t.Run("bearer authentication", func(t *testing.T) { checkBearer(t, tg) })
	t.Run("admin role", func(t *testing.T) { checkAdmin(t, tg) })
	t.Run("refresh rotation and reuse", func(t *testing.T) { checkRefresh(t, tg) })
	t.Run("concurrent refresh of one token", func(t *testing.T) { checkConcurrentRefresh(t, tg) })
	t.Run("bearer logout", func(t *testing.T) { checkBearerLogout(t, tg) })
	t.Run("session login, cookie and CSRF", func(t *testing.T) { checkSession(t, tg) })
	t.Run("session fixation", func(t *testing.T) { checkFixation(t, tg) })
	t.Run("session listing and deletion", func(t *testing.T) { checkSessions(t, tg) })
	t.Run("session logout", func(t *testing.T) { checkSessionLogout(t, tg) })
	t.Run("login rate limit", func(t *testing.T) { checkRateLimit(t, tg) })
	t.Run("body limit and errors", func(t *testing.T) { checkErrors(t, tg) })
	t.Run("encoded bodies are refused unread", func(t *testing.T) { checkContentEncoding(t, tg) })
	t.Run("request ids", func(t *testing.T) { checkRequestID(t, tg) })
	t.Run("login CSRF", func(t *testing.T) { checkLoginCSRF(t, tg) })
	t.Run("roles of registered users", func(t *testing.T) { checkUserRole(t, tg) })
	RunServices(t, tg)
	RunMFA(t, tg)
	t.Run("sender-constrained tokens (DPoP)", func(t *testing.T) { RunDPoP(t, tg) })
}

// checkLoginCSRF: a login a browser sent from another site is refused before the
// credentials are even looked at; one from the app's own origin passes.
func checkLoginCSRF(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "lcsrf")
	creds := map[string]string{"username": name, "password": pass}
	form := "username=" + url.QueryEscape(name) + "&password=" + url.QueryEscape(pass)
	for _, path := range []string{"/auth/token", "/session/login"} {
		for _, h := range []map[string]string{
			{"Origin": "http://evil.example"},
			{"Origin": "null"},
			{"Sec-Fetch-Site": "cross-site"},
			{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
		} {
			Expect(t, tg.Do(t, Req{Method: "POST", Path: path, JSON: creds, Header: h}), 403, "csrf_failed")
		}
		Expect(t, tg.Do(t, Req{Method: "POST", Path: path, Raw: form, ContentType: "application/x-www-form-urlencoded", Header: map[string]string{"Origin": "https://attacker.example"}}), 403, "csrf_failed")
		r := tg.Do(t, Req{Method: "POST", Path: path, JSON: creds, Header: map[string]string{"Origin": tg.Base, "Sec-Fetch-Site": "same-origin"}})
		Expect(t, r, 200, "")
	}
}

// checkUserRole: every registered user has role user, holding read:notes and write:notes.
func checkUserRole(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "role")
	p := tg.Token(t, name, pass)
	r := tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: p.AccessToken})
	Expect(t, r, 200, "")
	var me struct {
		Roles       []string `json:"roles"`
		Permissions []string `json:"permissions"`
	}
	if err := json.Unmarshal(r.Body, &me); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(me.Roles, []string{"user"}) || !slices.Contains(me.Permissions, "read:notes") || !slices.Contains(me.Permissions, "write:notes") {
		t.Fatalf("a registered user's roles %v and permissions %v, want [user] with read:notes and write:notes", me.Roles, me.Permissions)
	}
}

func checkPublic(t *testing.T, tg Target) {
	r := tg.Do(t, Req{Method: "GET", Path: "/healthz"})
	Expect(t, r, 200, "")
	if r.JSON(t)["status"] != "ok" {
		t.Fatalf("healthz %s", r.Body)
	}
	r = tg.Do(t, Req{Method: "GET", Path: "/metrics"})
	Expect(t, r, 200, "")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") && !strings.Contains(ct, "openmetrics") {
		t.Fatalf("metrics Content-Type %q", ct)
	}
	r = tg.Do(t, Req{Method: "GET", Path: "/.well-known/jwks.json"})
	Expect(t, r, 200, "")
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil || set.Keys == nil {
		t.Fatalf("jwks %s", r.Body)
	}
	for _, k := range set.Keys {
		if k["kid"] == "" || k["d"] != nil {
			t.Fatalf("jwks key %v lacks a kid or leaks private material", k)
		}
	}
}

func checkRegister(t *testing.T, tg Target) {
	name, _ := tg.Register(t, "reg")
	cases := []struct {
		name string
		body any
		raw  string
		code int
	}{
		{"a duplicate username", map[string]string{"username": name, "password": "password123"}, "", 409},
		{"a two-letter username", map[string]string{"username": "ab", "password": "password123"}, "", 400},
		{"a 65-character username", map[string]string{"username": strings.Repeat("a", 65), "password": "password123"}, "", 400},
		{"a username with a slash", map[string]string{"username": "a/b/c", "password": "password123"}, "", 400},
		{"a 7-byte password", map[string]string{"username": uniqueName("u"), "password": "1234567"}, "", 400},
		{"a 257-byte password", map[string]string{"username": uniqueName("u"), "password": strings.Repeat("x", 257)}, "", 400},
		{"a missing password", map[string]string{"username": uniqueName("u")}, "", 400},
		{"malformed JSON", nil, "{not json", 400},
	}
	for _, c := range cases {
		r := tg.Do(t, Req{Method: "POST", Path: "/auth/register", JSON: c.body, Raw: c.raw, ContentType: "application/json"})
		code := map[int]string{400: "invalid_request", 409: "conflict"}[c.code]
		if r.StatusCode != c.code {
			t.Fatalf("%s: %d %s, want %d", c.name, r.StatusCode, r.Body, c.code)
		}
		Expect(t, r, c.code, code)
	}
	// Boundaries that must pass.
	r := tg.Do(t, Req{Method: "POST", Path: "/auth/register", JSON: map[string]string{"username": "a.b_c@d-" + uniqueName(""), "password": "12345678"}})
	Expect(t, r, 201, "")
}

func checkToken(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "tok")
	tg.Token(t, name, pass)
	wrong := tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": name, "password": "wrong-password"}})
	Expect(t, wrong, 401, "invalid_credentials")
	unknown := tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": uniqueName("ghost"), "password": "wrong-password"}})
	Expect(t, unknown, 401, "invalid_credentials")
	strip := func(r Resp) string {
		m := r.JSON(t)
		delete(m, "request_id")
		b, _ := json.Marshal(m)
		return string(b) + r.Header.Get("WWW-Authenticate")
	}
	if strip(wrong) != strip(unknown) {
		t.Fatalf("wrong password and unknown user answer differently: %s / %s", wrong.Body, unknown.Body)
	}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": name}}), 400, "invalid_request")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/token", Raw: "[]", ContentType: "application/json"}), 400, "invalid_request")
}

func checkBearer(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "bear")
	p := tg.Token(t, name, pass)
	r := tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: p.AccessToken})
	Expect(t, r, 200, "")
	me := r.JSON(t)
	if me["username"] != name || me["auth_method"] != "bearer" || me["user_id"] == "" {
		t.Fatalf("/api/me %s", r.Body)
	}
	if _, ok := me["roles"].([]any); !ok {
		t.Fatalf("/api/me roles is not an array: %s", r.Body)
	}
	if _, ok := me["permissions"].([]any); !ok {
		t.Fatalf("/api/me permissions is not an array: %s", r.Body)
	}
	r = tg.Do(t, Req{Method: "GET", Path: "/api/me", Header: map[string]string{"Authorization": "bearer " + p.AccessToken}})
	Expect(t, r, 200, "")

	r = tg.Do(t, Req{Method: "GET", Path: "/api/me"})
	Expect(t, r, 401, "invalid_token")
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Bearer realm="authframe"`) || strings.Contains(h, "error=") {
		t.Fatalf("no-token challenge %q", h)
	}
	r = tg.Do(t, Req{Method: "GET", Path: "/api/me?access_token=" + url.QueryEscape(p.AccessToken)})
	Expect(t, r, 401, "invalid_token")
	for _, bad := range []string{"not.a.token", p.AccessToken[:len(p.AccessToken)-4] + "AAAA", strings.Repeat("a", 9000)} {
		r = tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: bad})
		Expect(t, r, 401, "invalid_token")
		if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `Bearer realm="authframe"`) || !strings.Contains(h, `error="invalid_token"`) {
			t.Fatalf("bad-token challenge %q", h)
		}
	}
	r = tg.Do(t, Req{Method: "POST", Path: "/api/echo", Bearer: p.AccessToken, Raw: `{"a":[1,2,{"b":"c"}]}`, ContentType: "application/json"})
	Expect(t, r, 200, "")
	var echoed map[string]any
	if json.Unmarshal(r.Body, &echoed) != nil || fmt.Sprint(echoed["a"]) != "[1 2 map[b:c]]" {
		t.Fatalf("echo %s", r.Body)
	}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/echo", Bearer: p.AccessToken, Raw: `{"a":`, ContentType: "application/json"}), 400, "invalid_request")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/echo", Raw: `{}`, ContentType: "application/json"}), 401, "invalid_token")
}

func checkAdmin(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "plain")
	p := tg.Token(t, name, pass)
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/admin", Bearer: p.AccessToken}), 403, "forbidden")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/admin"}), 401, "invalid_token")
	if tg.AdminUser == "" {
		return
	}
	admin := tg.Token(t, tg.AdminUser, tg.AdminPassword)
	r := tg.Do(t, Req{Method: "GET", Path: "/api/admin", Bearer: admin.AccessToken})
	Expect(t, r, 200, "")
	if r.JSON(t)["ok"] != true {
		t.Fatalf("/api/admin %s", r.Body)
	}
	cookie, _, _ := tg.Session(t, tg.AdminUser, tg.AdminPassword)
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/admin", Cookie: cookie}), 200, "")
}

func refresh(t *testing.T, tg Target, rt string) Resp {
	t.Helper()
	return tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: map[string]string{"refresh_token": rt}})
}

func checkRefresh(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "ref")
	first := tg.Token(t, name, pass)
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: first.AccessToken}), 200, "")
	r := refresh(t, tg, first.RefreshToken)
	Expect(t, r, 200, "")
	var second Pair
	json.Unmarshal(r.Body, &second)
	tg.Secrets.Add(second.AccessToken, second.RefreshToken)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" || second.TokenType != "Bearer" {
		t.Fatalf("refresh answer %s", r.Body)
	}
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: second.AccessToken}), 200, "")
	// Replaying the spent token revokes the whole family.
	Expect(t, refresh(t, tg, first.RefreshToken), 401, "invalid_token")
	Expect(t, refresh(t, tg, second.RefreshToken), 401, "invalid_token")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: second.AccessToken}), 401, "invalid_token")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: first.AccessToken}), 401, "invalid_token")
	Expect(t, refresh(t, tg, "garbage"), 401, "invalid_token")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: map[string]string{}}), 400, "invalid_request")
}

func checkConcurrentRefresh(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "conc")
	p := tg.Token(t, name, pass)
	var ok, unauthorized atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := refresh(t, tg, p.RefreshToken)
			switch r.StatusCode {
			case 200:
				ok.Add(1)
				var np Pair
				json.Unmarshal(r.Body, &np)
				tg.Secrets.Add(np.AccessToken, np.RefreshToken)
			case 401:
				unauthorized.Add(1)
			default:
				t.Errorf("concurrent refresh answered %d %s", r.StatusCode, r.Body)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d of 10 concurrent refreshes of one token succeeded, want exactly 1", ok.Load())
	}
}

func checkBearerLogout(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "out")
	p := tg.Token(t, name, pass)
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: p.AccessToken}), 200, "")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/logout"}), 401, "invalid_token")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/logout", Bearer: p.AccessToken}), 204, "")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: p.AccessToken}), 401, "invalid_token")
	Expect(t, refresh(t, tg, p.RefreshToken), 401, "invalid_token")
	// Another login of the same user is unaffected.
	q := tg.Token(t, name, pass)
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: q.AccessToken}), 200, "")
}

func setCookie(t *testing.T, r Resp, name string) string {
	t.Helper()
	for _, h := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, name+"=") {
			return h
		}
	}
	t.Fatalf("no Set-Cookie for %s in %v", name, r.Header.Values("Set-Cookie"))
	return ""
}

func checkSession(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "sess")
	cookie, csrf, resp := tg.Session(t, name, pass)
	sc := setCookie(t, resp, tg.CookieName)
	attrs := strings.ToLower(sc)
	for _, want := range []string{"httponly", "samesite=lax", "path=/"} {
		if !strings.Contains(attrs, want) {
			t.Fatalf("session cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(attrs, "domain=") {
		t.Fatalf("session cookie %q has a Domain", sc)
	}
	if tg.CookieName == "__Host-session" && !strings.Contains(attrs, "secure") {
		t.Fatalf("__Host- cookie %q lacks Secure", sc)
	}
	if len(cookie) < 22 {
		t.Fatalf("session id %q is too short for 128 bits", cookie)
	}
	r := tg.Do(t, Req{Method: "GET", Path: "/api/me", Cookie: cookie})
	Expect(t, r, 200, "")
	if me := r.JSON(t); me["auth_method"] != "session" || me["username"] != name {
		t.Fatalf("/api/me over a session: %s", r.Body)
	}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/echo", Cookie: cookie, Raw: `{"x":1}`, ContentType: "application/json"}), 403, "csrf_failed")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/echo", Cookie: cookie, CSRF: "wrong", Raw: `{"x":1}`, ContentType: "application/json"}), 403, "csrf_failed")
	r = tg.Do(t, Req{Method: "POST", Path: "/api/echo", Cookie: cookie, CSRF: csrf, Raw: `{"x":1}`, ContentType: "application/json"})
	Expect(t, r, 200, "")
	if strings.TrimSpace(string(r.Body)) != `{"x":1}` {
		t.Fatalf("echo over a session: %s", r.Body)
	}
	// A CSRF token of another session fails in this one.
	other, otherPass := tg.Register(t, "sess2")
	_, otherCSRF, _ := tg.Session(t, other, otherPass)
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/echo", Cookie: cookie, CSRF: otherCSRF, Raw: `{}`, ContentType: "application/json"}), 403, "csrf_failed")
	// The urlencoded form logs in too.
	form := tg.Do(t, Req{Method: "POST", Path: "/session/login", Raw: url.Values{"username": {name}, "password": {pass}}.Encode(), ContentType: "application/x-www-form-urlencoded"})
	Expect(t, form, 200, "")
	if form.JSON(t)["csrf_token"] == "" {
		t.Fatalf("form login %s", form.Body)
	}
	// An unknown cookie is a 401.
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Cookie: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}), 401, "")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": "bad-password"}}), 401, "invalid_credentials")
}

func checkFixation(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "fix")
	old, _, _ := tg.Session(t, name, pass)
	r := tg.Do(t, Req{Method: "POST", Path: "/session/login", Cookie: old, JSON: map[string]string{"username": name, "password": pass}})
	Expect(t, r, 200, "")
	sc := setCookie(t, r, tg.CookieName)
	if strings.Contains(sc, "="+old+";") {
		t.Fatalf("login adopted the presented session id")
	}
	planted := "PLANTEDPLANTEDPLANTEDPLANTEDPLANTEDPLANTED1"
	r = tg.Do(t, Req{Method: "POST", Path: "/session/login", Cookie: planted, JSON: map[string]string{"username": name, "password": pass}})
	Expect(t, r, 200, "")
	if strings.Contains(setCookie(t, r, tg.CookieName), planted) {
		t.Fatal("login adopted a client-chosen session id")
	}
}

type sessionsAnswer struct {
	Sessions []struct {
		ID         string `json:"id"`
		CreatedAt  string `json:"created_at"`
		LastSeenAt string `json:"last_seen_at"`
		UserAgent  string `json:"user_agent"`
		IP         string `json:"ip"`
		Current    bool   `json:"current"`
	} `json:"sessions"`
}

func listSessions(t *testing.T, tg Target, r Req) sessionsAnswer {
	t.Helper()
	r.Method, r.Path = "GET", "/api/sessions"
	resp := tg.Do(t, r)
	Expect(t, resp, 200, "")
	var a sessionsAnswer
	if err := json.Unmarshal(resp.Body, &a); err != nil || a.Sessions == nil {
		t.Fatalf("/api/sessions %s", resp.Body)
	}
	for _, s := range a.Sessions {
		for _, ts := range []string{s.CreatedAt, s.LastSeenAt} {
			if _, err := time.Parse(time.RFC3339, ts); err != nil {
				t.Fatalf("session time %q is not RFC 3339", ts)
			}
		}
		if s.ID == "" {
			t.Fatalf("session without id: %s", resp.Body)
		}
	}
	return a
}

func checkSessions(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "list")
	cookie, csrf, _ := tg.Session(t, name, pass)
	phone := tg.Token(t, name, pass)
	a := listSessions(t, tg, Req{Cookie: cookie, Header: map[string]string{"User-Agent": "contract-browser"}})
	if len(a.Sessions) != 2 {
		t.Fatalf("want 2 sessions, got %+v", a.Sessions)
	}
	current, phoneID := 0, ""
	for _, s := range a.Sessions {
		if s.Current {
			current++
		} else {
			phoneID = s.ID
		}
		if strings.Contains(cookie, s.ID) && len(s.ID) > 8 {
			t.Fatalf("session listing exposes the cookie value")
		}
	}
	if current != 1 || phoneID == "" {
		t.Fatalf("want exactly one current session: %+v", a.Sessions)
	}
	b := listSessions(t, tg, Req{Bearer: phone.AccessToken})
	for _, s := range b.Sessions {
		if s.Current != (s.ID == phoneID) {
			t.Fatalf("for a bearer caller the current session is the token's: %+v", b.Sessions)
		}
	}
	// Someone else's id is a 404; a session DELETE needs CSRF.
	other, otherPass := tg.Register(t, "list2")
	otherTok := tg.Token(t, other, otherPass)
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/sessions/" + phoneID, Bearer: otherTok.AccessToken}), 404, "")
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/sessions/no-such-session", Cookie: cookie, CSRF: csrf}), 404, "")
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/sessions/" + phoneID, Cookie: cookie}), 403, "csrf_failed")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: phone.AccessToken}), 200, "")
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/sessions/" + phoneID, Cookie: cookie, CSRF: csrf}), 204, "")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: phone.AccessToken}), 401, "invalid_token")
	Expect(t, refresh(t, tg, phone.RefreshToken), 401, "invalid_token")
	if a := listSessions(t, tg, Req{Cookie: cookie}); len(a.Sessions) != 1 {
		t.Fatalf("after deletion: %+v", a.Sessions)
	}
	// A bearer caller deletes a browser session without CSRF.
	p2 := tg.Token(t, name, pass)
	var browserID string
	for _, s := range listSessions(t, tg, Req{Cookie: cookie}).Sessions {
		if s.Current {
			browserID = s.ID
		}
	}
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/sessions/" + browserID, Bearer: p2.AccessToken}), 204, "")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Cookie: cookie}), 401, "")
}

func checkSessionLogout(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "slo")
	cookie, csrf, _ := tg.Session(t, name, pass)
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/logout", Cookie: cookie}), 403, "csrf_failed")
	r := tg.Do(t, Req{Method: "POST", Path: "/session/logout", Cookie: cookie, CSRF: csrf})
	Expect(t, r, 204, "")
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("logout Cache-Control %q", cc)
	}
	sc := strings.ToLower(setCookie(t, r, tg.CookieName))
	if !strings.Contains(sc, "path=/") || !(strings.Contains(sc, "max-age=0") || strings.Contains(sc, "expires=thu, 01 jan 1970")) {
		t.Fatalf("logout cookie %q does not expire the cookie", sc)
	}
	if tg.CookieName == "__Host-session" && !strings.Contains(sc, "secure") {
		t.Fatalf("logout cookie %q lacks Secure", sc)
	}
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Cookie: cookie}), 401, "")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/logout"}), 401, "")
}

func checkRateLimit(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "rl")
	for i := 0; i < 5; i++ {
		Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": name, "password": "wrong-password"}}), 401, "invalid_credentials")
		Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": "wrong-password"}}), 401, "invalid_credentials")
	}
	// Ten attempts across both endpoints: the eleventh is refused, even with the right
	// password.
	r := tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": name, "password": pass}})
	Expect(t, r, 429, "rate_limited")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("429 without a useful Retry-After: %q", ra)
	}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": pass}}), 429, "rate_limited")
	// Unknown usernames are limited the same way.
	ghost := uniqueName("ghost")
	for i := 0; i < 10; i++ {
		tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": ghost, "password": "whatever1"}})
	}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": ghost, "password": "whatever1"}}), 429, "rate_limited")
}

func checkErrors(t *testing.T, tg Target) {
	big := `{"username":"` + strings.Repeat("a", 70<<10) + `","password":"password123"}`
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/register", Raw: big, ContentType: "application/json"}), 413, "payload_too_large")
	name, pass := tg.Register(t, "err")
	p := tg.Token(t, name, pass)
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/echo", Bearer: p.AccessToken, Raw: `{"x":"` + strings.Repeat("b", 65<<10) + `"}`, ContentType: "application/json"}), 413, "payload_too_large")
	r := tg.Do(t, Req{Method: "GET", Path: "/no/such/route"})
	if r.StatusCode != 404 && r.StatusCode != 405 {
		t.Fatalf("unknown route %d", r.StatusCode)
	}
}

// checkContentEncoding defends the body limit: an app that decompressed a request body
// would let a few hundred kilobytes expand to gigabytes before the 64 KiB check. Every
// coding but identity is refused with 415, even one wrapping valid credentials.
func checkContentEncoding(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "enc")
	creds, _ := json.Marshal(map[string]string{"username": name, "password": pass})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(creds)
	zw.Close()
	for _, enc := range []string{"gzip", "GZip", "x-gzip", "deflate", "br", "zstd", "gzip, gzip", "identity, gzip", "unknown-coding"} {
		r := tg.Do(t, Req{Method: "POST", Path: "/auth/token", Raw: gz.String(), ContentType: "application/json", Header: map[string]string{"Content-Encoding": enc}})
		if r.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("Content-Encoding %q: %d %s, want 415", enc, r.StatusCode, r.Body)
		}
		Expect(t, r, http.StatusUnsupportedMediaType, "invalid_request")
		if ae := r.Header.Get("Accept-Encoding"); ae != "identity" {
			t.Fatalf("Content-Encoding %q: the 415 says Accept-Encoding %q, want identity", enc, ae)
		}
	}
	p := tg.Token(t, name, pass)
	r := tg.Do(t, Req{Method: "POST", Path: "/api/echo", Bearer: p.AccessToken, Raw: gz.String(), ContentType: "application/json", Header: map[string]string{"Content-Encoding": "gzip"}})
	Expect(t, r, http.StatusUnsupportedMediaType, "invalid_request")
	// identity is no coding at all: the body is read as it is.
	r = tg.Do(t, Req{Method: "POST", Path: "/auth/token", Raw: string(creds), ContentType: "application/json", Header: map[string]string{"Content-Encoding": "identity"}})
	Expect(t, r, http.StatusOK, "")
}

func checkRequestID(t *testing.T, tg Target) {
	r := tg.Do(t, Req{Method: "GET", Path: "/api/me", Header: map[string]string{"X-Request-ID": "contract-req-42"}})
	Expect(t, r, 401, "")
	if r.Header.Get("X-Request-ID") != "contract-req-42" || r.JSON(t)["request_id"] != "contract-req-42" {
		t.Fatalf("request id not echoed: %v %s", r.Header.Get("X-Request-ID"), r.Body)
	}
	r = tg.Do(t, Req{Method: "GET", Path: "/api/me", Header: map[string]string{"X-Request-ID": "bad id <script>"}})
	if id := r.Header.Get("X-Request-ID"); id == "" || strings.Contains(id, "<") {
		t.Fatalf("unsafe request id echoed: %q", id)
	}
}

// Metrics are the series every example's /metrics shows after a contract run.
var Metrics = []string{
	`authframe_validations_total{result="ok",tier="lru"}`,
	`authframe_validations_total{result="ok",tier="verify"}`,
	`authframe_validation_duration_seconds_bucket`,
	`authframe_cache_hits_total{tier="lru"}`,
	`authframe_cache_misses_total{tier="lru"}`,
	`authframe_logins_total{result="ok"}`,
	`authframe_logins_total{result="bad_password"}`,
	`authframe_refresh_reuse_total`,
	`authframe_revocations_total{kind="session"}`,
	`authframe_rate_limited_total`,
	`authframe_sessions_active`,
	`authframe_store_errors_total`,
	`authframe_cache_errors_total`,
}

// checkMetricsAfterRun reads /metrics after Run and finds every metric of Metrics, with
// the events of the run counted (a login, a reuse, a rate limit all happened).
func checkMetricsAfterRun(t *testing.T, tg Target) {
	t.Helper()
	r := tg.Do(t, Req{Method: "GET", Path: "/metrics"})
	Expect(t, r, http.StatusOK, "")
	body := string(r.Body)
	for _, m := range Metrics {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	for _, m := range []string{"authframe_refresh_reuse_total", "authframe_rate_limited_total", `authframe_logins_total{result="ok"}`} {
		if v := metricValue(body, m); v < 1 {
			t.Errorf("%s = %v after a contract run, want ≥ 1", m, v)
		}
	}
}

// metricValue is the value of the first sample line that starts with name (-1 if none).
func metricValue(body, name string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}
