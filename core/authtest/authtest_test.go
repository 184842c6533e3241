package authtest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/memstore"
)

func verify(t *testing.T, iss *authtest.Issuer, tok string) *authframe.Principal {
	t.Helper()
	p, err := iss.Guard().VerifyToken(context.Background(), tok)
	if err != nil {
		t.Fatalf("VerifyToken: %v", err)
	}
	return p
}

func TestTokensAreTheGuardsOwn(t *testing.T) {
	iss := authtest.New(t,
		authframe.WithRolePermissions("editor", "write:posts"),
		authtest.Grant("read:reports"),
	)
	before := time.Now().Truncate(time.Second)
	tok := iss.Token(authtest.Subject("u-42"), authtest.Username("ada"), authtest.Roles("editor"), authtest.Permissions("read:reports"))
	p := verify(t, iss, tok)

	if p.UserID != "u-42" || p.Username != "ada" || p.Method != authframe.MethodBearer || !p.Local || p.Issuer != authtest.IssuerURL {
		t.Fatalf("principal %+v", p)
	}
	if !p.HasRole("editor") || !p.Can("write:posts") || !p.Can("read:reports") || p.Can("delete:posts") {
		t.Fatalf("roles %v, permissions %v", p.Roles, p.Permissions)
	}
	if p.TokenID == "" || p.IssuedAt.Before(before) || p.ExpiresAt.Sub(p.IssuedAt) != authtest.DefaultLifetime {
		t.Fatalf("jti %q, issued %v, expires %v", p.TokenID, p.IssuedAt, p.ExpiresAt)
	}
	s, ok, err := iss.Store().Unwrap().GetSession(context.Background(), p.SessionID)
	if err != nil || !ok || s.UserID != "u-42" || s.Kind != "token" {
		t.Fatalf("session %q: %+v %v %v", p.SessionID, s, ok, err)
	}

	// The header is what the Guard puts on its own tokens, with the kid its JWKS publishes.
	var header struct{ Alg, Typ, Kid string }
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil || json.Unmarshal(raw, &header) != nil {
		t.Fatalf("header of %q: %v", tok, err)
	}
	var jwks struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(iss.Guard().JWKS(), &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", iss.Guard().JWKS(), err)
	}
	if header.Alg != "EdDSA" || header.Typ != "at+jwt" || header.Kid != jwks.Keys[0].Kid {
		t.Fatalf("header %+v, JWKS kid %q", header, jwks.Keys[0].Kid)
	}
}

func TestTokenDefaults(t *testing.T) {
	iss := authtest.New(t)
	a := verify(t, iss, iss.Token())
	b := verify(t, iss, iss.Token())
	if a.UserID != authtest.DefaultSubject || a.Username != authtest.DefaultSubject || len(a.Roles) != 0 || len(a.Permissions) != 0 {
		t.Fatalf("principal %+v", a)
	}
	if a.SessionID == "" || a.SessionID == b.SessionID || a.TokenID == b.TokenID {
		t.Fatalf("two tokens share a session or a jti: %+v %+v", a, b)
	}
	if h := iss.Header(); !strings.HasPrefix(h, "Bearer ") || verify(t, iss, strings.TrimPrefix(h, "Bearer ")) == nil {
		t.Fatalf("Header() = %q", h)
	}
}

func TestLifetimes(t *testing.T) {
	iss := authtest.New(t)
	ctx := context.Background()
	_, err := iss.Guard().VerifyToken(ctx, iss.Token(authtest.Expired()))
	if !errors.Is(err, authframe.ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("expired token: %v", err)
	}
	if p := verify(t, iss, iss.Token(authtest.ExpiresIn(time.Minute))); p.ExpiresAt.Sub(p.IssuedAt) != time.Minute {
		t.Fatalf("ExpiresIn(1m): issued %v, expires %v", p.IssuedAt, p.ExpiresAt)
	}
	// Within the Guard's leeway an expired token still passes, as a real one does.
	verify(t, iss, iss.Token(authtest.ExpiresIn(-2*time.Second)))
	if _, err := iss.Guard().VerifyToken(ctx, iss.Token(authtest.ExpiresIn(48*time.Hour))); err == nil {
		t.Fatal("a token living longer than revocations are remembered passed")
	}
}

type tenant struct {
	TenantID string `json:"tenant_id"`
	Plan     int64  `json:"plan"`
}

func TestCustomClaimsRoundTrip(t *testing.T) {
	iss := authtest.New(t, authframe.WithClaims(func(context.Context, authframe.User) (tenant, error) {
		return tenant{}, nil
	}))
	want := tenant{TenantID: "acme", Plan: 1<<53 + 1}
	p := verify(t, iss, iss.Token(authtest.Claims(want)))
	if got, ok := authframe.Claims[tenant](p); !ok || got != want {
		t.Fatalf("Claims = %+v %v, want %+v", got, ok, want)
	}

	// Custom claims replace the kit's, so a test can make the tokens a Guard must refuse.
	for _, c := range []map[string]any{{"aud": "another-api"}, {"iss": "https://elsewhere.example"}, {"sub": ""}} {
		if _, err := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.NoSession(), authtest.Claims(c))); !errors.Is(err, authframe.ErrInvalidToken) {
			t.Errorf("token with %v: %v, want invalid_token", c, err)
		}
	}
}

