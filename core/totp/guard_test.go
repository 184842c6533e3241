package totp_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/totp"
)

var (
	weakArgon = authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}
	client    = authframe.ClientInfo{IP: "192.0.2.9", UserAgent: "totp-test/1.0"}
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, totp.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newGuard(t *testing.T, c *clock, st store.Store, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	base := []authframe.Option{
		authframe.WithHMACSecret([]byte("totp-guard-test-secret-0123456789")),
		authframe.WithIssuer("https://login.example.com"), authframe.WithAudience("totp-test"),
		authframe.WithPasswords(weakArgon), authframe.WithClock(c.Now), authframe.WithStore(st),
		authframe.WithRateLimits(authframe.RateLimits{Login: 1000, Address: -1, Account: -1}),
	}
	g, err := authframe.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// enrolled registers a user, logs them in, and turns two-factor login on for them. It
// returns the user's principal (a password-only token), the secret and the recovery codes.
func enrolled(t *testing.T, ctx context.Context, g *authframe.Guard, c *clock, name string) (*authframe.Principal, string, []string) {
	t.Helper()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, name, "password-of-"+name); err != nil {
		t.Fatal(err)
	}
	lctx, u, err := totp.VerifyLogin(ctx, g, client, name, "password-of-"+name, "")
	if err != nil {
		t.Fatalf("VerifyLogin before enrolment: %v", err)
	}
	pair, err := g.IssueTokens(lctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.AMR, []string{"pwd"}) || !p.AuthTime.Equal(c.Now().Truncate(time.Second)) {
		t.Fatalf("password login: AMR %q, AuthTime %v", p.AMR, p.AuthTime)
	}
	e, err := totp.Enroll(ctx, g, p)
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if !strings.Contains(e.URI, "issuer=login.example.com") || !strings.Contains(e.URI, name) {
		t.Fatalf("otpauth URI %q", e.URI)
	}
	now, _ := totp.Code(e.Secret, totp.Step(c.Now()))
	codes, err := totp.Confirm(ctx, g, p, now)
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	return p, e.Secret, codes
}

