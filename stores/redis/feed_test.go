package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// recorder is a store.RevocationWatcher that tests can wait on.
type recorder struct {
	revoked chan store.Revocation
	synced  chan bool

	mu    sync.Mutex
	state []bool
}

func newRecorder() *recorder {
	return &recorder{revoked: make(chan store.Revocation, 1000), synced: make(chan bool, 100)}
}

func (r *recorder) Revoked(rv store.Revocation) { r.revoked <- rv }

func (r *recorder) Synced(ok bool) {
	r.mu.Lock()
	r.state = append(r.state, ok)
	r.mu.Unlock()
	r.synced <- ok
}

func (r *recorder) waitSynced(t *testing.T, want bool, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ok := <-r.synced:
			if ok == want {
				return
			}
		case <-deadline:
			t.Fatalf("no Synced(%v) within %v", want, within)
		}
	}
}

// waitKey waits for a revocation of key, skipping others (replays included).
func (r *recorder) waitKey(t *testing.T, key string, within time.Duration) store.Revocation {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case rv := <-r.revoked:
			if rv.Key == key {
				return rv
			}
		case <-deadline:
			t.Fatalf("revocation %s not delivered within %v", key, within)
		}
	}
}

// watch runs WatchRevocations until the test ends and checks what it returns.
func watch(t *testing.T, s *Store, w store.RevocationWatcher) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.WatchRevocations(ctx, w) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				err = errors.New("WatchRevocations did not return within 5s of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestRevocationFeedDeliversAcrossInstances is the cross-instance path: two Stores on one
// prefix, each with its own client, as two app instances would have.
func TestRevocationFeedDeliversAcrossInstances(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"on a standalone server", func(t *testing.T) redis.UniversalClient {
			c := redis.NewClient(testOptions(t))
			t.Cleanup(func() { _ = c.Close() })
			return c
		}},
		{"on a Cluster", func(t *testing.T) redis.UniversalClient { return testClusterClient(t) }},
		{"behind Sentinel", func(t *testing.T) redis.UniversalClient { return testSentinelClient(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := tc.client(t), tc.client(t)
			prefix := testPrefix(t, ca)
			a, b := newTestStoreOn(t, ca, prefix), newTestStoreOn(t, cb, prefix)
			ctx := testCtx(t)

			// Made before the watcher starts: replayed on its first connection.
			before := store.Revocation{Kind: store.RevokeUser, Key: "before", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
			if err := a.AddRevocation(ctx, before); err != nil {
				t.Fatal(err)
			}
			w := newRecorder()
			stop := watch(t, b, w)
			w.waitSynced(t, true, 5*time.Second)
			if got := w.waitKey(t, "before", time.Second); got.Kind != store.RevokeUser {
				t.Fatalf("replayed %+v", got)
			}

			var lat []time.Duration
			for i := range 20 {
				now := time.Now()
				r := store.Revocation{Kind: store.RevokeSession, Key: fmt.Sprintf("s%d", i), At: now, ExpiresAt: now.Add(time.Hour)}
				start := time.Now()
				if err := a.AddRevocation(ctx, r); err != nil {
					t.Fatal(err)
				}
				got := w.waitKey(t, r.Key, time.Second)
				lat = append(lat, time.Since(start))
				if got.Kind != r.Kind || got.At.UnixMilli() != r.At.UnixMilli() || got.ExpiresAt.UnixMilli() != r.ExpiresAt.UnixMilli() {
					t.Fatalf("delivered %+v, want %+v", got, r)
				}
			}
			slices.Sort(lat)
			t.Logf("AddRevocation on one instance to Revoked on the other, 20 runs: median %v, max %v", lat[len(lat)/2], lat[len(lat)-1])
			if lat[len(lat)-1] >= 100*time.Millisecond {
				t.Errorf("slowest delivery took %v, want well under 100ms", lat[len(lat)-1])
			}
			if err := stop(); err != nil {
				t.Fatalf("WatchRevocations returned %v when its context ended, want nil", err)
			}
		})
	}
}

// feedOverProxy returns a Store whose client reaches Redis through a proxy, tuned so that
// the feed notices a loss and comes back within a test's patience.
func feedOverProxy(t *testing.T) (direct, viaProxy *Store, p *proxy) {
	t.Helper()
	opt := testOptions(t)
	p = newProxy(t, opt.Addr)
	direct = newTestStore(t, testClient(t))
	popt := *opt
	popt.Addr = p.addr()
	popt.DialTimeout = 200 * time.Millisecond
	popt.ReadTimeout = 200 * time.Millisecond
	popt.WriteTimeout = 200 * time.Millisecond
	popt.MaxRetries = -1
	pc := redis.NewClient(&popt)
	t.Cleanup(func() { _ = pc.Close() })
	viaProxy = newTestStoreOn(t, pc, direct.cfg.prefix)
	viaProxy.cfg.heartbeat = 100 * time.Millisecond
	viaProxy.cfg.minBackoff = 20 * time.Millisecond
	viaProxy.cfg.maxBackoff = 200 * time.Millisecond
	return direct, viaProxy, p
}

func TestRevocationFeedReplaysWhatItMissedWhileCut(t *testing.T) {
	a, b, p := feedOverProxy(t)
	ctx := testCtx(t)
	w := newRecorder()
	watch(t, b, w)
	w.waitSynced(t, true, 5*time.Second)

	p.cut()
	w.waitSynced(t, false, 2*time.Second)
	now := time.Now()
	missed := store.Revocation{Kind: store.RevokeToken, Key: "missed", At: now, ExpiresAt: now.Add(time.Hour)}
	if err := a.AddRevocation(ctx, missed); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a few failed reconnections
	select {
	case rv := <-w.revoked:
		t.Fatalf("delivered %+v while cut off", rv)
	default:
	}

	p.restore()
	w.waitSynced(t, true, 3*time.Second)
	w.waitKey(t, "missed", time.Second)

	after := store.Revocation{Kind: store.RevokeToken, Key: "after", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := a.AddRevocation(ctx, after); err != nil {
		t.Fatal(err)
	}
	w.waitKey(t, "after", time.Second)
}

func TestRevocationFeedNoticesASilentConnection(t *testing.T) {
	a, b, p := feedOverProxy(t)
	ctx := testCtx(t)
	w := newRecorder()
	watch(t, b, w)
	w.waitSynced(t, true, 5*time.Second)

	p.stall()
	start := time.Now()
	w.waitSynced(t, false, 2*time.Second)
	t.Logf("a stalled connection was noticed after %v", time.Since(start))
	missed := store.Revocation{Kind: store.RevokeSession, Key: "missed", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := a.AddRevocation(ctx, missed); err != nil {
		t.Fatal(err)
	}
	p.restore()
	w.waitSynced(t, true, 3*time.Second)
	w.waitKey(t, "missed", time.Second)
}

func TestWatchRevocationsEndsWithClose(t *testing.T) {
	s := newTestStore(t, testClient(t))
	w := newRecorder()
	done := make(chan error, 1)
	go func() { done <- s.WatchRevocations(context.Background(), w) }()
	w.waitSynced(t, true, 5*time.Second)
	_ = s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("WatchRevocations after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WatchRevocations did not return after Close")
	}
	w.waitSynced(t, false, time.Second)
	if err := s.WatchRevocations(context.Background(), w); !errors.Is(err, ErrClosed) {
		t.Fatalf("WatchRevocations on a closed Store = %v, want ErrClosed", err)
	}
}

func TestWatchRevocationsKeepsTryingWhileRedisIsDown(t *testing.T) {
	_, b, p := feedOverProxy(t)
	p.cut()
	w := newRecorder()
	stop := watch(t, b, w)
	time.Sleep(300 * time.Millisecond)
	select {
	case ok := <-w.synced:
		t.Fatalf("Synced(%v) while Redis was unreachable", ok)
	default:
	}
	p.restore()
	w.waitSynced(t, true, 3*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestAQuietFeedStaysInSync(t *testing.T) {
	_, b, _ := feedOverProxy(t)
	b.cfg.heartbeat = 50 * time.Millisecond
	w := newRecorder()
	watch(t, b, w)
	w.waitSynced(t, true, 5*time.Second)
	// Ten heartbeats without a message: each ping must be answered and recognised.
	time.Sleep(500 * time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Equal(w.state, []bool{true}) {
		t.Fatalf("Synced calls on a quiet, healthy connection = %v, want [true]", w.state)
	}
}
