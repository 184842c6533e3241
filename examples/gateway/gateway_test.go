package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/apikey"
	"github.com/authframe/authframe/core/oauth"
)

func TestForwardsAnAuthenticatedRequestWithTheCallersIdentity(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("X-Request-ID", "the-upstream-s-own")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "echo:"+string(b))
	})
	g := startGateway(t, up, "AUTHFRAME_UPSTREAM="+up.URL+"/svc")
	u, tok := login(t, g.app, "user", "editor")

	resp, body := g.do(t, "POST", "/api/items?x=1&y=two%20words", "hello",
		"Authorization", "Bearer "+tok, "X-Custom", "v1", "Content-Type", "text/plain")
	if resp.StatusCode != http.StatusCreated || body != "echo:hello" || resp.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("answer %d %q %v, want the upstream's 201", resp.StatusCode, body, resp.Header)
	}
	id := resp.Header.Values("X-Request-ID")
	if len(id) != 1 || id[0] == "" || id[0] == "the-upstream-s-own" {
		t.Fatalf("X-Request-ID %q, want the gateway's own, once", id)
	}

	s := up.last(t)
	if s.Method != "POST" || s.RequestURI != "/svc/api/items?x=1&y=two%20words" {
		t.Fatalf("the upstream saw %s %s", s.Method, s.RequestURI)
	}
	want := map[string][]string{
		"X-Custom":           {"v1"},
		"Content-Type":       {"text/plain"},
		"X-User-Id":          {u.ID},
		"X-User-Name":        {u.Username},
		"X-User-Roles":       {"user,editor"},
		"X-User-Permissions": {"read:notes,write:notes"},
		"X-Auth-Method":      {"bearer"},
		"X-Request-Id":       id,
		"X-Forwarded-For":    {"127.0.0.1"},
		"X-Forwarded-Host":   {g.addr},
		"X-Forwarded-Proto":  {"http"},
		"Authorization":      nil,
	}
	for k, v := range want {
		if got := s.Header.Values(k); !slices.Equal(got, v) {
			t.Errorf("the upstream saw %s: %q, want %q", k, got, v)
		}
	}
}

func TestRefusedRequestsNeverReachTheUpstream(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up, "AUTHFRAME_GATEWAY_REQUIRE=/admin/=admin")
	u, tok := login(t, g.app, "user")
	grant, err := g.app.Guard.StartSession(context.Background(), u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	session := grant.Cookie.Name + "=" + grant.Cookie.Value

	cases := []struct {
		name   string
		lines  []string
		status int
		code   string
		// challenge is what WWW-Authenticate must start with, "" for none required.
		challenge string
	}{
		{"no credentials", []string{"GET /api/x HTTP/1.1"}, 401, "invalid_token", `Bearer realm="authframe"`},
		{"a token that is not one", []string{"GET /api/x HTTP/1.1", "Authorization: Bearer not-a-token"}, 401, "invalid_token", `Bearer realm="authframe", error="invalid_token"`},
		{"a token in the query string", []string{"GET /api/x?access_token=" + tok + " HTTP/1.1"}, 401, "invalid_token", `Bearer realm="authframe"`},
		{"a live session cookie: cookies are not credentials here", []string{"GET /api/x HTTP/1.1", "Cookie: " + session}, 401, "invalid_token", ""},
		{"a token without the role a rule requires", []string{"GET /admin/users HTTP/1.1", "Authorization: Bearer " + tok}, 403, "forbidden", ""},
		{"a dot segment out of the public prefix", []string{"GET /public/../api/x HTTP/1.1"}, 401, "invalid_token", ""},
		{"an encoded dot segment out of the public prefix", []string{"GET /public/%2e%2e/api/x HTTP/1.1"}, 401, "invalid_token", ""},
		{"an encoded slash and dot segment out of the public prefix", []string{"GET /public/..%2Fapi/x HTTP/1.1"}, 401, "invalid_token", ""},
		{"the public prefix without its slash", []string{"GET /public HTTP/1.1"}, 401, "invalid_token", ""},
		{"a target that is not a path", []string{"GET * HTTP/1.1"}, 400, "invalid_request", ""},
		{"a tunnel", []string{"CONNECT 127.0.0.1:22 HTTP/1.1"}, 405, "invalid_request", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := raw(t, g.addr, c.lines...)
			expectError(t, resp, body, c.status, c.code)
			if c.challenge != "" && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), c.challenge) {
				t.Fatalf("WWW-Authenticate %q, want %s...", resp.Header.Get("WWW-Authenticate"), c.challenge)
			}
		})
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("the upstream saw %d refused requests", n)
	}
}

