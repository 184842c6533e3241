package authframe_test

import (
	"context"
	"errors"
	"github.com/golang-jwt/jwt/v5"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/memstore"
)

var fastArgon = authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newIssuer(t testing.TB, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	base := []authframe.Option{
		authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud),
		authframe.WithPasswords(fastArgon),
		authframe.WithRolePermissions("admin", "*:*"),
		authframe.WithRolePermissions("reader", "read:*"),
	}
	g, err := authframe.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

var client = authframe.ClientInfo{IP: "192.0.2.10", UserAgent: "test-agent"}

func registerAndLogin(t testing.TB, g *authframe.Guard, name string, roles ...string) (authframe.User, *authframe.TokenPair) {
	t.Helper()
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, name, "correct horse battery", roles...); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, client, name, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g.IssueTokens(ctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	return u, pair
}

func TestRegisterValidatesInput(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	tests := []struct {
		name, user, pass string
		want             error
	}{
		{"a good user registers", "alice_1@x.y-z", "password1", nil},
		{"a short username is a 400", "ab", "password1", authframe.ErrInvalidRequest},
		{"a long username is a 400", strings.Repeat("a", 65), "password1", authframe.ErrInvalidRequest},
		{"a username with a space is a 400", "bad name", "password1", authframe.ErrInvalidRequest},
		{"a short password is a 400", "bob", "short", authframe.ErrInvalidRequest},
		{"a 257-byte password is a 400", "bob2", strings.Repeat("p", 257), authframe.ErrInvalidRequest},
		{"a taken username is a 409", "alice_1@x.y-z", "password1", authframe.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Register(ctx, authframe.ClientInfo{}, tc.user, tc.pass)
			if tc.want == nil && err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoginAnswersTheSameForUnknownUserAndWrongPassword(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "carol", "password123"); err != nil {
		t.Fatal(err)
	}
	_, e1 := g.VerifyPassword(ctx, client, "carol", "wrong-password")
	_, e2 := g.VerifyPassword(ctx, client, "nobody", "wrong-password")
	r1, r2 := endpoint.RenderError(e1, "r"), endpoint.RenderError(e2, "r")
	if r1.Status != http.StatusUnauthorized || string(r1.Body) != string(r2.Body) || r1.Status != r2.Status {
		t.Fatalf("answers differ: %d %s / %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
	}
}

func TestLoginFailuresAreObservedWithTheirReason(t *testing.T) {
	var mu sync.Mutex
	var reasons []string
	obs := audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.LoginFailed {
			mu.Lock()
			reasons = append(reasons, e.Reason)
			mu.Unlock()
		}
	})
	g := newIssuer(t, authframe.WithObserver(obs))
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "dave", "password123"); err != nil {
		t.Fatal(err)
	}
	g.VerifyPassword(ctx, client, "dave", "wrong-password")
	g.VerifyPassword(ctx, client, "nobody", "wrong-password")
	g.VerifyPassword(ctx, client, "dave", "")
	g.VerifyPassword(ctx, client, "dave", strings.Repeat("p", 257))
	want := "bad_password,unknown_user,invalid_input,invalid_input"
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(reasons, ","); got != want {
		t.Fatalf("login failure reasons %s, want %s", got, want)
	}
}

func TestPasswordHashIsPHCAndUpgradedOnLogin(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	weak := authframe.PasswordConfig{Memory: 32, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}
	g1 := newIssuer(t, authframe.WithStore(ms), authframe.WithPasswords(weak))
	u, err := g1.Register(context.Background(), authframe.ClientInfo{}, "dave", "password123")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=32,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", u.PasswordHash)
	}
	g2 := newIssuer(t, authframe.WithStore(ms))
	if _, err := g2.VerifyPassword(context.Background(), client, "dave", "password123"); err != nil {
		t.Fatal(err)
	}
	after, _, _ := ms.GetUserByUsername(context.Background(), "dave")
	if !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %q", after.PasswordHash)
	}
	if _, err := g2.VerifyPassword(context.Background(), client, "dave", "password123"); err != nil {
		t.Fatalf("login after upgrade: %v", err)
	}
}

func TestDefaultArgonParamsMeetOWASP(t *testing.T) {
	p := authframe.DefaultPasswordParams()
	if p.Memory < 19*1024 || p.Iterations < 2 || p.Parallelism < 1 {
		t.Fatalf("defaults %+v are below OWASP's minimum (m=19 MiB, t=2, p=1)", p)
	}
}

