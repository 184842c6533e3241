package memstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New(memstore.WithCleanupInterval(100 * time.Millisecond))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestCleanupRemovesExpiredRecords(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	s := memstore.New(memstore.WithClock(clock))
	defer s.Close()
	ctx := t.Context()
	if err := s.CreateSession(ctx, store.Session{ID: "a", UserID: "u", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s.Hit(ctx, "k", time.Second)
	now = now.Add(2 * time.Minute)
	s.Cleanup()
	st, _ := s.Stats(ctx)
	if st.LiveSessions != 0 {
		t.Fatalf("live sessions after cleanup = %d", st.LiveSessions)
	}
	if n, _, _ := s.Hit(ctx, "k", time.Second); n != 1 {
		t.Fatalf("rate counter survived its window: %d", n)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	s := memstore.New()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkGetSession(b *testing.B) {
	s := memstore.New()
	defer s.Close()
	now := time.Now()
	if err := s.CreateSession(b.Context(), store.Session{ID: "sid", UserID: "u", Roles: []string{"member"}, CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := s.GetSession(ctx, "sid"); !ok {
			b.Fatal("missing")
		}
	}
}

// Revocations added out of order (concurrent revokers) come back in At order, from the
// first at or after since, without the expired ones.
func TestRevocationsSinceKeepsTheOrderOfAt(t *testing.T) {
	st := memstore.New(memstore.WithCleanupInterval(0))
	defer st.Close()
	ctx := context.Background()
	base := time.Now().Truncate(time.Millisecond)
	for _, sec := range []int{5, 1, 3, 9, 7, 3, 0, 8} {
		exp := base.Add(time.Hour)
		if sec == 8 {
			exp = base.Add(-time.Second) // expired
		}
		if err := st.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Key: fmt.Sprint(sec), At: base.Add(time.Duration(sec) * time.Second), ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := st.RevocationsSince(ctx, base.Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Key)
	}
	if want := []string{"3", "3", "5", "7", "9"}; !slices.Equal(got, want) {
		t.Fatalf("RevocationsSince = %v, want %v", got, want)
	}
	if rs, _ := st.RevocationsSince(ctx, base.Add(10*time.Second)); len(rs) != 0 {
		t.Fatalf("nothing is at or after the last: got %v", rs)
	}
}