func TestSessions(t *testing.T) {
	iss := authtest.New(t)
	g := iss.Guard()
	ctx := context.Background()

	first := iss.Token(authtest.Subject("bob"), authtest.Session("s-1"))
	second := iss.Token(authtest.Subject("bob"), authtest.Session("s-1"))
	p := verify(t, iss, first)
	if p.SessionID != "s-1" {
		t.Fatalf("session %q, want s-1", p.SessionID)
	}
	sessions, err := g.ListSessions(ctx, p)
	if err != nil || len(sessions) != 1 || sessions[0].ID != "s-1" {
		t.Fatalf("ListSessions = %+v, %v", sessions, err)
	}
	if err := g.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first, second} {
		if _, err := g.VerifyToken(ctx, tok); !errors.Is(err, authframe.ErrInvalidToken) {
			t.Fatalf("a token of a logged-out session: %v", err)
		}
	}

	// Without a session the Guard consults no store, and Logout revokes the token itself.
	tok := iss.Token(authtest.NoSession())
	lookups := iss.Store().Calls(authtest.OpGetSession)
	p = verify(t, iss, tok)
	if p.SessionID != "" || iss.Store().Calls(authtest.OpGetSession) != lookups {
		t.Fatalf("NoSession gave session %q, looked up in the store", p.SessionID)
	}
	if err := g.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, tok); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("a logged-out token without a session: %v", err)
	}

	// Session recreates a session that is gone.
	p = verify(t, iss, iss.Token())
	if _, err := iss.Store().Unwrap().DeleteSession(ctx, p.SessionID); err != nil {
		t.Fatal(err)
	}
	verify(t, iss, iss.Token(authtest.Session(p.SessionID)))
}

// fatalRecorder is t with Fatalf recorded instead of ending the test, so that a test can
// check what the kit refuses.
type fatalRecorder struct {
	testing.TB
	mu    sync.Mutex
	fatal []string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fatal = append(r.fatal, fmt.Sprintf(format, args...))
}

func (r *fatalRecorder) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.fatal)
}

func TestWhatTheIssuerRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []authtest.TokenOption
		want string
	}{
		{"a permission no role grants", []authtest.TokenOption{authtest.Permissions("delete:users")}, `authtest.Grant("delete:users")`},
		{"claims that are not an object", []authtest.TokenOption{authtest.Claims([]string{"a"})}, "not a JSON object"},
		{"another subject's session", []authtest.TokenOption{authtest.Subject("mallory"), authtest.Session("alice-session")}, `belongs to "alice"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fatalRecorder{TB: t}
			iss := authtest.New(rec, authtest.Grant("read:reports"))
			iss.Token(authtest.Subject("alice"), authtest.Session("alice-session"))
			if tok := iss.Token(tc.opts...); tok != "" {
				t.Errorf("a token was minted: %s", tok)
			}
			if f := rec.failures(); len(f) != 1 || !strings.Contains(f[0], tc.want) {
				t.Fatalf("failures %q, want one saying %q", f, tc.want)
			}
		})
	}
	t.Run("a Guard that cannot be built", func(t *testing.T) {
		rec := &fatalRecorder{TB: t}
		authtest.New(rec, authframe.WithRolePermissions("bad", "no-colon"))
		if f := rec.failures(); len(f) != 1 || !strings.Contains(f[0], "WithRolePermissions") {
			t.Fatalf("failures %q", f)
		}
	})
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestWithClockMovesTheGuardTheStoreAndTheTokens(t *testing.T) {
	// Years ago: a session made at that time would already have expired in a store
	// reading the real clock.
	c := &clock{now: time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)}
	iss := authtest.New(t, authtest.WithClock(c.Now))
	tok := iss.Token(authtest.ExpiresIn(time.Minute))
	p := verify(t, iss, tok)
	if !p.IssuedAt.Equal(c.Now()) {
		t.Fatalf("issued at %v, want %v", p.IssuedAt, c.Now())
	}
	c.Advance(2 * time.Minute)
	if _, err := iss.Guard().VerifyToken(context.Background(), tok); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("two minutes later: %v, want expired", err)
	}
}

func TestWithStore(t *testing.T) {
	ms := memstore.New()
	t.Cleanup(func() { ms.Close() })
	iss := authtest.New(t, authtest.WithStore(ms))
	if iss.Store().Unwrap() != ms {
		t.Fatal("the Guard's store does not wrap the given one")
	}
	p := verify(t, iss, iss.Token())
	if _, ok, err := ms.GetSession(context.Background(), p.SessionID); !ok || err != nil {
		t.Fatalf("the session is not in the given store: %v %v", ok, err)
	}

	fs := authtest.NewFailingStore(ms)
	if iss := authtest.New(t, authtest.WithStore(fs)); iss.Store() != fs {
		t.Fatal("a FailingStore given is wrapped again")
	}

	// Outside New the kit's options are the Guard's.
	g, err := authframe.New(authframe.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")),
		authframe.WithIssuer("i"), authframe.WithAudience("a"),
		authtest.WithStore(fs), authtest.WithClock(time.Now), authtest.Grant("read:reports"))
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	if _, err := authframe.New(authframe.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")),
		authframe.WithIssuer("i"), authframe.WithAudience("a"), authtest.WithStore(nil)); err == nil {
		t.Fatal("WithStore(nil) is accepted")
	}
}

func TestWithPrincipal(t *testing.T) {
	p := &authframe.Principal{UserID: "u-1", Roles: []string{"admin"}}
	r := httptest.NewRequest("GET", "/", nil)
	got, ok := authframe.PrincipalFromContext(authtest.WithPrincipal(r, p).Context())
	if !ok || got != p {
		t.Fatalf("PrincipalFromContext = %v %v", got, ok)
	}
	if _, ok := authframe.PrincipalFromContext(r.Context()); ok {
		t.Fatal("the caller's request was changed")
	}
}
