package authframe_test

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/totp"
)

// The shared cache tier carries a principal's amr and auth_time: an instance that finds
// a token there (and never verified it itself) sees the same login as the one that did.
func TestSharedCacheKeepsTheLoginsMethodsAndTime(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	st := memstore.New()
	defer st.Close()
	shared := newMapCache()
	key := make([]byte, totp.KeySize)
	_, _ = rand.Read(key)
	guard := func() *authframe.Guard {
		g, err := authframe.New(authframe.WithHMACSecret(auditSecret), authframe.WithIssuer("https://amr.example"), authframe.WithAudience("amr"),
			authframe.WithPasswords(auditArgon), authframe.WithClock(clock), authframe.WithStore(st),
			authframe.WithCache(authframe.CacheConfig{Shared: shared}), totp.WithTwoFactor(key))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		return g
	}
	a, b := guard(), guard()
	if _, err := a.Register(ctx, authframe.ClientInfo{}, "frank", "password-of-frank"); err != nil {
		t.Fatal(err)
	}
	u, _ := a.VerifyPassword(ctx, auditClient, "frank", "password-of-frank")
	pair, _ := a.IssueTokens(ctx, u, auditClient)
	p, _ := a.VerifyToken(ctx, pair.AccessToken)
	e, err := totp.Enroll(ctx, a, p)
	if err != nil {
		t.Fatal(err)
	}
	c0, _ := totp.Code(e.Secret, totp.Step(now))
	if _, err := totp.Confirm(ctx, a, p, c0); err != nil {
		t.Fatal(err)
	}
	c1, _ := totp.Code(e.Secret, totp.Step(now)+1)
	lctx, u, err := totp.VerifyLogin(ctx, a, auditClient, "frank", "password-of-frank", c1)
	if err != nil {
		t.Fatal(err)
	}
	pair, err = a.IssueTokens(lctx, u, auditClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatal(err)
	}
	sets := shared.sets.Load()
	got, err := b.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if shared.sets.Load() != sets {
		t.Fatal("the second instance verified the token itself instead of reading the shared tier")
	}
	if !slices.Equal(got.AMR, []string{"pwd", "otp"}) || !got.AuthTime.Equal(now) {
		t.Fatalf("principal from the shared tier: AMR %q, AuthTime %v", got.AMR, got.AuthTime)
	}
}
