package authframe_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/endpoint"
)

var (
	auditSecret = []byte("audit-test-secret-0123456789abcdef")
	auditArgon  = authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}
	auditClient = authframe.ClientInfo{IP: "198.51.100.7", UserAgent: "audit-agent/1.0"}
)

// auditRecords decodes the JSON lines a JSONHandler wrote.
func auditRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON record: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func newAuditBuffer(level slog.Level) (*bytes.Buffer, audit.Observer) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
	return &buf, audit.NewLogger(l)
}

// newDebugCapture records, at Debug, both the audit log (obs) and the Guard's own log
// (logger); all returns everything either wrote.
func newDebugCapture() (auditLog *bytes.Buffer, obs audit.Observer, logger *slog.Logger, all func() string) {
	buf, obs := newAuditBuffer(slog.LevelDebug)
	var own strings.Builder
	logger = slog.New(slog.NewJSONHandler(&own, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return buf, obs, logger, func() string { return buf.String() + own.String() }
}

func TestAuditLoggerLevelsAndAttributes(t *testing.T) {
	const sid = "sid-handle-0123456789abcdef"
	fp := audit.SessionFingerprint(sid)
	jwtCause := errors.New("could not JSON decode claim: eyJzdWIiOiJhbGljZSJ9 secret-claim-value")
	cases := []struct {
		name   string
		event  audit.Event
		level  string
		want   map[string]any
		absent []string
	}{
		{
			name:  "a cached token hit is debug with tier, duration and the session fingerprint",
			event: audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "lru", Method: string(authframe.MethodBearer), Duration: 150 * time.Nanosecond, UserID: "u1", SessionID: sid},
			level: "DEBUG",
			want:  map[string]any{"event": "token_validated", "result": "ok", "tier": "lru", "method": "bearer", "user_id": "u1", "session": fp, "duration": float64(150), "request_id": "req-42"},
		},
		{
			name:   "a failed validation is info and logs only the safe message of a jwt error",
			event:  audit.Event{Type: audit.TokenValidated, Result: "malformed", Tier: "verify", Err: &authframe.Error{Code: authframe.ErrInvalidToken, Message: "malformed token", Err: jwtCause}},
			level:  "INFO",
			want:   map[string]any{"result": "malformed", "error_code": "invalid_token", "error": "malformed token"},
			absent: []string{"secret-claim-value", "eyJzdWIiOiJhbGljZSJ9"},
		},
		{
			name:  "a session validation that failed CSRF is info",
			event: audit.Event{Type: audit.SessionValidated, Result: "csrf", Tier: "store", Method: string(authframe.MethodSession), Err: authframe.ErrCSRF},
			level: "INFO",
			want:  map[string]any{"event": "session_validated", "result": "csrf", "error_code": "csrf_failed"},
		},
		{
			name:  "a login failure is info with reason, client IP and user agent",
			event: audit.Event{Type: audit.LoginFailed, Reason: "bad_password", UserID: "u1", ClientIP: "192.0.2.1", UserAgent: "curl/8"},
			level: "INFO",
			want:  map[string]any{"event": "login_failed", "reason": "bad_password", "user_id": "u1", "client_ip": "192.0.2.1", "user_agent": "curl/8"},
		},
		{
			name:  "a login success is info with the username",
			event: audit.Event{Type: audit.LoginSucceeded, UserID: "u1", Username: "alice"},
			level: "INFO",
			want:  map[string]any{"event": "login_succeeded", "username": "alice"},
		},
		{
			name:  "a CSRF failure is a warning",
			event: audit.Event{Type: audit.CSRFFailed, UserID: "u1", SessionID: sid},
			level: "WARN",
			want:  map[string]any{"event": "csrf_failed", "session": fp},
		},
		{
			name:  "refresh token reuse is a warning",
			event: audit.Event{Type: audit.RefreshReused, SessionID: sid, ClientIP: "192.0.2.9"},
			level: "WARN",
			want:  map[string]any{"event": "refresh_reused", "session": fp, "client_ip": "192.0.2.9"},
		},
		{
			name:  "the revocation that answers a reuse is a warning",
			event: audit.Event{Type: audit.Revoked, Kind: "session", Reason: "refresh_reuse", SessionID: sid},
			level: "WARN",
			want:  map[string]any{"event": "revoked", "kind": "session", "reason": "refresh_reuse"},
		},
		{
			name:  "a logout revocation is info",
			event: audit.Event{Type: audit.Revoked, Kind: "session", Reason: "logout", UserID: "u1", SessionID: sid},
			level: "INFO",
			want:  map[string]any{"event": "revoked", "reason": "logout"},
		},
		{
			name:  "rate limiting is a warning",
			event: audit.Event{Type: audit.RateLimited, Kind: "login", ClientIP: "192.0.2.1"},
			level: "WARN",
			want:  map[string]any{"event": "rate_limited", "kind": "login"},
		},
		{
			name:   "a dependency error is an error, with URL credentials and opaque values redacted",
			event:  audit.Event{Type: audit.DependencyError, Kind: "store", Op: "get_session", Err: errors.New("dial redis://default:hunter2@10.0.0.5:6379: key session:AbCdEfGhIjKlMnOpQrStUvWx refused")},
			level:  "ERROR",
			want:   map[string]any{"event": "dependency_error", "kind": "store", "op": "get_session", "error": "dial redis://[redacted]@10.0.0.5:6379: key session:[redacted] refused"},
			absent: []string{"hunter2", "AbCdEfGhIjKlMnOpQrStUvWx"},
		},
		{
			name:  "a refresh is debug",
			event: audit.Event{Type: audit.Refreshed, UserID: "u1"},
			level: "DEBUG",
			want:  map[string]any{"event": "refreshed"},
		},
		{
			name:   "an error that is not an authframe error is not spelled out",
			event:  audit.Event{Type: audit.SessionValidated, Result: "invalid", Err: errors.New("raw cause with cookie-value-xyz")},
			level:  "INFO",
			want:   map[string]any{"error_code": "internal", "error": "unclassified error"},
			absent: []string{"cookie-value-xyz"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf, obs := newAuditBuffer(slog.LevelDebug)
			authframe.EmitThrough(obs)(endpoint.ContextWithRequestID(context.Background(), "req-42"), tc.event)
			recs := auditRecords(t, buf)
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1: %s", len(recs), buf)
			}
			r := recs[0]
			if r["level"] != tc.level {
				t.Errorf("level = %v, want %s", r["level"], tc.level)
			}
			if r["msg"] != "authframe: "+tc.event.Type.String() {
				t.Errorf("msg = %v", r["msg"])
			}
			for k, v := range tc.want {
				if r[k] != v {
					t.Errorf("%s = %#v, want %#v", k, r[k], v)
				}
			}
			if _, ok := r["session_id"]; ok {
				t.Error("record has a session_id attribute")
			}
			if tc.event.SessionID != "" && strings.Contains(buf.String(), tc.event.SessionID) {
				t.Error("record holds the session id")
			}
			for _, s := range tc.absent {
				if strings.Contains(buf.String(), s) {
					t.Errorf("record holds %q: %s", s, buf)
				}
			}
		})
	}
}