func TestLoginRateLimit(t *testing.T) {
	g := newIssuer(t, authframe.WithRateLimits(authframe.RateLimits{Login: 3, Window: time.Minute}))
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "erin", "password123"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		g.VerifyPassword(ctx, client, "erin", "bad-password")
	}
	_, err := g.VerifyPassword(ctx, client, "erin", "password123")
	var ae *authframe.Error
	if !errors.As(err, &ae) || ae.Code != authframe.ErrRateLimited || ae.RetryAfter <= 0 {
		t.Fatalf("4th attempt = %v, want rate_limited with RetryAfter", err)
	}
	r := endpoint.RenderError(err, "")
	if r.Status != 429 || !hasHeader(r, "Retry-After") {
		t.Fatalf("rendered %+v", r)
	}
	// Another IP, or another username, has its own budget.
	if _, err := g.VerifyPassword(ctx, authframe.ClientInfo{IP: "192.0.2.99"}, "erin", "password123"); err != nil {
		t.Fatalf("another IP was limited: %v", err)
	}
	if _, err := g.VerifyPassword(ctx, client, "unknown-user", "password123"); !errors.Is(err, authframe.ErrInvalidCredentials) {
		t.Fatalf("another username was limited: %v", err)
	}
}

func hasHeader(r endpoint.ErrorResponse, name string) bool {
	for _, h := range r.Headers {
		if h[0] == name {
			return true
		}
	}
	return false
}

func TestIssuedTokensCarryTheContractClaims(t *testing.T) {
	g := newIssuer(t)
	u, pair := registerAndLogin(t, g, "frank", "admin")
	p, err := g.VerifyToken(context.Background(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != u.ID || p.Username != "frank" || p.SessionID == "" || p.TokenID == "" || !p.HasRole("admin") || !p.Local {
		t.Fatalf("principal = %+v", p)
	}
	if !p.Can("delete:anything") {
		t.Fatal("admin with *:* cannot delete:anything")
	}
	if pair.TokenType != "Bearer" || pair.ExpiresIn != 900 || len(pair.RefreshToken) < 43 {
		t.Fatalf("pair = %+v", pair)
	}
}

func TestRefreshRotatesAndReuseRevokesTheFamily(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	_, pair := registerAndLogin(t, g, "grace")
	if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatal(err)
	}
	second, err := g.Refresh(ctx, pair.RefreshToken, client)
	if err != nil {
		t.Fatal(err)
	}
	if second.SessionID != pair.SessionID || second.RefreshToken == pair.RefreshToken {
		t.Fatalf("refresh gave %+v", second)
	}
	if _, err := g.VerifyToken(ctx, second.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Replay the spent token: the family and session die, cached access tokens too.
	if _, err := g.Refresh(ctx, pair.RefreshToken, client); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("replay = %v, want invalid_token", err)
	}
	if _, err := g.Refresh(ctx, second.RefreshToken, client); err == nil {
		t.Fatal("the newest refresh token survived reuse detection")
	}
	for _, at := range []string{pair.AccessToken, second.AccessToken} {
		if _, err := g.VerifyToken(ctx, at); !errors.Is(err, authframe.ErrInvalidToken) {
			t.Fatalf("access token after reuse = %v, want refused", err)
		}
	}
}

func TestConcurrentRefreshOfOneTokenSucceedsOnce(t *testing.T) {
	g := newIssuer(t)
	_, pair := registerAndLogin(t, g, "heidi")
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.Refresh(context.Background(), pair.RefreshToken, client); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d concurrent refreshes succeeded, want 1", ok.Load())
	}
}

func TestRefreshFamilyHasAnAbsoluteLifetime(t *testing.T) {
	c := &clock{now: time.Now()}
	g := newIssuer(t, authframe.WithClock(c.Now), authframe.WithTokens(authframe.TokenConfig{AccessTTL: time.Minute, RefreshTTL: time.Hour}))
	_, pair := registerAndLogin(t, g, "ivan")
	rt := pair.RefreshToken
	for i := 0; i < 3; i++ {
		c.Add(20 * time.Minute)
		next, err := g.Refresh(context.Background(), rt, client)
		if i < 2 && err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if i == 2 {
			// 60 minutes after login: the family is over, however recently it rotated.
			if err == nil {
				t.Fatal("rotation extended the family past its absolute lifetime")
			}
			return
		}
		rt = next.RefreshToken
	}
}

func TestLogoutRevokesCachedTokensAtOnce(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	_, pair := registerAndLogin(t, g, "judy")
	p, err := g.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil { // cached
		t.Fatal(err)
	}
	if err := g.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, pair.AccessToken); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("cached token after logout = %v, want revoked", err)
	}
	if _, err := g.Refresh(ctx, pair.RefreshToken, client); err == nil {
		t.Fatal("refresh token survived logout")
	}
}

func TestTokenOfAnUnknownSessionIsRefused(t *testing.T) {
	g := newIssuer(t)
	u, _ := registerAndLogin(t, g, "ken")
	forged := signAccess(t, u.ID, "never-issued-session")
	if _, err := g.VerifyToken(context.Background(), forged); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("token of a never-issued session = %v, want invalid_token", err)
	}
	// A sid of someone else's session does not pass either.
	_, other := registerAndLogin(t, g, "leo")
	stolen := signAccess(t, u.ID, other.SessionID)
	if _, err := g.VerifyToken(context.Background(), stolen); err == nil {
		t.Fatal("a token whose sid belongs to another user passed")
	}
}

