package authframe

import (
	"context"
	"github.com/authframe/authframe/core/audit"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func TestReplayedOlderUserRevocationKeepsTheLaterCutoff(t *testing.T) {
	s := &revocationSet{}
	t0 := time.Unix(1_800_000_000, 0)
	s.add(store.Revocation{Kind: store.RevokeUser, Key: "u", At: t0.Add(time.Hour), ExpiresAt: t0.Add(25 * time.Hour)}, false)
	s.add(store.Revocation{Kind: store.RevokeUser, Key: "u", At: t0, ExpiresAt: t0.Add(24 * time.Hour)}, false)
	p := &Principal{UserID: "u", Local: true, IssuedAt: t0.Add(30 * time.Minute)}
	if !s.revoked(p) {
		t.Fatal("a replayed older revocation lowered the user's cutoff: a token issued before the later revocation passes")
	}
	s.add(store.Revocation{Kind: store.RevokeSession, Key: "sid", At: t0, ExpiresAt: t0.Add(time.Hour)}, false)
	s.add(store.Revocation{Kind: store.RevokeSession, Key: "sid", At: t0, ExpiresAt: t0.Add(time.Minute)}, false)
	s.sweep(t0.Add(30*time.Minute), 24*time.Hour)
	if !s.revoked(&Principal{UserID: "x", SessionID: "sid"}) {
		t.Fatal("a replayed shorter session revocation shortened the longer one")
	}
}

func TestSweepKeepsARevocationRaisedWhileItLooks(t *testing.T) {
	s := &revocationSet{}
	t0 := time.Unix(1_800_000_000, 0)
	s.add(store.Revocation{Kind: store.RevokeSession, Key: "sid", At: t0, ExpiresAt: t0.Add(time.Minute)}, false)
	sweepHook = func() {
		// Between the sweep's "expired" and its delete, the session is revoked again.
		s.add(store.Revocation{Kind: store.RevokeSession, Key: "sid", At: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}, false)
	}
	defer func() { sweepHook = nil }()
	s.sweep(t0.Add(time.Hour), 24*time.Hour)
	if !s.revoked(&Principal{UserID: "x", SessionID: "sid"}) {
		t.Fatal("a revocation added while the sweep deleted its expired predecessor was lost")
	}
	if n := s.count.Load(); n != 1 {
		t.Fatalf("count = %d, want 1", n)
	}
}

func newFeedGuard(t *testing.T) *Guard {
	t.Helper()
	g, err := New(WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")), WithIssuer("i"), WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	g.l2mac = []byte("shared cache integrity key of 32 bytes!!")
	return g
}

func TestForgedRevocationsFromTheSharedCacheAreIgnored(t *testing.T) {
	g := newFeedGuard(t)
	w := &feedWatcher{set: g.revs, g: g, name: "cache", first: make(chan struct{}), authenticated: true}
	now := time.Now()
	forged := wireTimes(store.Revocation{Kind: store.RevokeUser, Key: "victim", At: now, ExpiresAt: now.Add(time.Hour)})
	w.Revoked(forged)
	forged.MAC = []byte("not a mac")
	w.Revoked(forged)
	if g.revs.revoked(&Principal{UserID: "victim", Local: true, IssuedAt: now.Add(-time.Minute)}) {
		t.Fatal("a revocation without a valid MAC was honoured")
	}
	genuine := forged
	genuine.MAC = g.revocationMAC(genuine)
	w.Revoked(genuine)
	if !g.revs.revoked(&Principal{UserID: "victim", Local: true, IssuedAt: now.Add(-time.Minute)}) {
		t.Fatal("a genuine revocation was refused")
	}
}

func TestRevocationsFromFeedsAreClamped(t *testing.T) {
	g := newFeedGuard(t)
	w := &feedWatcher{set: g.revs, g: g, name: "store", first: make(chan struct{})}
	now := time.Now()
	// A user revocation dated a year ahead would refuse every token for a year.
	w.Revoked(store.Revocation{Kind: store.RevokeUser, Key: "u", At: now.Add(365 * 24 * time.Hour), ExpiresAt: now.Add(400 * 24 * time.Hour)})
	if g.revs.revoked(&Principal{UserID: "u", Local: true, IssuedAt: now.Add(time.Hour)}) {
		t.Fatal("a revocation dated in the future covers tokens issued after it arrived")
	}
	w.Revoked(store.Revocation{Kind: store.RevokeSession, Key: "s", At: now, ExpiresAt: now.Add(10 * 365 * 24 * time.Hour)})
	v, _ := g.revs.sessions.Load("s")
	if v.(time.Time).After(now.Add(g.revocationHorizon() + time.Second)) {
		t.Fatalf("a session revocation is kept until %v, past the horizon", v)
	}
}

func TestRevocationSetIsCapped(t *testing.T) {
	g := newFeedGuard(t)
	g.revs.limit = 3
	var reported int
	g.obs = audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.DependencyError && e.Kind == "revocation_set" && e.Op == "full" {
			reported++
		}
	})
	w := &feedWatcher{set: g.revs, g: g, name: "store", first: make(chan struct{})}
	now := time.Now()
	for i := 0; i < 5; i++ {
		w.Revoked(store.Revocation{Kind: store.RevokeToken, Key: string(rune('a' + i)), At: now, ExpiresAt: now.Add(time.Minute)})
	}
	if n := g.revs.count.Load(); n != 3 {
		t.Fatalf("the set holds %d entries, cap 3", n)
	}
	if reported != 2 {
		t.Fatalf("the cap was reported %d times, want 2", reported)
	}
	if g.revocationsKnown() {
		t.Fatal("revocations were refused for the cap, yet tokens still pass as confirmed")
	}
	g.revs.sweep(now.Add(2*time.Minute), time.Hour)
	if !g.revocationsKnown() {
		t.Fatal("the set stays full after a sweep emptied it")
	}
}