func TestAuditLoggerSkipsDisabledLevelsAndToleratesNilContext(t *testing.T) {
	buf, obs := newAuditBuffer(slog.LevelInfo)
	obs.Observe(context.Background(), audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "lru"})
	if buf.Len() != 0 {
		t.Fatalf("a debug event reached an info logger: %s", buf)
	}
	//lint:ignore SA1012 revocations from other instances are reported with a nil context
	obs.Observe(nil, audit.Event{Type: audit.Revoked, Kind: "token", Reason: "logout"}) //nolint:staticcheck
	recs := auditRecords(t, buf)
	if len(recs) != 1 || recs[0]["request_id"] != nil {
		t.Fatalf("records = %v", recs)
	}
	audit.NewLogger(nil).Observe(context.Background(), audit.Event{Type: audit.LoginFailed})
}

func TestAuditLoggerTruncatesLongUserAgents(t *testing.T) {
	buf, obs := newAuditBuffer(slog.LevelDebug)
	obs.Observe(context.Background(), audit.Event{Type: audit.LoginFailed, UserAgent: strings.Repeat("é", 300)})
	ua, _ := auditRecords(t, buf)[0]["user_agent"].(string)
	if len(ua) > 256 || !strings.HasPrefix(ua, "éé") || strings.ContainsRune(ua, '\uFFFD') {
		t.Fatalf("user_agent is %d bytes: %q", len(ua), ua)
	}
}