func TestTwoFactorLoginFromEnrolmentToDisabling(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	st := memstore.New()
	defer st.Close()
	g := newGuard(t, c, st, totp.WithTwoFactor(newKey(t)))
	p, secret, recovery := enrolled(t, ctx, g, c, "alice")
	if len(recovery) != totp.RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(recovery))
	}
	rec, _, _ := st.GetMFA(ctx, p.UserID)
	if strings.Contains(string(rec.SealedSecret), secret) || len(rec.RecoveryHashes) != totp.RecoveryCodeCount {
		t.Fatal("the store holds the secret in the clear, or not the recovery hashes")
	}
	for _, h := range rec.RecoveryHashes {
		for _, rc := range recovery {
			if strings.Contains(string(h), rc) {
				t.Fatal("the store holds a recovery code in the clear")
			}
		}
	}
	if _, err := totp.Enroll(ctx, g, p); !errors.Is(err, authframe.ErrConflict) {
		t.Fatalf("Enroll while on = %v, want ErrConflict", err)
	}
	step := totp.Step(c.Now())
	confirmCode, _ := totp.Code(secret, step)
	nextCode, _ := totp.Code(secret, step+1)

	if _, err := g.VerifyPassword(ctx, client, "alice", "password-of-alice"); !errors.Is(err, authframe.ErrMFARequired) {
		t.Fatalf("VerifyPassword of a user with two-factor on = %v, want ErrMFARequired", err)
	}
	for _, tc := range []struct {
		name, password, otp string
		want                error
	}{
		{"a password without a code", "password-of-alice", "", authframe.ErrMFARequired},
		{"the code that confirmed the enrolment", "password-of-alice", confirmCode, authframe.ErrInvalidCredentials},
		{"a malformed code", "password-of-alice", "12 34", authframe.ErrInvalidCredentials},
		{"a good code after a wrong password", "wrong-password", nextCode, authframe.ErrInvalidCredentials},
	} {
		if _, _, err := totp.VerifyLogin(ctx, g, client, "alice", tc.password, tc.otp); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	c.Add(10 * time.Second)
	lctx, u, err := totp.VerifyLogin(ctx, g, client, "alice", "password-of-alice", nextCode)
	if err != nil {
		t.Fatalf("login with the next step's code: %v", err)
	}
	if _, _, err := totp.VerifyLogin(ctx, g, client, "alice", "password-of-alice", nextCode); !errors.Is(err, authframe.ErrInvalidCredentials) {
		t.Fatalf("the same code again = %v, want ErrInvalidCredentials", err)
	}
	loginAt := c.Now()
	pair, err := g.IssueTokens(lctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := g.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tp.AMR, []string{"pwd", "otp"}) || !tp.AuthTime.Equal(loginAt) || !totp.UsedSecondFactor(tp) {
		t.Fatalf("token after a second factor: AMR %q, AuthTime %v", tp.AMR, tp.AuthTime)
	}
	c.Add(time.Minute)
	pair2, err := g.Refresh(ctx, pair.RefreshToken, client)
	if err != nil {
		t.Fatal(err)
	}
	if rp, err := g.VerifyToken(ctx, pair2.AccessToken); err != nil || !slices.Equal(rp.AMR, tp.AMR) || !rp.AuthTime.Equal(loginAt) {
		t.Fatalf("refreshed token: %v, AMR %q, AuthTime %v; want the login's", err, rp.AMR, rp.AuthTime)
	}
	grant, err := g.StartSession(lctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := g.Authenticate(ctx, cookieRequest{name: g.ClearSessionCookie().Name, value: grant.Cookie.Value})
	if err != nil || !slices.Equal(sp.AMR, tp.AMR) || !sp.AuthTime.Equal(loginAt) {
		t.Fatalf("session after a second factor: %v, AMR %q, AuthTime %v", err, sp.AMR, sp.AuthTime)
	}
	// The proof in the context names its user: it vouches for nobody else.
	other, err := g.Register(ctx, authframe.ClientInfo{}, "bob", "password-of-bob")
	if err != nil {
		t.Fatal(err)
	}
	bobPair, err := g.IssueTokens(lctx, other, client)
	if err != nil {
		t.Fatal(err)
	}
	if bp, _ := g.VerifyToken(ctx, bobPair.AccessToken); !slices.Equal(bp.AMR, []string{"pwd"}) {
		t.Fatalf("another user's tokens issued with alice's login context say %q", bp.AMR)
	}

	// A recovery code logs in once, in any spelling.
	spelled := strings.ToUpper(strings.ReplaceAll(recovery[0], "-", " "))
	if _, _, err := totp.VerifyLogin(ctx, g, client, "alice", "password-of-alice", spelled); err != nil {
		t.Fatalf("login with a recovery code: %v", err)
	}
	if _, _, err := totp.VerifyLogin(ctx, g, client, "alice", "password-of-alice", recovery[0]); !errors.Is(err, authframe.ErrInvalidCredentials) {
		t.Fatalf("a recovery code twice = %v, want ErrInvalidCredentials", err)
	}

	// Turning it off needs a valid code.
	if err := totp.Disable(ctx, g, p, recovery[0]); !errors.Is(err, authframe.ErrInvalidRequest) {
		t.Fatalf("Disable with a used recovery code = %v, want a 400", err)
	}
	if err := totp.Disable(ctx, g, p, recovery[1]); err != nil {
		t.Fatalf("Disable: %v", err)
	}
	if err := totp.Disable(ctx, g, p, recovery[2]); !errors.Is(err, authframe.ErrInvalidRequest) {
		t.Fatalf("Disable when off = %v, want a 400", err)
	}
	if _, err := g.VerifyPassword(ctx, client, "alice", "password-of-alice"); err != nil {
		t.Fatalf("VerifyPassword once two-factor is off: %v", err)
	}
}

func TestConfirmationRefusals(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	g := newGuard(t, c, memstore.New(), totp.WithTwoFactor(newKey(t)))
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "carol", "password-of-carol"); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, client, "carol", "password-of-carol")
	if err != nil {
		t.Fatal(err)
	}
	pair, _ := g.IssueTokens(ctx, u, client)
	p, _ := g.VerifyToken(ctx, pair.AccessToken)
	if _, err := totp.Confirm(ctx, g, p, "123456"); !errors.Is(err, authframe.ErrInvalidRequest) {
		t.Fatalf("Confirm with nothing pending = %v", err)
	}
	first, _ := totp.Enroll(ctx, g, p)
	second, _ := totp.Enroll(ctx, g, p)
	old, _ := totp.Code(first.Secret, totp.Step(c.Now()))
	if _, err := totp.Confirm(ctx, g, p, old); !errors.Is(err, authframe.ErrInvalidRequest) {
		t.Fatalf("Confirm with the replaced secret's code = %v", err)
	}
	if _, err := totp.Confirm(ctx, g, p, "abcdef"); !errors.Is(err, authframe.ErrInvalidRequest) {
		t.Fatalf("Confirm with a malformed code = %v", err)
	}
	good, _ := totp.Code(second.Secret, totp.Step(c.Now()))
	if _, err := totp.Confirm(ctx, g, p, good); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if _, err := totp.Confirm(ctx, g, p, good); !errors.Is(err, authframe.ErrInvalidRequest) {
		t.Fatalf("Confirm when on = %v", err)
	}
	for name, q := range map[string]*authframe.Principal{
		"no principal": nil,
		"an API key":   {UserID: p.UserID, Method: authframe.MethodAPIKey, Local: true},
		"a client":     {UserID: "svc", Method: authframe.MethodClient, Local: true},
		"a remote":     {UserID: p.UserID, Method: authframe.MethodBearer},
	} {
		if _, err := totp.Enroll(ctx, g, q); err == nil {
			t.Errorf("Enroll by %s succeeded", name)
		}
	}
}

