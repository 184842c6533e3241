package authecho_test

import (
	"context"
	"net"
	"testing"

	authframe "github.com/authframe/authframe/core"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func newGuard(t testing.TB, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	g, err := authframe.New(append([]authframe.Option{
		authframe.WithHMACSecret(secret),
		authframe.WithIssuer("https://issuer.test"),
		authframe.WithAudience("api"),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithRolePermissions("admin", "*:*"),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// tokenFor registers a user and returns an access token issued to it after a real login.
func tokenFor(t testing.TB, g *authframe.Guard, name string, roles ...string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, name, "password123", roles...); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, authframe.ClientInfo{IP: "192.0.2.1"}, name, "password123")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return pair.AccessToken
}

func mustCIDR(t testing.TB, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