func TestAuditLoggerDisabledCostsNoAllocation(t *testing.T) {
	_, obs := newAuditBuffer(slog.LevelInfo)
	e := audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "lru", UserID: "u1", SessionID: "s1", Duration: time.Microsecond}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { obs.Observe(ctx, e) }); n != 0 {
		t.Fatalf("a disabled record cost %v allocations", n)
	}
}

// auditReq is a Request for the scenario below.
type auditReq struct {
	method  string
	auth    string
	cookies map[string]string
	csrf    string
}

func (r auditReq) Header(n string) string {
	switch {
	case strings.EqualFold(n, "Authorization"):
		return r.auth
	case strings.EqualFold(n, endpoint.CSRFHeader):
		return r.csrf
	}
	return ""
}
func (r auditReq) Cookie(n string) string { return r.cookies[n] }
func (r auditReq) Query(string) string    { return "" }
func (r auditReq) Method() string         { return r.method }
func (r auditReq) Path() string           { return "/api/echo" }
func (r auditReq) RemoteAddr() string     { return "198.51.100.7:4711" }

// auditUnsignedToken builds a token whose exp cannot be decoded: golang-jwt's error then
// repeats the literal, which must not reach the log.
func auditUnsignedToken(marker string) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p := enc.EncodeToString([]byte(`{"sub":"x","exp":` + marker + `e999}`))
	mac := hmac.New(sha256.New, auditSecret)
	mac.Write([]byte(h + "." + p))
	return h + "." + p + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestAuditLogNeverHoldsSecrets drives a Guard through every credential flow with the audit