func TestRevocationReachesAnotherGuardOnTheSameStore(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	a := newIssuer(t, authframe.WithStore(ms))
	b := newIssuer(t, authframe.WithStore(ms))
	ctx := context.Background()
	_, pair := registerAndLogin(t, a, "mallory")
	p, err := b.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := b.VerifyToken(ctx, pair.AccessToken); err == nil {
		t.Fatal("B still accepts a token revoked on A")
	}
}

func TestStoreOutageFailsClosedByDefaultAndOpenWhenAsked(t *testing.T) {
	for _, open := range []bool{false, true} {
		ms := memstore.New()
		t.Cleanup(func() { ms.Close() })
		fs := authtest.NewFailingStore(ms)
		g := newIssuer(t, authframe.WithStore(fs), authframe.WithFailOpen(open))
		_, pair := registerAndLogin(t, g, "oscar")
		fs.Fail(nil)
		_, err := g.VerifyToken(context.Background(), pair.AccessToken)
		if open && err != nil {
			t.Fatalf("fail open: %v", err)
		}
		if !open && !errors.Is(err, authframe.ErrUnavailable) {
			t.Fatalf("fail closed: %v, want unavailable", err)
		}
		fs.Heal()
		if _, err := g.VerifyToken(context.Background(), pair.AccessToken); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		have, want string
		ok         bool
	}{
		{"read:reports", "read:reports", true},
		{"read:*", "read:reports", true},
		{"*:reports", "write:reports", true},
		{"*:*", "delete:users", true},
		{"*", "delete:users", true},
		{"read:*", "write:reports", false},
		{"read:reports", "read:*", false},
		{"read:*", "read:*", true},
		{"read:reports", "read:report", false},
	}
	for _, tc := range tests {
		if got := (&authframe.Principal{Permissions: []string{tc.have}}).Can(tc.want); got != tc.ok {
			t.Errorf("%q grants %q = %v, want %v", tc.have, tc.want, got, tc.ok)
		}
	}
	p := &authframe.Principal{Roles: []string{"reader"}, Permissions: []string{"read:*"}}
	if err := authframe.Authorize(p, "reader", "read:reports"); err != nil {
		t.Fatal(err)
	}
	if err := authframe.Authorize(p, "admin"); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("missing role = %v, want forbidden", err)
	}
	if err := authframe.Authorize(nil, "admin"); !errors.Is(err, authframe.ErrUnauthenticated) {
		t.Fatalf("no principal = %v, want 401", err)
	}
	if err := authframe.AuthorizeAny(p, "admin", "read:x"); err != nil {
		t.Fatal(err)
	}
}

func TestClientIPIgnoresForwardedForUnlessTrusted(t *testing.T) {
	plain := newIssuer(t)
	proxied := newIssuer(t, authframe.WithTrustedProxies("10.0.0.0/8"))
	req := fakeReq{remote: "10.1.2.3:5555", headers: map[string]string{"X-Forwarded-For": "203.0.113.9, 10.0.0.7"}}
	if ip := plain.ClientInfo(req).IP; ip != "10.1.2.3" {
		t.Fatalf("untrusted: %s", ip)
	}
	if ip := proxied.ClientInfo(req).IP; ip != "203.0.113.9" {
		t.Fatalf("trusted: %s", ip)
	}
	spoof := fakeReq{remote: "198.51.100.1:1", headers: map[string]string{"X-Forwarded-For": "1.2.3.4"}}
	if ip := proxied.ClientInfo(spoof).IP; ip != "198.51.100.1" {
		t.Fatalf("a direct client spoofed its IP: %s", ip)
	}
}

func TestErrorRendering(t *testing.T) {
	r := endpoint.RenderError(authframe.ErrTokenExpired, "req-1")
	if r.Status != 401 || string(r.Body) != `{"error":{"code":"invalid_token","message":"token has expired"},"request_id":"req-1"}` {
		t.Fatalf("body %s", r.Body)
	}
	if !hasHeaderValue(r, "WWW-Authenticate", `Bearer realm="authframe", error="invalid_token"`) {
		t.Fatalf("headers %v", r.Headers)
	}
	r = endpoint.RenderError(authframe.ErrUnauthenticated, "")
	if !hasHeaderValue(r, "WWW-Authenticate", `Bearer realm="authframe"`) || strings.Contains(headerValue(r, "WWW-Authenticate"), "error=") {
		t.Fatalf("no-credentials challenge %v", r.Headers)
	}
	r = endpoint.RenderError(errors.New("boom: secret detail"), "")
	if r.Status != 500 || strings.Contains(string(r.Body), "secret") {
		t.Fatalf("internal error leaked: %s", r.Body)
	}
}

func headerValue(r endpoint.ErrorResponse, name string) string {
	for _, h := range r.Headers {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

func hasHeaderValue(r endpoint.ErrorResponse, name, prefix string) bool {
	return strings.HasPrefix(headerValue(r, name), prefix)
}

// signAccess mints an access token as newIssuer's Guard would, for a session of the test's
// choosing.
func signAccess(t testing.TB, userID, sid string) string {
	t.Helper()
	return sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) {
		c["sub"], c["sid"], c["jti"] = userID, sid, sid+"-jti"
		delete(c, "roles")
	}), nil)
}