func TestWithTwoFactorRefusesBadKeys(t *testing.T) {
	c := &clock{t: time.Now()}
	for _, tc := range []struct {
		name string
		key  []byte
		opts []totp.Option
		want string
	}{
		{"no key", nil, nil, "is missing"},
		{"a short key", []byte("short"), nil, "is 5 bytes"},
		{"a short previous key", newKey(t), []totp.Option{totp.WithPreviousKeys([]byte("x"))}, "previous"},
		{"an issuer name with a colon", newKey(t), []totp.Option{totp.WithIssuerName("a:b")}, "WithIssuerName"},
	} {
		_, err := authframe.New(
			authframe.WithHMACSecret([]byte("totp-guard-test-secret-0123456789")),
			authframe.WithIssuer("https://login.example.com"), authframe.WithAudience("totp-test"),
			authframe.WithClock(c.Now), totp.WithTwoFactor(tc.key, tc.opts...),
		)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "totp.WithTwoFactor") {
			t.Errorf("%s: New = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// A Guard that lost its WithTwoFactor option still refuses users who have it on; one with
// a new key and the old one as previous keeps logging them in.
func TestEnrolledUsersAreNeverLetInOnAPasswordAlone(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	st := memstore.New()
	defer st.Close()
	oldKey := newKey(t)
	a := newGuard(t, c, st, totp.WithTwoFactor(oldKey))
	_, secret, _ := enrolled(t, ctx, a, c, "dave")
	c.Add(time.Minute)
	code, _ := totp.Code(secret, totp.Step(c.Now()))

	b := newGuard(t, c, st)
	if _, err := b.VerifyPassword(ctx, client, "dave", "password-of-dave"); !errors.Is(err, authframe.ErrMFARequired) {
		t.Fatalf("VerifyPassword without the option = %v, want ErrMFARequired", err)
	}
	if _, _, err := totp.VerifyLogin(ctx, b, client, "dave", "password-of-dave", code); !errors.Is(err, authframe.ErrMFARequired) {
		t.Fatalf("VerifyLogin without the option = %v, want ErrMFARequired", err)
	}
	rotated := newGuard(t, c, st, totp.WithTwoFactor(newKey(t), totp.WithPreviousKeys(oldKey)))
	if _, _, err := totp.VerifyLogin(ctx, rotated, client, "dave", "password-of-dave", code); err != nil {
		t.Fatalf("VerifyLogin after a key rotation: %v", err)
	}
	c.Add(time.Minute)
	code, _ = totp.Code(secret, totp.Step(c.Now()))
	lost := newGuard(t, c, st, totp.WithTwoFactor(newKey(t)))
	if _, _, err := totp.VerifyLogin(ctx, lost, client, "dave", "password-of-dave", code); !errors.Is(err, authframe.ErrUnavailable) {
		t.Fatalf("VerifyLogin with a key that does not open the secret = %v, want ErrUnavailable", err)
	}
}

func TestRequireSecondFactor(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		p      *authframe.Principal
		maxAge time.Duration
		status int
	}{
		{"no principal", nil, 0, http.StatusUnauthorized},
		{"a password login", &authframe.Principal{AMR: []string{"pwd"}, AuthTime: now}, 0, http.StatusForbidden},
		{"no amr at all", &authframe.Principal{}, 0, http.StatusForbidden},
		{"a one-time password alone", &authframe.Principal{AMR: []string{"otp"}, AuthTime: now}, 0, http.StatusForbidden},
		{"a password and a code", &authframe.Principal{AMR: []string{"pwd", "otp"}, AuthTime: now}, 0, 0},
		{"a remote issuer's mfa", &authframe.Principal{AMR: []string{"mfa"}}, 0, 0},
		{"a recent enough login", &authframe.Principal{AMR: []string{"pwd", "otp"}, AuthTime: now.Add(-time.Minute)}, 5 * time.Minute, 0},
		{"a login too long ago", &authframe.Principal{AMR: []string{"pwd", "otp"}, AuthTime: now.Add(-10 * time.Minute)}, 5 * time.Minute, http.StatusForbidden},
		{"a maximum age without auth_time", &authframe.Principal{AMR: []string{"mfa"}}, 5 * time.Minute, http.StatusForbidden},
	} {
		err := totp.RequireSecondFactor(tc.p, tc.maxAge)
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("%s: %v, want nil", tc.name, err)
		case tc.status == http.StatusUnauthorized && !errors.Is(err, authframe.ErrUnauthenticated):
			t.Errorf("%s: %v, want ErrUnauthenticated", tc.name, err)
		case tc.status == http.StatusForbidden:
			e, ok := errors.AsType[*authframe.Error](err)
			if !ok || e.Code != authframe.ErrMFARequired || e.Status != http.StatusForbidden {
				t.Errorf("%s: %v, want a 403 mfa_required", tc.name, err)
			}
		}
	}
}

type cookieRequest struct{ name, value string }

func (r cookieRequest) Header(string) string { return "" }
func (r cookieRequest) Cookie(n string) string {
	if n == r.name {
		return r.value
	}
	return ""
}
func (r cookieRequest) Query(string) string { return "" }
func (r cookieRequest) Method() string      { return http.MethodGet }
func (r cookieRequest) Path() string        { return "/" }
func (r cookieRequest) RemoteAddr() string  { return "192.0.2.9:1234" }