// logger at Debug and checks that no secret used along the way appears in the output.
func TestAuditLogNeverHoldsSecrets(t *testing.T) {
	buf, obs := newAuditBuffer(slog.LevelDebug)
	g, err := authframe.New(
		authframe.WithHMACSecret(auditSecret),
		authframe.WithIssuer("https://audit.example"),
		authframe.WithAudience("audit-aud"),
		authframe.WithPasswords(auditArgon),
		authframe.WithRateLimits(authframe.RateLimits{Login: 4, Window: time.Minute}),
		authframe.WithObserver(obs),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := endpoint.ContextWithRequestID(context.Background(), "audit-req-1")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const password, wrongPassword = "correct horse battery staple", "incorrect mule battery"
	var secrets []string
	keep := func(s ...string) { secrets = append(secrets, s...) }
	keep(password, wrongPassword, string(auditSecret))

	_, err = g.Register(ctx, authframe.ClientInfo{}, "alice", password)
	must(err)
	if _, err := g.VerifyPassword(ctx, auditClient, "alice", wrongPassword); !errors.Is(err, authframe.ErrInvalidCredentials) {
		t.Fatalf("bad password: %v", err)
	}
	if _, err := g.VerifyPassword(ctx, auditClient, "nobody", password); !errors.Is(err, authframe.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	u, err := g.VerifyPassword(ctx, auditClient, "alice", password)
	must(err)
	for i := 0; i < 5; i++ {
		_, err = g.VerifyPassword(ctx, auditClient, "mallory", wrongPassword)
	}
	if !errors.Is(err, authframe.ErrRateLimited) {
		t.Fatalf("no rate limiting: %v", err)
	}

	pair, err := g.IssueTokens(ctx, u, auditClient)
	must(err)
	keep(pair.AccessToken, pair.RefreshToken, pair.SessionID)
	for _, part := range strings.Split(pair.AccessToken, ".")[1:] {
		keep(part)
	}
	_, err = g.VerifyToken(ctx, pair.AccessToken) // full verification
	must(err)
	_, err = g.VerifyToken(ctx, pair.AccessToken) // cached hit
	must(err)
	tampered := pair.AccessToken[:len(pair.AccessToken)-4] + "AAAA"
	keep(tampered)
	if _, err := g.VerifyToken(ctx, tampered); err == nil {
		t.Fatal("tampered token accepted")
	}
	const marker = "31415926535897932384626"
	if _, err := g.VerifyToken(ctx, auditUnsignedToken(marker)); err == nil || !strings.Contains(err.Error(), marker) {
		t.Fatalf("the jwt error should repeat the claim literal, so that this test means something: %v", err)
	}
	keep(marker)

	pair2, err := g.Refresh(ctx, pair.RefreshToken, auditClient)
	must(err)
	keep(pair2.AccessToken, pair2.RefreshToken)
	if _, err := g.Refresh(ctx, pair.RefreshToken, auditClient); err == nil {
		t.Fatal("refresh token reuse accepted")
	}
	if _, err := g.VerifyToken(ctx, pair2.AccessToken); err == nil {
		t.Fatal("token of a revoked family accepted")
	}

	pair3, err := g.IssueTokens(ctx, u, auditClient)
	must(err)
	keep(pair3.AccessToken, pair3.RefreshToken, pair3.SessionID)
	p3, err := g.VerifyToken(ctx, pair3.AccessToken)
	must(err)
	must(g.Logout(ctx, p3))

	grant, err := g.StartSession(ctx, u, auditClient)
	must(err)
	keep(grant.Cookie.Value, grant.CSRFToken, grant.Session.ID)
	cookies := map[string]string{g.ClearSessionCookie().Name: grant.Cookie.Value}
	_, err = g.Authenticate(ctx, auditReq{method: "GET", cookies: cookies})
	must(err)
	if _, err := g.Authenticate(ctx, auditReq{method: "POST", cookies: cookies}); !errors.Is(err, authframe.ErrCSRF) {
		t.Fatalf("missing CSRF token: %v", err)
	}
	wrongCSRF := "not-the-csrf-token-of-this-session-at-all"
	keep(wrongCSRF)
	if _, err := g.Authenticate(ctx, auditReq{method: "POST", cookies: cookies, csrf: wrongCSRF}); !errors.Is(err, authframe.ErrCSRF) {
		t.Fatalf("wrong CSRF token: %v", err)
	}
	sp, err := g.Authenticate(ctx, auditReq{method: "POST", cookies: cookies, csrf: grant.CSRFToken})
	must(err)
	err = g.Logout(ctx, sp)
	must(err)
	if _, err := g.Authenticate(ctx, auditReq{method: "GET", auth: "Bearer " + pair3.AccessToken}); err == nil {
		t.Fatal("token of a logged out session accepted")
	}
	must(g.Close())

	out := buf.String()
	if testing.Verbose() {
		t.Log(out)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("audit log holds a secret (%d bytes, starting %.6q)", len(s), s)
		}
	}

	seen := map[string][]map[string]any{}
	for _, r := range auditRecords(t, buf) {
		ev, _ := r["event"].(string)
		seen[ev] = append(seen[ev], r)
		if r["request_id"] != "audit-req-1" && ev != "revocation_received" {
			t.Errorf("record without the request id: %v", r)
		}
	}
	for ev, level := range map[string]string{
		"registered": "INFO", "login_failed": "INFO", "login_succeeded": "INFO", "rate_limited": "WARN",
		"session_created": "INFO", "token_validated": "", "refreshed": "DEBUG", "refresh_reused": "WARN",
		"revoked": "", "session_validated": "", "csrf_failed": "WARN", "session_destroyed": "INFO",
	} {
		rs := seen[ev]
		if len(rs) == 0 {
			t.Errorf("no %s record", ev)
			continue
		}
		if level != "" && rs[0]["level"] != level {
			t.Errorf("%s at %v, want %s", ev, rs[0]["level"], level)
		}
	}
	if n := len(seen["csrf_failed"]); n != 2 {
		t.Errorf("%d csrf_failed records, want 2", n)
	}
	wantFP := audit.SessionFingerprint(pair.SessionID)
	found := false
	for _, r := range seen["refresh_reused"] {
		found = found || r["session"] == wantFP
	}
	if !found {
		t.Errorf("refresh_reused does not name the session by its fingerprint %s", wantFP)
	}
	results := map[string]bool{}
	for _, r := range seen["token_validated"] {
		results[fmt.Sprint(r["result"], "/", r["tier"])] = true
	}
	for _, want := range []string{"ok/verify", "ok/lru", "signature/verify", "malformed/verify", "revoked/verify"} {
		if !results[want] {
			t.Errorf("no token_validated record with result/tier %s (have %v)", want, results)
		}
	}
}
