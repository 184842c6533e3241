package memstore_test

import (
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
