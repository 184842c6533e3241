package keys_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/keys"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// storeOnly hides every optional ability of a store, KeyStore among them.
type storeOnly struct{ store.Store }

func rotationGuard(t *testing.T, st store.Store, r keys.Rotation, opts ...authframe.Option) (*authframe.Guard, error) {
	t.Helper()
	g, err := authframe.New(append([]authframe.Option{authframe.WithStore(st), authframe.WithIssuer("https://auth.example"), authframe.WithAudience("api"),
		keys.WithRotation(r)}, opts...)...)
	if err == nil {
		t.Cleanup(func() { g.Close() })
	}
	return g, err
}

func TestWithRotationRefusesBadConfiguration(t *testing.T) {
	kek := bytes.Repeat([]byte{3}, 32)
	pem, _ := keys.GeneratePEM("EdDSA")
	cases := []struct {
		name string
		st   store.Store
		r    keys.Rotation
		opts []authframe.Option
		want string
	}{
		{"a KEK of 31 bytes", nil, keys.Rotation{KEK: kek[:31]}, nil, "at least 32"},
		{"a propagation no longer than the refresh", nil, keys.Rotation{KEK: kek, Propagation: time.Minute, Refresh: time.Minute}, nil, "must exceed Refresh"},
		{"a key's time no longer than its propagation", nil, keys.Rotation{KEK: kek, Every: time.Minute, Propagation: time.Minute, Refresh: time.Second}, nil, "must exceed Propagation"},
		{"an HMAC algorithm", nil, keys.Rotation{KEK: kek, Algorithm: "HS256"}, nil, "unsupported algorithm"},
		{"a negative refresh", nil, keys.Rotation{KEK: kek, Refresh: -time.Second}, nil, "must be positive"},
		{"a token lifetime shorter than the Guard's", nil, keys.Rotation{KEK: kek, TokenLifetime: time.Minute}, nil, "shorter than the Guard's"},
		{"a store that keeps no signing keys", storeOnly{memstore.New()}, keys.Rotation{KEK: kek}, nil, "does not keep signing keys"},
		{"a WithKey key that signs", nil, keys.Rotation{KEK: kek}, []authframe.Option{authframe.WithKey(authframe.Key{PEM: pem})}, "signs with the ring's keys only"},
		{"WithRotation twice", nil, keys.Rotation{KEK: kek}, []authframe.Option{keys.WithRotation(keys.Rotation{KEK: kek})}, "given twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			if st == nil {
				m := memstore.New()
				t.Cleanup(func() { m.Close() })
				st = m
			}
			if _, err := rotationGuard(t, st, tc.r, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	// A public key next to the ring only verifies: fine.
	st := memstore.New()
	defer st.Close()
	if _, err := rotationGuard(t, st, keys.Rotation{KEK: kek}, authframe.WithKey(authframe.Key{PEM: publicPEM(t, pem)})); err != nil {
		t.Fatalf("a verification key next to the ring: %v", err)
	}
}

func TestAnotherKEKCannotOpenTheRing(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	if _, err := rotationGuard(t, st, keys.Rotation{KEK: bytes.Repeat([]byte{1}, 32)}); err != nil {
		t.Fatal(err)
	}
	if _, err := rotationGuard(t, st, keys.Rotation{KEK: bytes.Repeat([]byte{2}, 32)}); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("New with another KEK = %v, want it refused", err)
	}
}

// A key published while an instance could not read the ring is learnt from the first token
// it signs, not refused until the next read.
func TestAnUnknownKidRefreshesTheRing(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	kek := bytes.Repeat([]byte{9}, 32)
	// b reads the ring every hour only; a key made by hand reaches it through the token.
	a, err := rotationGuard(t, st, keys.Rotation{KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	b, err := rotationGuard(t, st, keys.Rotation{KEK: kek, Refresh: time.Hour, Propagation: 2 * time.Hour, Every: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r := keys.Rotation{KEK: kek, Store: st, Propagation: 50 * time.Millisecond}
	next, err := keys.Generate(context.Background(), r)
	if err != nil || next.State != keys.Next {
		t.Fatalf("Generate = %+v, %v", next, err)
	}
	time.Sleep(60 * time.Millisecond)
	if _, err := keys.Promote(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	// A third instance with a short propagation signs with the promoted key at once.
	c, err := rotationGuard(t, st, keys.Rotation{KEK: kek, Refresh: 10 * time.Millisecond, Propagation: 50 * time.Millisecond, Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := c.IssueTokens(context.Background(), authframe.User{ID: "u"}, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, pair.AccessToken) != next.ID {
		t.Fatalf("signed with %s, want the promoted key %s", kidOf(t, pair.AccessToken), next.ID)
	}
	// On an unknown kid a Guard reads the ring again, unless it read it within the last
	// second (min(Refresh/2, 1 s)): a flood of tokens with made-up kids costs one read a
	// second. a and b read it at New.
	time.Sleep(time.Second)
	for _, g := range []*authframe.Guard{a, b} {
		if _, err := g.VerifyToken(context.Background(), pair.AccessToken); err != nil {
			t.Fatalf("a token of a key published since the last read was refused: %v", err)
		}
	}
}

// Instances sharing the KEK share the shared cache through a rotation: the MAC key and the
// fingerprint in its keys come from the KEK, not from the keys of the moment.
func TestInstancesShareTheCacheThroughARotation(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	kek := bytes.Repeat([]byte{4}, 32)
	shared := &memCache{m: map[string][]byte{}}
	var mu sync.Mutex
	tiers := map[string]int{}
	obs := authframe.WithObserver(audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.TokenValidated && e.Result == "ok" {
			mu.Lock()
			tiers[e.Tier]++
			mu.Unlock()
		}
	}))
	r := keys.Rotation{KEK: kek}
	cache := authframe.WithCache(authframe.CacheConfig{Shared: shared})
	a, err := rotationGuard(t, st, r, cache)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := a.IssueTokens(context.Background(), authframe.User{ID: "u"}, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyToken(context.Background(), pair.AccessToken); err != nil {
		t.Fatal(err)
	}
	// The ring moves on (a next key is published) before b starts.
	if _, err := keys.Generate(context.Background(), keys.Rotation{KEK: kek, Store: st}); err != nil {
		t.Fatal(err)
	}
	b, err := rotationGuard(t, st, r, cache, obs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.VerifyToken(context.Background(), pair.AccessToken); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if tiers["shared"] != 1 {
		t.Fatalf("b verified through tiers %v, want the shared cache's entry", tiers)
	}
}