func TestTheLongestMatchingRuleApplies(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up, "AUTHFRAME_GATEWAY_REQUIRE=/admin/=admin, /api/=admin, /api/notes/=read:notes, /reports=read:reports")
	_, user := login(t, g.app, "user") // read:notes and write:notes
	_, admin := login(t, g.app, "admin")

	cases := []struct {
		token, path string
		status      int
	}{
		{user, "/api/notes/1", 200}, // the longer /api/notes/ rule, not /api/
		{user, "/api/other", 403},
		{user, "/api/", 403},
		{user, "/admin/", 403},
		{admin, "/admin/", 200},
		{admin, "/api/notes/1", 200},
		{user, "/reports", 403},
		{user, "/reports/q1", 403},
		{user, "/reportsx", 200}, // /reports covers itself and below, not a longer name
		{user, "/elsewhere", 200},
	}
	forwarded := 0
	for _, c := range cases {
		resp, body := g.do(t, "GET", c.path, "", "Authorization", "Bearer "+c.token)
		if resp.StatusCode != c.status {
			t.Errorf("GET %s = %d %s, want %d", c.path, resp.StatusCode, body, c.status)
		}
		if c.status == 403 {
			expectError(t, resp, body, 403, "forbidden")
		} else {
			forwarded++
		}
	}
	if n := len(up.requests()); n != forwarded {
		t.Fatalf("the upstream saw %d requests, want the %d allowed ones", n, forwarded)
	}
}

// TestPathsAreMatchedAndForwardedClean: the prefixes are matched against the cleaned path,
// and that is the path forwarded, so the upstream cannot resolve a path into one that was
// not authorized.
func TestPathsAreMatchedAndForwardedClean(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up)
	_, tok := login(t, g.app)
	cases := []struct {
		target string
		token  bool
		want   string // the upstream's request target
	}{
		{"/public/x?q=1", false, "/public/x?q=1"},
		{"//public/x", false, "/public/x"},
		{"/public//a/./b/", false, "/public/a/b/"},
		{"/x/../public/y", false, "/public/y"},
		{"/public/a%2Fb?q=%20", false, "/public/a%2Fb?q=%20"}, // clean already: the client's spelling stays
		{"/public/../admin", true, "/admin"},
		{"/api/./x/../y", true, "/api/y"},
	}
	for _, c := range cases {
		lines := []string{"GET " + c.target + " HTTP/1.1"}
		if c.token {
			lines = append(lines, "Authorization: Bearer "+tok)
		}
		resp, body := raw(t, g.addr, lines...)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", c.target, resp.StatusCode, body)
		}
		if s := up.last(t); s.RequestURI != c.want {
			t.Errorf("GET %s reached the upstream as %s, want %s", c.target, s.RequestURI, c.want)
		}
	}
}

