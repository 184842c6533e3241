package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	authframe "github.com/authframe/authframe/core"
)

func newTestGuard(t *testing.T, st *Store) *authframe.Guard {
	t.Helper()
	g, err := authframe.New(
		authframe.WithStore(st),
		authframe.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")),
		authframe.WithIssuer("https://auth.example.test"),
		authframe.WithAudience("redisstore-test"),
		// Cheap hashing: these tests are about the store, not the KDF.
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// TestAGuardOnTheStoreKeepsNoSecret runs the flows of the contract through a Guard and
// then reads back every key under the prefix: no password, refresh token, session cookie or
// CSRF token may be found in a key name or a value.
func TestAGuardOnTheStoreKeepsNoSecret(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	g := newTestGuard(t, newTestStoreOn(t, c, prefix))
	ctx := testCtx(t)
	client := authframe.ClientInfo{IP: "192.0.2.1", UserAgent: "redisstore-test"}

	const password = "correct horse battery staple"
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "alice", password, "member"); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, client, "alice", password)
	if err != nil {
		t.Fatal(err)
	}
	first, err := g.IssueTokens(ctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	second, err := g.Refresh(ctx, first.RefreshToken, client)
	if err != nil {
		t.Fatal(err)
	}
	grant, err := g.StartSession(ctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	me, err := g.VerifyToken(ctx, second.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := g.ListSessions(ctx, me)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("ListSessions = %d sessions, %v; want 2", len(sessions), err)
	}

	secrets := map[string]string{
		"the password":             password,
		"the first refresh token":  first.RefreshToken,
		"the second refresh token": second.RefreshToken,
		"the session cookie":       grant.Cookie.Value,
		"the CSRF token":           grant.CSRFToken,
	}
	for name, tok := range map[string]string{"first": first.RefreshToken, "second": second.RefreshToken} {
		// The part after the sid is the secret part of a refresh token.
		if _, secret, ok := strings.Cut(tok, "."); ok {
			secrets["the secret part of the "+name+" refresh token"] = secret
		}
	}
	var dump strings.Builder
	for _, key := range keysUnder(t, c, prefix) {
		dump.WriteString(key + "\n")
		switch c.Type(ctx, key).Val() {
		case "string":
			dump.WriteString(c.Get(ctx, key).Val())
		case "hash":
			for f, v := range c.HGetAll(ctx, key).Val() {
				dump.WriteString(f + "=" + v + "\n")
			}
		case "zset":
			for _, m := range c.ZRange(ctx, key, 0, -1).Val() {
				dump.WriteString(m + "\n")
			}
		default:
			t.Fatalf("unexpected type of %s", key)
		}
	}
	for name, secret := range secrets {
		if strings.Contains(dump.String(), secret) {
			t.Errorf("%s is stored in Redis", name)
		}
	}

	// Replaying the spent token revokes the family, in the store as well.
	if _, err := g.Refresh(ctx, first.RefreshToken, client); err == nil {
		t.Fatal("a spent refresh token was accepted")
	}
	if _, err := g.Refresh(ctx, second.RefreshToken, client); err == nil {
		t.Fatal("the newest refresh token survived the reuse of an older one")
	}
}

// TestALogoutOnOneInstanceIsHonouredByAnother is the contract's "within one second on
// every other instance", through the store's revocation feed.
func TestALogoutOnOneInstanceIsHonouredByAnother(t *testing.T) {
	opt := testOptions(t)
	c1, c2 := redis.NewClient(opt), redis.NewClient(opt)
	t.Cleanup(func() { _, _ = c1.Close(), c2.Close() })
	prefix := testPrefix(t, c1)
	g1 := newTestGuard(t, newTestStoreOn(t, c1, prefix))
	g2 := newTestGuard(t, newTestStoreOn(t, c2, prefix))
	ctx := testCtx(t)
	client := authframe.ClientInfo{IP: "192.0.2.1"}

	u, err := g1.Register(ctx, authframe.ClientInfo{}, "bob", "a fine long password")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g1.IssueTokens(ctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g1.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g2.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatalf("the other instance refused a good token: %v", err)
	}
	start := time.Now()
	if err := g1.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := g2.VerifyToken(context.Background(), pair.AccessToken); err != nil {
			t.Logf("the other instance refused the token %v after the logout", time.Since(start))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatal("the other instance still accepts the token one second after the logout")
		}
		time.Sleep(time.Millisecond)
	}
}
