package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	pgstore "github.com/authframe/authframe/stores/postgres"
)

// Two Guards on one schema behave as one service: what one issues the other accepts, and
// what one revokes the other refuses within the contract's second.
func TestTwoGuardsOnOneDatabaseAreOneService(t *testing.T) {
	p := pgstore.SharedPool(t)
	schema := pgstore.FreshSchema(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	newGuard := func() *authframe.Guard {
		st := pgstore.OpenStore(t, p, pgstore.WithSchema(schema))
		g, err := authframe.New(
			authframe.WithStore(st),
			authframe.WithHMACSecret([]byte("a-test-secret-of-at-least-32-bytes!!")),
			authframe.WithIssuer("https://auth.test"),
			authframe.WithAudience("test"),
		)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		return g
	}
	a, b := newGuard(), newGuard()

	u, err := a.Register(ctx, authframe.ClientInfo{}, "alice", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Register(ctx, authframe.ClientInfo{}, "alice", "another password"); !errors.Is(err, authframe.ErrConflict) {
		t.Fatalf("registering a taken username on the other instance = %v, want ErrConflict", err)
	}
	client := authframe.ClientInfo{IP: "192.0.2.1", UserAgent: "test"}
	pair, err := a.IssueTokens(ctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatalf("the other instance refuses a fresh token: %v", err)
	}

	t.Run("a refresh on one instance spends the token for the other", func(t *testing.T) {
		next, err := b.Refresh(ctx, pair.RefreshToken, client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Refresh(ctx, pair.RefreshToken, client); err == nil {
			t.Fatal("a spent refresh token was accepted by the other instance")
		}
		if _, err := a.Refresh(ctx, next.RefreshToken, client); err == nil {
			t.Fatal("the newest token survived the reuse of an older one")
		}
	})

	t.Run("a logout on one instance is refused by the other within a second", func(t *testing.T) {
		pair, err := a.IssueTokens(ctx, u, client)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := b.VerifyToken(ctx, pair.AccessToken) // now cached on b
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := a.Logout(ctx, pb); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := b.VerifyToken(ctx, pair.AccessToken); err != nil {
				t.Logf("the other instance refused the logged-out token after %v", time.Since(start))
				break
			}
			if time.Since(start) > time.Second {
				t.Fatal("the other instance still accepts the token a second after logout")
			}
			time.Sleep(time.Millisecond)
		}
	})
}