// identityKey folds a header name as a CGI-style server does (case, "_" for "-").
func identityKey(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

func TestIdentityHeadersCannotBeSpoofed(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up)
	u, tok := login(t, g.app, "user")
	spoofed := []string{
		"x-user-id: someone-else",
		"X-USER-ID: someone-else-2",
		"X_User_Id: someone-else-3",
		"x-user-name: root",
		"X-User-Roles: admin",
		"x-user-roles: admin",
		"X-User-Permissions: *:*",
		"x_user_permissions: *:*",
		"x-auth-method: session",
		"X-Request-ID: chosen-by-the-client",
		"x-request-id: and-another",
	}
	for _, path := range []string{"/api/x", "/public/x"} {
		t.Run(path, func(t *testing.T) {
			lines := append([]string{"GET " + path + " HTTP/1.1", "Authorization: Bearer " + tok}, spoofed...)
			resp, body := raw(t, g.addr, lines...)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			rid := resp.Header.Values("X-Request-ID")
			if len(rid) != 1 || strings.Contains(rid[0], "client") || rid[0] == "and-another" {
				t.Fatalf("the answer's X-Request-ID is %q", rid)
			}
			want := map[string]string{"x-request-id": rid[0]}
			if path == "/api/x" {
				want["x-user-id"], want["x-user-name"], want["x-user-roles"] = u.ID, u.Username, "user"
				want["x-user-permissions"], want["x-auth-method"] = "read:notes,write:notes", "bearer"
			}
			s := up.last(t)
			got := map[string]string{}
			for k, v := range s.Header {
				key := identityKey(k)
				if !slices.Contains([]string{"x-user-id", "x-user-name", "x-user-roles", "x-user-permissions", "x-auth-method", "x-request-id"}, key) {
					continue
				}
				if _, dup := got[key]; dup || len(v) != 1 {
					t.Fatalf("the upstream saw %s more than once: %v", key, s.Header)
				}
				got[key] = v[0]
			}
			if len(got) != len(want) {
				t.Fatalf("the upstream saw identity headers %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("the upstream saw %s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestCredentialsAreNotForwardedAndOtherCookiesAre(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up)
	u, tok := login(t, g.app, "user")
	p, err := g.app.Guard.VerifyToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := apikey.Create(context.Background(), g.app.Guard, p, "gateway test", []string{"read:notes"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cookie := g.app.Guard.ClearSessionCookie().Name
	for name, c := range map[string]struct{ path, credential string }{
		"protected, bearer token": {"/api/x", "authorization: Bearer " + tok},
		"protected, API key":      {"/api/x", "X-API-Key: " + key},
		"public, both":            {"/public/x", "authorization: Bearer " + tok + "\r\nX-API-Key: afk_not-for-the-upstream"},
	} {
		t.Run(name, func(t *testing.T) {
			lines := []string{"GET " + c.path + " HTTP/1.1"}
			lines = append(lines, strings.Split(c.credential, "\r\n")...)
			lines = append(lines,
				"Cookie: theme=dark; "+cookie+"=the-session-id; lang=fr",
				"Cookie: "+cookie+"=another-session-id",
				"Cookie: a=b",
			)
			resp, body := raw(t, g.addr, lines...)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			s := up.last(t)
			for _, k := range []string{"Authorization", "X-Api-Key"} {
				if v := s.Header.Values(k); len(v) != 0 {
					t.Errorf("the upstream saw %s: %q", k, v)
				}
			}
			if got, want := s.Header.Values("Cookie"), []string{"theme=dark; lang=fr", "a=b"}; !slices.Equal(got, want) {
				t.Errorf("the upstream saw cookies %q, want %q", got, want)
			}
			if c.path == "/api/x" && s.Header.Get("X-User-Id") != u.ID {
				t.Errorf("the upstream saw X-User-Id %q, want %q", s.Header.Get("X-User-Id"), u.ID)
			}
		})
	}
}

// Service clients and API keys pass the gateway as users' tokens do, with their own auth
// method and permissions; a rule asking for a permission serves all three.
func TestAcceptsAPIKeysAndClientTokens(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up, "AUTHFRAME_GATEWAY_REQUIRE=/reports/=read:reports")
	ctx := context.Background()
	admin, tok := login(t, g.app, "admin")
	p, err := g.app.Guard.VerifyToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	k, key, err := apikey.Create(ctx, g.app.Guard, p, "reports job", []string{"read:reports"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := oauth.CreateClient(ctx, g.app.Guard, "billing", []string{"read:reports"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := oauth.AuthenticateClient(ctx, g.app.Guard, authframe.ClientInfo{}, c.ID, secret)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := oauth.IssueToken(ctx, g.app.Guard, cl, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, header, value, method, user string
	}{
		{"API key", "X-API-Key", key, "api_key", admin.ID},
		{"API key as a bearer token", "Authorization", "Bearer " + key, "api_key", admin.ID},
		{"client token", "Authorization", "Bearer " + ct.AccessToken, "client", c.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := g.do(t, "GET", "/reports/today", "", tc.header, tc.value)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			s := up.last(t)
			for h, want := range map[string]string{"X-Auth-Method": tc.method, "X-User-Id": tc.user, "X-User-Permissions": "read:reports", "X-Api-Key": "", "Authorization": ""} {
				if got := s.Header.Get(h); got != want {
					t.Errorf("the upstream saw %s %q, want %q", h, got, want)
				}
			}
		})
	}
	// A deleted key and a deleted client are refused at once, never reaching the upstream.
	if err := apikey.Revoke(ctx, g.app.Guard, p, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := oauth.DeleteClient(ctx, g.app.Guard, c.ID); err != nil {
		t.Fatal(err)
	}
	before := len(up.requests())
	for _, h := range [][2]string{{"X-API-Key", key}, {"Authorization", "Bearer " + ct.AccessToken}} {
		if resp, body := g.do(t, "GET", "/reports/today", "", h[0], h[1]); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s after deletion: %d %s", h[0], resp.StatusCode, body)
		}
	}
	if len(up.requests()) != before {
		t.Fatal("a refused request reached the upstream")
	}
}

// within runs f and fails the test if it does not return in d: a proxy that buffers
// would hold the first part of a stream until the end that this test withholds.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not happen within %v", what, d)
	}
}

func TestStreamsTheAnswer(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "first\n")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "second\n")
	})
	t.Cleanup(free) // before the upstream's Close, which waits for its handler
	g := startGateway(t, up)
	_, tok := login(t, g.app)

	req, _ := http.NewRequest("GET", g.base+"/api/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	var resp *http.Response
	var br *bufio.Reader
	var first string
	within(t, 5*time.Second, "the first chunk reaching the client while the upstream still writes", func() {
		var err error
		if resp, err = http.DefaultClient.Do(req); err != nil {
			return
		}
		br = bufio.NewReader(resp.Body)
		first, _ = br.ReadString('\n')
	})
	if resp == nil || first != "first\n" {
		t.Fatalf("first chunk %q", first)
	}
	defer resp.Body.Close()
	free()
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// TestStreamsTheRequestBody: the body goes upstream as it arrives, and the upstream's
// answer comes back while the client is still sending (an HTTP/1 server otherwise swallows
// the rest of a body before it writes an answer).
func TestStreamsTheRequestBody(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		head := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, head); err != nil {
			return
		}
		_, _ = io.WriteString(w, "got "+string(head))
		_ = rc.Flush()
		rest, _ := io.ReadAll(r.Body)
		_, _ = w.Write(rest)
	})
	g := startGateway(t, up)
	_, tok := login(t, g.app)

	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", g.base+"/api/upload", pr)
	req.Header.Set("Authorization", "Bearer "+tok)
	answer := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(answer)
			return
		}
		answer <- resp
	}()
	if _, err := io.WriteString(pw, "ping\n"); err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	var br *bufio.Reader
	var head string
	within(t, 5*time.Second, "the upstream's answer reaching the client before the body ended", func() {
		if resp = <-answer; resp == nil {
			return
		}
		br = bufio.NewReader(resp.Body)
		head, _ = br.ReadString('\n')
	})
	if resp == nil || head != "got ping\n" {
		t.Fatalf("answer %q", head)
	}
	defer resp.Body.Close()
	if _, err := io.WriteString(pw, "the rest"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "the rest" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

func TestAnUnreachableUpstreamIsA502InTime(t *testing.T) {
	// A port nobody listens on refuses at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	// A server that accepts connections and never answers.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mute.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})

	for name, target := range map[string]string{"refused": refused, "mute": "http://" + mute.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			g := startGateway(t, nil, "AUTHFRAME_UPSTREAM="+target)
			_, tok := login(t, g.app)
			// Two requests with bodies on one kept-alive connection: the second must
			// find the connection in order after the first's body was never read.
			for _, path := range []string{"/api/one", "/public/two"} {
				start := time.Now()
				resp, body := g.do(t, "POST", path, `{"a":1}`, "Authorization", "Bearer "+tok)
				took := time.Since(start)
				expectError(t, resp, body, http.StatusBadGateway, "bad_gateway")
				if limit := testTimeouts.header + time.Second; took > limit {
					t.Fatalf("the 502 took %v, more than %v", took, limit)
				}
			}
		})
	}
}

