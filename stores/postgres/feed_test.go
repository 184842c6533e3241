package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

// recorder is a store.RevocationWatcher that remembers what it was told.
type recorder struct {
	mu      sync.Mutex
	got     map[string]time.Time // key -> first delivery
	counts  map[string]int
	states  []bool
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{got: map[string]time.Time{}, counts: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) Revoked(rev store.Revocation) {
	r.mu.Lock()
	if _, ok := r.got[rev.Key]; !ok {
		r.got[rev.Key] = time.Now()
	}
	r.counts[rev.Key]++
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Synced(ok bool) {
	r.mu.Lock()
	r.states = append(r.states, ok)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond (called under the lock) holds.
func (r *recorder) waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

func (r *recorder) synced() bool { return len(r.states) > 0 && r.states[len(r.states)-1] }

// watch runs st.WatchRevocations(w) until the test ends and waits for the first sync.
func watch(t *testing.T, st *Store, w *recorder) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.WatchRevocations(ctx, w) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("WatchRevocations returned %v", err)
		}
	})
	w.waitFor(t, "the first Synced(true)", 5*time.Second, w.synced)
	return done
}

func TestRevocationFeed(t *testing.T) {
	p := testPool(t)
	ctx := testCtx(t)
	schema := freshSchema(t, p)
	a := openStore(t, p, WithSchema(schema))
	b := openStore(t, p, WithSchema(schema))
	other := openStore(t, p, WithSchema(schema), WithTablePrefix("other_"))

	now := time.Now()
	before := store.Revocation{Kind: store.RevokeUser, Key: "made-before-watching", At: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	expired := store.Revocation{Kind: store.RevokeToken, Key: "expired-before-watching", At: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}
	for _, r := range []store.Revocation{before, expired} {
		if err := a.AddRevocation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	w := newRecorder()
	watch(t, b, w)
	w.waitFor(t, "the replay of a revocation made before watching", time.Second, func() bool { _, ok := w.got[before.Key]; return ok })
	w.mu.Lock()
	_, replayedExpired := w.got[expired.Key]
	w.mu.Unlock()
	if replayedExpired {
		t.Fatal("the replay delivered an expired revocation")
	}

	t.Run("a revocation on one instance reaches another well under 100 ms", func(t *testing.T) {
		const n = 50
		lat := make([]time.Duration, 0, n)
		for i := range n {
			r := store.Revocation{Kind: store.RevokeSession, Key: fmt.Sprintf("sid-%d", i), At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
			start := time.Now()
			if err := a.AddRevocation(ctx, r); err != nil {
				t.Fatal(err)
			}
			var at time.Time
			w.waitFor(t, "revocation "+r.Key, 2*time.Second, func() bool { var ok bool; at, ok = w.got[r.Key]; return ok })
			lat = append(lat, at.Sub(start))
		}
		slices.Sort(lat)
		p50, p99 := lat[n/2], lat[n*99/100]
		t.Logf("NOTIFY delivery latency over %d revocations (AddRevocation call to Revoked on the other store): min %v, p50 %v, p99 %v, max %v",
			n, lat[0], p50, p99, lat[n-1])
		if p50 > 100*time.Millisecond {
			t.Fatalf("median delivery latency %v, want well under 100 ms", p50)
		}
	})

	t.Run("another prefix in the same schema is not heard", func(t *testing.T) {
		r := store.Revocation{Kind: store.RevokeSession, Key: "other-prefix", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := other.AddRevocation(ctx, r); err != nil {
			t.Fatal(err)
		}
		marker := store.Revocation{Kind: store.RevokeSession, Key: "marker", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := a.AddRevocation(ctx, marker); err != nil {
			t.Fatal(err)
		}
		w.waitFor(t, "the marker", 2*time.Second, func() bool { _, ok := w.got[marker.Key]; return ok })
		w.mu.Lock()
		_, heard := w.got[r.Key]
		w.mu.Unlock()
		if heard {
			t.Fatal("a store heard a revocation of another prefix")
		}
	})
}

func TestRevocationFeedRecoversFromAKilledConnection(t *testing.T) {
	p := testPool(t)
	ctx := testCtx(t)
	schema := freshSchema(t, p)
	a := openStore(t, p, WithSchema(schema))
	b := openStore(t, p, WithSchema(schema))
	// A long first backoff leaves time to revoke while the feed is down.
	b.cfg.minBackoff = 600 * time.Millisecond

	w := newRecorder()
	watch(t, b, w)

	for round := 1; round <= 2; round++ {
		pid := b.listenPID.Load()
		if pid == 0 {
			t.Fatal("no listener pid")
		}
		var killed bool
		if err := p.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&killed); err != nil || !killed {
			t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
		}
		lostAt := time.Now()
		w.waitFor(t, "Synced(false) after the kill", 5*time.Second, func() bool { return !w.synced() })
		t.Logf("round %d: Synced(false) %v after pg_terminate_backend", round, time.Since(lostAt))

		missed := store.Revocation{Kind: store.RevokeSession, Key: fmt.Sprintf("while-down-%d", round), At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := a.AddRevocation(ctx, missed); err != nil {
			t.Fatal(err)
		}
		w.waitFor(t, "Synced(true) after reconnecting", 10*time.Second, w.synced)
		t.Logf("round %d: Synced(true) again %v after the kill", round, time.Since(lostAt))
		w.mu.Lock()
		_, replayed := w.got[missed.Key]
		w.mu.Unlock()
		if !replayed {
			t.Fatal("a revocation made while the feed was down was not replayed before Synced(true)")
		}
		if b.listenPID.Load() == pid {
			t.Fatal("the feed kept the killed connection")
		}
	}

	live := store.Revocation{Kind: store.RevokeToken, Key: "after-recovery", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := a.AddRevocation(ctx, live); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "a notification after recovery", 2*time.Second, func() bool { _, ok := w.got[live.Key]; return ok })
	w.mu.Lock()
	states := slices.Clone(w.states)
	w.mu.Unlock()
	if !slices.Equal(states, []bool{true, false, true, false, true}) {
		t.Fatalf("Synced calls = %v, want true, false, true, false, true", states)
	}
}

func TestCloseEndsWatchRevocations(t *testing.T) {
	st := newTestStore(t)
	w := newRecorder()
	done := make(chan error, 1)
	go func() { done <- st.WatchRevocations(context.Background(), w) }()
	w.waitFor(t, "Synced(true)", 5*time.Second, w.synced)
	closed := make(chan struct{})
	go func() { st.Close(); close(closed) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("WatchRevocations after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WatchRevocations still running 5 s after Close")
	}
	<-closed
	if err := st.WatchRevocations(context.Background(), w); !errors.Is(err, ErrClosed) {
		t.Fatalf("WatchRevocations on a closed store = %v, want ErrClosed", err)
	}
}

func TestConcurrentRotationsAndDeletesDoNotDeadlock(t *testing.T) {
	st := newTestStore(t)
	ctx := testCtx(t)
	now := time.Now()
	var wg sync.WaitGroup
	for f := range 20 {
		id := fmt.Sprintf("fam-%d", f)
		if err := st.CreateSession(ctx, store.Session{ID: id, UserID: "u", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: id, Hash: []byte(id + "/0"), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.RotateRefreshToken(ctx, id, []byte(id+"/0"), []byte(fmt.Sprintf("%s/%d", id, i+1)), now)
				if err != nil && !errors.Is(err, store.ErrRefreshReused) && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("RotateRefreshToken: %v", err)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.DeleteSession(ctx, id); err != nil {
				t.Errorf("DeleteSession: %v", err)
			}
		}()
	}
	wg.Wait()
	var left int
	if err := st.pool.QueryRow(ctx, "SELECT count(*) FROM "+st.n.table("refresh_tokens")).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d refresh tokens outlived their deleted sessions", left)
	}
}
