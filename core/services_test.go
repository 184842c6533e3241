package authframe_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/apikey"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/oauth"
	"github.com/authframe/authframe/core/store"
)

// svcReq is a request with the headers a service credential travels in.
type svcReq struct {
	method, auth, apiKey string
}

func (r svcReq) Header(n string) string {
	switch {
	case strings.EqualFold(n, "Authorization"):
		return r.auth
	case strings.EqualFold(n, "X-API-Key"):
		return r.apiKey
	}
	return ""
}
func (r svcReq) Cookie(string) string { return "" }
func (r svcReq) Query(string) string  { return "" }
func (r svcReq) Method() string {
	if r.method == "" {
		return "GET"
	}
	return r.method
}
func (r svcReq) Path() string       { return "/api/reports" }
func (r svcReq) RemoteAddr() string { return "198.51.100.9:5000" }

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func svcGuard(t *testing.T, s store.Store, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	base := []authframe.Option{authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud),
		authframe.WithStore(s), authframe.WithPasswords(auditArgon), authframe.WithRolePermissions("user", "read:notes", "write:notes")}
	g, err := authframe.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func jwtPayload(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestClientTokensAreRFC9068AndCarryScopesAsPermissions(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	g := svcGuard(t, ms)
	ctx := context.Background()
	c, secret, err := oauth.CreateClient(ctx, g, "billing service", []string{"read:reports", "write:*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 43 || !strings.HasPrefix(c.ID, "cl_") {
		t.Fatalf("secret %q, id %q", secret, c.ID)
	}
	stored, _, _ := ms.GetClient(ctx, c.ID)
	if strings.Contains(string(stored.SecretHash), secret) || len(stored.SecretHash) != 32 {
		t.Fatal("the store holds the secret, not its hash")
	}
	got, err := oauth.AuthenticateClient(ctx, g, authframe.ClientInfo{IP: "192.0.2.1"}, c.ID, secret)
	if err != nil || got.ID != c.ID {
		t.Fatalf("AuthenticateClient = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		scopes []string
		want   string
	}{{nil, "read:reports write:*"}, {[]string{"write:notes"}, "write:notes"}, {[]string{"read:reports", "read:reports"}, "read:reports"}} {
		tok, err := oauth.IssueToken(ctx, g, got, tc.scopes)
		if err != nil || tok.Scope != tc.want || tok.RefreshToken != "" || tok.TokenType != "Bearer" {
			t.Fatalf("IssueToken(%v) = %+v, %v", tc.scopes, tok, err)
		}
	}
	if _, err := oauth.IssueToken(ctx, g, got, []string{"delete:reports"}); !errors.Is(err, oauth.ErrInvalidScope) {
		t.Fatalf("a scope the client lacks: %v", err)
	}
	tok, _ := oauth.IssueToken(ctx, g, got, []string{"read:reports"})
	h, cl := jwtPayload(t, tok.AccessToken)
	if h["typ"] != "at+jwt" || cl["sub"] != c.ID || cl["client_id"] != c.ID || cl["scope"] != "read:reports" || cl["sid"] != nil || cl["jti"] == nil || cl["aud"] == nil {
		t.Fatalf("header %v claims %v", h, cl)
	}
	p, err := g.Authenticate(ctx, svcReq{auth: "Bearer " + tok.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if p.Method != authframe.MethodClient || p.ClientID != c.ID || p.UserID != c.ID || p.Username != "billing service" || len(p.Roles) != 0 || p.SessionID != "" {
		t.Fatalf("principal %+v", p)
	}
	if authframe.Authorize(p, "read:reports") != nil || !errors.Is(authframe.Authorize(p, "write:notes"), authframe.ErrForbidden) {
		t.Fatal("permissions are not the token's scopes")
	}
	if _, err := g.ListSessions(ctx, p); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a client listed sessions: %v", err)
	}
	// Logout refuses that token from then on.
	tok2, _ := oauth.IssueToken(ctx, g, got, nil)
	p2, _ := g.VerifyToken(ctx, tok2.AccessToken)
	if err := g.Logout(ctx, p2); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, tok2.AccessToken); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("a logged-out client token: %v", err)
	}
	// Deleting the client revokes every token issued to it, here and through the store.
	other := svcGuard(t, ms)
	if _, err := other.VerifyToken(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := oauth.DeleteClient(ctx, g, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, tok.AccessToken); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("a deleted client's token: %v", err)
	}
	waitFor(t, time.Second, func() bool {
		_, err := other.VerifyToken(ctx, tok.AccessToken)
		return errors.Is(err, authframe.ErrTokenRevoked)
	})
	if _, err := oauth.AuthenticateClient(ctx, g, authframe.ClientInfo{}, c.ID, secret); !errors.Is(err, authframe.ErrInvalidCredentials) {
		t.Fatalf("a deleted client authenticated: %v", err)
	}
	if err := oauth.DeleteClient(ctx, g, c.ID); !errors.Is(err, authframe.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func waitFor(t *testing.T, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClientTokenForgeriesAreRefused(t *testing.T) {
	g := svcGuard(t, memstore.New())
	ctx := context.Background()
	for name, mod := range map[string]func(jwt.MapClaims){
		"sub differs from client_id": func(c jwt.MapClaims) { c["sub"] = "someone-else" },
		"a client token with a sid":  func(c jwt.MapClaims) { c["sid"] = "s1" },
		"a client token with roles":  func(c jwt.MapClaims) { c["roles"] = []string{"admin"} },
	} {
		c := claims(func(c jwt.MapClaims) {
			delete(c, "roles")
			c["sub"], c["client_id"], c["scope"] = "cl_x", "cl_x", "read:reports"
		})
		mod(c)
		tok := sign(t, jwt.SigningMethodHS256, hmacSecret, c, nil)
		if _, err := g.VerifyToken(ctx, tok); !errors.Is(err, authframe.ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Only failures count; once they reach the limit, the right secret is refused too.
func TestClientAuthenticationFailuresAreLimited(t *testing.T) {
	g := svcGuard(t, memstore.New(), authframe.WithRateLimits(authframe.RateLimits{Login: 3, Window: time.Minute}))
	ctx := context.Background()
	c, secret, err := oauth.CreateClient(ctx, g, "svc", []string{"read:reports"})
	if err != nil {
		t.Fatal(err)
	}
	ip := authframe.ClientInfo{IP: "203.0.113.5"}
	for i := range 6 {
		if _, err := oauth.AuthenticateClient(ctx, g, ip, c.ID, secret); err != nil {
			t.Fatalf("success %d: %v", i, err)
		}
	}
	for i := range 3 {
		if _, err := oauth.AuthenticateClient(ctx, g, ip, c.ID, "wrong"+secret); !errors.Is(err, authframe.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	_, err = oauth.AuthenticateClient(ctx, g, ip, c.ID, secret)
	var e *authframe.Error
	if !errors.As(err, &e) || e.Code != authframe.ErrRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("the right secret past the limit: %v", err)
	}
	// Another address is not held back by these failures.
	if _, err := oauth.AuthenticateClient(ctx, g, authframe.ClientInfo{IP: "203.0.113.6"}, c.ID, secret); err != nil {
		t.Fatal(err)
	}
}

func newUserPrincipal(t *testing.T, g *authframe.Guard, name string, roles ...string) (*authframe.Principal, *authframe.TokenPair) {
	t.Helper()
	ctx := context.Background()
	u, err := g.Register(ctx, authframe.ClientInfo{}, name, "correct horse battery", roles...)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p, pair
}

func TestAPIKeys(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	clock := &fakeClock{t: time.Now()}
	g := svcGuard(t, ms, authframe.WithClock(clock.now))
	ctx := context.Background()
	user, _ := newUserPrincipal(t, g, "alice", "user")

	if _, _, err := apikey.Create(ctx, g, user, "ci", []string{"read:*"}, 0); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a permission the user lacks: %v", err)
	}
	for name, perms := range map[string][]string{"none": nil, "no colon": {"read"}, "too many": make([]string, 33)} {
		if _, _, err := apikey.Create(ctx, g, user, "ci", perms, 0); !errors.Is(err, authframe.ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	k, key, err := apikey.Create(ctx, g, user, "ci", []string{"read:notes"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, apikey.Prefix) || len(key) != 47 || !k.ExpiresAt.IsZero() {
		t.Fatalf("key %q, record %+v", key, k)
	}
	for _, r := range []svcReq{{apiKey: key}, {auth: "Bearer " + key}, {auth: "bearer " + key, method: "POST"}} {
		p, err := g.Authenticate(ctx, r)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if p.Method != authframe.MethodAPIKey || p.KeyID != k.ID || p.UserID != user.UserID || p.Username != "alice" || len(p.Roles) != 0 || !p.Can("read:notes") || p.Can("write:notes") {
			t.Fatalf("principal %+v", p)
		}
	}
	if _, err := g.Authenticate(ctx, svcReq{apiKey: key, auth: "Bearer x"}); !errors.Is(err, authframe.ErrInvalidRequest) {
		t.Fatalf("two credentials: %v", err)
	}
	keyP, _ := g.Authenticate(ctx, svcReq{apiKey: key})
	if _, _, err := apikey.Create(ctx, g, keyP, "nested", []string{"read:notes"}, 0); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a key made a key: %v", err)
	}
	if _, err := apikey.List(ctx, g, keyP); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a key listed keys: %v", err)
	}
	for _, bad := range []string{"afk_short", key[:len(key)-1] + "!", key[:len(key)-2] + "AA"} {
		if _, err := g.Authenticate(ctx, svcReq{apiKey: bad}); !errors.Is(err, authframe.ErrInvalidToken) {
			t.Errorf("key %q: %v", bad, err)
		}
	}

	// last_used_at: written once for the first use, then at most once a minute.
	waitFor(t, time.Second, func() bool {
		ks, _ := apikey.List(ctx, g, user)
		return len(ks) == 1 && !ks[0].LastUsedAt.IsZero()
	})
	ks, _ := apikey.List(ctx, g, user)
	first := ks[0].LastUsedAt
	clock.add(30 * time.Second)
	g.Authenticate(ctx, svcReq{apiKey: key})
	time.Sleep(50 * time.Millisecond)
	if ks, _ := apikey.List(ctx, g, user); !ks[0].LastUsedAt.Equal(first) {
		t.Fatalf("last_used_at written twice within a minute: %v then %v", first, ks[0].LastUsedAt)
	}
	clock.add(31 * time.Second)
	g.Authenticate(ctx, svcReq{apiKey: key})
	waitFor(t, time.Second, func() bool {
		ks, _ := apikey.List(ctx, g, user)
		return ks[0].LastUsedAt.After(first)
	})

	// Expiry.
	short, skey, err := apikey.Create(ctx, g, user, "short", []string{"read:notes"}, time.Minute)
	if err != nil || short.ExpiresAt.IsZero() {
		t.Fatal(short, err)
	}
	if _, err := g.Authenticate(ctx, svcReq{apiKey: skey}); err != nil {
		t.Fatal(err)
	}
	clock.add(2 * time.Minute)
	if _, err := g.Authenticate(ctx, svcReq{apiKey: skey}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("an expired key: %v", err)
	}

	// Deletion: another user's key is not found; the owner's is refused at once here and
	// through the store on another instance.
	bob, _ := newUserPrincipal(t, g, "bob", "user")
	if err := apikey.Revoke(ctx, g, bob, k.ID); !errors.Is(err, authframe.ErrNotFound) {
		t.Fatalf("another user's key: %v", err)
	}
	other := svcGuard(t, ms, authframe.WithClock(clock.now))
	if _, err := other.Authenticate(ctx, svcReq{apiKey: key}); err != nil {
		t.Fatal(err)
	}
	if err := apikey.Revoke(ctx, g, user, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(ctx, svcReq{apiKey: key}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("a deleted key: %v", err)
	}
	waitFor(t, time.Second, func() bool {
		_, err := other.Authenticate(ctx, svcReq{apiKey: key})
		return errors.Is(err, authframe.ErrInvalidToken)
	})
	// Revoking the owner revokes the keys made before.
	_, k2 := mustKey(t, g, user)
	if err := g.RevokeUser(ctx, user.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(ctx, svcReq{apiKey: k2}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("a revoked user's key: %v", err)
	}
}

func mustKey(t *testing.T, g *authframe.Guard, p *authframe.Principal) (apikey.Key, string) {
	t.Helper()
	k, key, err := apikey.Create(context.Background(), g, p, "k", []string{"read:notes"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return k, key
}

func TestIntrospectionAndRevocation(t *testing.T) {
	g := svcGuard(t, memstore.New())
	ctx := context.Background()
	user, pair := newUserPrincipal(t, g, "carol", "user")
	_, key := mustKey(t, g, user)
	c, secret, _ := oauth.CreateClient(ctx, g, "svc", []string{"read:reports"})
	cl, _ := oauth.AuthenticateClient(ctx, g, authframe.ClientInfo{}, c.ID, secret)
	ctok, _ := oauth.IssueToken(ctx, g, cl, nil)

	for name, tc := range map[string]struct {
		tok, sub, typ, scope string
		exp                  bool
	}{
		"user token":   {pair.AccessToken, user.UserID, "Bearer", "read:notes write:notes", true},
		"client token": {ctok.AccessToken, c.ID, "Bearer", "read:reports", true},
		"API key":      {key, user.UserID, "api_key", "read:notes", false},
	} {
		in, err := oauth.Introspect(ctx, g, tc.tok)
		if err != nil || !in.Active || in.Subject != tc.sub || in.TokenType != tc.typ || in.Scope != tc.scope || (in.ExpiresAt != 0) != tc.exp || in.Issuer != testIss {
			t.Errorf("%s: %+v, %v", name, in, err)
		}
	}
	for name, tok := range map[string]string{"refresh token": pair.RefreshToken, "garbage": "abc", "empty": ""} {
		in, err := oauth.Introspect(ctx, g, tok)
		b, _ := json.Marshal(in)
		if err != nil || string(b) != `{"active":false}` {
			t.Errorf("%s: %s, %v", name, b, err)
		}
	}

	// Revocation: unknown tokens are no error; a refresh token ends its family and session.
	for _, tok := range []string{"unknown", "a.b", "afk_" + strings.Repeat("A", 43), "x.y.z"} {
		if err := oauth.Revoke(ctx, g, tok); err != nil {
			t.Errorf("Revoke(%q) = %v", tok, err)
		}
	}
	if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatal("an unrelated revocation ended the session:", err)
	}
	if err := oauth.Revoke(ctx, g, pair.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, pair.AccessToken); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("the family's access token after revoking its refresh token: %v", err)
	}
	if _, err := g.Refresh(ctx, pair.RefreshToken, authframe.ClientInfo{}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("a revoked refresh token refreshed: %v", err)
	}
	if err := oauth.Revoke(ctx, g, ctok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if in, _ := oauth.Introspect(ctx, g, ctok.AccessToken); in.Active {
		t.Fatal("a revoked access token is active")
	}
	if err := oauth.Revoke(ctx, g, key); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(ctx, svcReq{apiKey: key}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("a revoked key: %v", err)
	}
}

// A client principal crosses the shared cache intact: another instance reading it there
// gets the client's scopes, not permissions derived from roles.
func TestClientPrincipalsThroughTheSharedCache(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	shared := newMapCache()
	a := svcGuard(t, ms, authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	b := svcGuard(t, ms, authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	ctx := context.Background()
	c, secret, _ := oauth.CreateClient(ctx, a, "svc", []string{"read:reports"})
	cl, _ := oauth.AuthenticateClient(ctx, a, authframe.ClientInfo{}, c.ID, secret)
	tok, _ := oauth.IssueToken(ctx, a, cl, nil)
	if _, err := a.VerifyToken(ctx, tok.AccessToken); err != nil || shared.sets.Load() != 1 {
		t.Fatalf("%v, %d sets", err, shared.sets.Load())
	}
	p, err := b.VerifyToken(ctx, tok.AccessToken)
	if err != nil || p.Method != authframe.MethodClient || p.ClientID != c.ID || !p.Can("read:reports") || p.Username != "svc" {
		t.Fatalf("%+v, %v", p, err)
	}
}