func TestTheGatewayServesHealthAndMetricsItself(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up, "AUTHFRAME_GATEWAY_PUBLIC=/")
	for _, path := range []string{"/healthz", "/metrics", "/x/../healthz"} {
		resp, body := raw(t, g.addr, "GET "+path+" HTTP/1.1")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" && !strings.Contains(body, "go_goroutines") {
			t.Fatalf("/metrics is not the Prometheus text: %.200s", body)
		}
		if path != "/metrics" && !strings.Contains(body, `"status":"ok"`) {
			t.Fatalf("GET %s = %s", path, body)
		}
	}
	resp, body := g.do(t, "POST", "/healthz", "{}")
	expectError(t, resp, body, http.StatusMethodNotAllowed, "invalid_request")
	if resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("Allow %q", resp.Header.Get("Allow"))
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("the upstream saw %d of the gateway's own requests", n)
	}
	// Only the exact paths are the gateway's: everything else is the upstream's.
	if resp, _ := g.do(t, "GET", "/healthz/deep", ""); resp.StatusCode != 200 || len(up.requests()) != 1 {
		t.Fatalf("GET /healthz/deep = %d, not forwarded", resp.StatusCode)
	}
}

func TestARevokedTokenIsRefusedAtOnce(t *testing.T) {
	up := newUpstream(t, nil)
	g := startGateway(t, up)
	_, tok := login(t, g.app)
	if resp, _ := g.do(t, "GET", "/api/x", "", "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
		t.Fatalf("before logout: %d", resp.StatusCode)
	}
	p, err := g.app.Guard.VerifyToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.app.Guard.Logout(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	resp, body := g.do(t, "GET", "/api/x", "", "Authorization", "Bearer "+tok)
	expectError(t, resp, body, 401, "invalid_token")
	if n := len(up.requests()); n != 1 {
		t.Fatalf("the upstream saw %d requests, want 1", n)
	}
}

func TestIsIdentityHeader(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"X-User-Id", true}, {"x-user-id", true}, {"X_USER_ID", true}, {"X-User_Id", true},
		{"X-User-Idx", false}, {"X-User-I", false}, {"X-UserId", false}, {"", false},
	} {
		if got := isIdentityHeader(c.name); got != c.want {
			t.Errorf("isIdentityHeader(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestWithoutCookie(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		{[]string{"a=1"}, []string{"a=1"}},
		{[]string{"s=x"}, nil},
		{[]string{"a=1; s=x; b=2"}, []string{"a=1; b=2"}},
		{[]string{"a=1;s=x;b=2", "s=y", "c=3"}, []string{"a=1; b=2", "c=3"}},
		{[]string{"ss=keep; s2=keep"}, []string{"ss=keep; s2=keep"}},
		{[]string{"a=s; b=s=x"}, []string{"a=s; b=s=x"}},
	} {
		if got := withoutCookie(c.in, "s"); !slices.Equal(got, c.want) {
			t.Errorf("withoutCookie(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
