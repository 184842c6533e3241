package rediscache_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"

	rediscache "github.com/authframe/authframe/cache/redis"
)

func TestGetSet(t *testing.T) {
	client := newClient(t, redisURL(t), "")
	prefix := testPrefix(t, client)
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, c *rediscache.Cache)
	}{
		{"a stored value comes back", func(t *testing.T, c *rediscache.Cache) {
			mustNotErr(t, c.Set(ctx, "k1", []byte("v1"), time.Minute), "Set")
			v, ok, err := c.Get(ctx, "k1")
			if err != nil || !ok || string(v) != "v1" {
				t.Fatalf("Get = %q, %v, %v", v, ok, err)
			}
		}},
		{"an unknown key is a plain miss", func(t *testing.T, c *rediscache.Cache) {
			v, ok, err := c.Get(ctx, "nothing-here")
			if err != nil || ok || v != nil {
				t.Fatalf("Get = %q, %v, %v", v, ok, err)
			}
		}},
		{"the entry lives under the prefix for at most its ttl", func(t *testing.T, c *rediscache.Cache) {
			mustNotErr(t, c.Set(ctx, "k2", []byte("v"), 1500*time.Millisecond+time.Microsecond), "Set")
			pttl, err := client.PTTL(ctx, prefix+"v:k2").Result()
			mustNotErr(t, err, "PTTL")
			if pttl <= 0 || pttl > 1500*time.Millisecond {
				t.Fatalf("PTTL = %v, want (0, 1.5s]", pttl)
			}
		}},
		{"an entry expires with its ttl", func(t *testing.T, c *rediscache.Cache) {
			mustNotErr(t, c.Set(ctx, "k3", []byte("v"), 30*time.Millisecond), "Set")
			eventually(t, 2*time.Second, "expiry", func() bool {
				_, ok, _ := c.Get(ctx, "k3")
				return !ok
			})
		}},
		{"a ttl under a millisecond stores nothing", func(t *testing.T, c *rediscache.Cache) {
			mustNotErr(t, c.Set(ctx, "k4", []byte("v"), time.Microsecond), "Set")
			mustNotErr(t, c.Set(ctx, "k4", []byte("v"), -time.Second), "Set")
			if n, _ := client.Exists(ctx, prefix+"v:k4").Result(); n != 0 {
				t.Fatal("stored an entry without a positive ttl")
			}
		}},
		{"ping answers", func(t *testing.T, c *rediscache.Cache) {
			mustNotErr(t, c.Ping(ctx), "Ping")
		}},
	}
	c := newCache(t, client, rediscache.WithPrefix(prefix), relaxed)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, c) })
	}
}

func revocation(kind store.RevocationKind, key string) store.Revocation {
	now := time.Now()
	return store.Revocation{Kind: kind, Key: key, At: now, ExpiresAt: now.Add(time.Minute)}
}

func TestRevocationFeed(t *testing.T) {
	url := redisURL(t)
	ctx := context.Background()

	t.Run("a revocation published on one instance reaches another in milliseconds", func(t *testing.T) {
		ca, cb := newClient(t, url, ""), newClient(t, url, "")
		prefix := testPrefix(t, ca)
		a := newCache(t, ca, rediscache.WithPrefix(prefix), relaxed)
		b := newCache(t, cb, rediscache.WithPrefix(prefix), relaxed)
		rec := watch(t, b)
		eventually(t, 3*time.Second, "first sync", rec.isSynced)

		var lat []time.Duration
		for i := range 50 {
			key := "sid-" + strconv.Itoa(i)
			start := time.Now()
			mustNotErr(t, a.PublishRevocation(ctx, revocation(store.RevokeSession, key)), "PublishRevocation")
			eventually(t, time.Second, "delivery", func() bool { _, ok := rec.deliveredAt(key); return ok })
			at, _ := rec.deliveredAt(key)
			lat = append(lat, at.Sub(start))
		}
		slices.Sort(lat)
		t.Logf("pub/sub delivery over %d revocations: p50 %v, p95 %v, max %v", len(lat), lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1])
		if p50 := lat[len(lat)/2]; p50 > 100*time.Millisecond {
			t.Errorf("median delivery %v, want at most 100ms on loopback", p50)
		}
	})

	t.Run("a revocation of every kind reaches another instance", func(t *testing.T) {
		ca, cb := newClient(t, url, ""), newClient(t, url, "")
		prefix := testPrefix(t, ca)
		a := newCache(t, ca, rediscache.WithPrefix(prefix), relaxed)
		b := newCache(t, cb, rediscache.WithPrefix(prefix), relaxed)
		rec := watch(t, b)
		eventually(t, 3*time.Second, "first sync", rec.isSynced)
		for _, kind := range []store.RevocationKind{store.RevokeSession, store.RevokeToken, store.RevokeUser, store.RevokeClient, store.RevokeAPIKey} {
			key := "every-kind-" + string(kind)
			mustNotErr(t, a.PublishRevocation(ctx, revocation(kind, key)), "PublishRevocation of kind %q", kind)
			eventually(t, time.Second, "delivery of kind "+string(kind), func() bool { _, ok := rec.deliveredAt(key); return ok })
		}
	})

	t.Run("a new watcher replays what was revoked before it started", func(t *testing.T) {
		client := newClient(t, url, "")
		prefix := testPrefix(t, client)
		a := newCache(t, client, rediscache.WithPrefix(prefix), relaxed)
		mustNotErr(t, a.PublishRevocation(ctx, revocation(store.RevokeUser, "early-user")), "publish")
		old := store.Revocation{Kind: store.RevokeToken, Key: "expired", At: time.Now().Add(-time.Hour), ExpiresAt: time.Now().Add(-time.Minute)}
		mustNotErr(t, a.PublishRevocation(ctx, old), "publish")
		rec := watch(t, newCache(t, client, rediscache.WithPrefix(prefix), relaxed))
		eventually(t, 3*time.Second, "first sync", rec.isSynced)
		if _, ok := rec.deliveredAt("early-user"); !ok {
			t.Fatal("the revocation made before the watcher started was not replayed before Synced(true)")
		}
		if _, ok := rec.deliveredAt("expired"); ok {
			t.Fatal("an expired revocation was replayed")
		}
		// The expired one was pruned by the next publication.
		mustNotErr(t, a.PublishRevocation(ctx, revocation(store.RevokeToken, "later")), "publish")
		members, _ := client.ZRange(ctx, prefix+"{revocations}:log", 0, -1).Result()
		for _, m := range members {
			if strings.Contains(m, `"expired"`) {
				t.Fatalf("expired revocation still in the log: %v", members)
			}
		}
		if ttl, _ := client.PTTL(ctx, prefix+"{revocations}:log").Result(); ttl <= 0 || ttl > time.Minute+time.Second {
			t.Fatalf("log PTTL = %v, want it to end with its last revocation", ttl)
		}
	})

	t.Run("a watcher whose subscription is killed resyncs and replays what it missed", func(t *testing.T) {
		name := "authframe-test-" + randomHex(4)
		ca, cb := newClient(t, url, ""), newClient(t, url, name)
		prefix := testPrefix(t, ca)
		a := newCache(t, ca, rediscache.WithPrefix(prefix), relaxed)
		b := newCache(t, cb, rediscache.WithPrefix(prefix), relaxed)
		rec := watch(t, b)
		eventually(t, 3*time.Second, "first sync", rec.isSynced)

		killPubSub(t, ca, name)
		eventually(t, 2*time.Second, "loss noticed", func() bool { return !rec.isSynced() })
		// Published while the watcher is away: only the replay can bring it.
		mustNotErr(t, a.PublishRevocation(ctx, revocation(store.RevokeSession, "while-away")), "publish")
		d := eventually(t, 2*time.Second, "resync", rec.isSynced)
		if _, ok := rec.deliveredAt("while-away"); !ok {
			t.Fatal("the revocation published during the disconnection was not replayed")
		}
		t.Logf("resynced %v after the loss was noticed; Synced history %v", d, rec.syncHistory())
		if h := rec.syncHistory(); !slices.Equal(h, []bool{true, false, true}) {
			t.Fatalf("Synced history %v, want [true false true]", h)
		}
	})

	t.Run("Close ends every watch", func(t *testing.T) {
		client := newClient(t, url, "")
		c, err := rediscache.New(context.Background(), client, rediscache.WithPrefix(testPrefix(t, client)))
		mustNotErr(t, err, "New")
		rec := &recorder{}
		done := make(chan error, 1)
		go func() { done <- c.WatchRevocations(context.Background(), rec) }()
		eventually(t, 3*time.Second, "first sync", rec.isSynced)
		_ = c.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("WatchRevocations: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not stop WatchRevocations")
		}
	})
}

// killPubSub kills the pub/sub connections of the client named name, and only those.
func killPubSub(t *testing.T, admin *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := admin.ClientList(ctx).Result()
	mustNotErr(t, err, "CLIENT LIST")
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["name"] == name && strings.Contains(f["flags"], "P") {
			id, _ := strconv.ParseInt(f["id"], 10, 64)
			mustNotErr(t, admin.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(), "CLIENT KILL")
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no pub/sub connection named %s", name)
	}
}

func TestRevocationsPublishedDuringAnOutageArePublishedLater(t *testing.T) {
	srv := startRedisServer(t)
	prefix := "authframe-test:" + randomHex(4) + ":"
	a := newCache(t, srv.client(t), rediscache.WithPrefix(prefix))
	b := newCache(t, srv.client(t), rediscache.WithPrefix(prefix))
	recA, recB := watch(t, a), watch(t, b)
	eventually(t, 3*time.Second, "first sync", func() bool { return recA.isSynced() && recB.isSynced() })

	srv.kill()
	eventually(t, 2*time.Second, "loss noticed", func() bool { return !recB.isSynced() })
	ctx := context.Background()
	if err := a.PublishRevocation(ctx, revocation(store.RevokeToken, "jti-during-outage")); err == nil {
		t.Fatal("PublishRevocation succeeded with Redis down")
	}
	srv.start()
	d := eventually(t, 3*time.Second, "held revocation delivered", func() bool {
		_, ok := recB.deliveredAt("jti-during-outage")
		return ok
	})
	t.Logf("the revocation held during the outage reached the other instance %v after Redis restarted", d)
}

func TestARevocationWhosePublicationTimedOutIsPublishedAtTheNextIdleMoment(t *testing.T) {
	srv := startRedisServer(t)
	prefix := "authframe-test:" + randomHex(4) + ":"
	a := newCache(t, srv.client(t), rediscache.WithPrefix(prefix))
	b := newCache(t, srv.client(t), rediscache.WithPrefix(prefix))
	recA, recB := watch(t, a), watch(t, b)
	eventually(t, 3*time.Second, "first sync", func() bool { return recA.isSynced() && recB.isSynced() })

	// A server that stalls for a moment, shorter than it takes a feed to give up on it.
	srv.signal(syscall.SIGSTOP)
	err := a.PublishRevocation(context.Background(), revocation(store.RevokeToken, "jti-slow"))
	srv.signal(syscall.SIGCONT)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PublishRevocation on a stalled server: %v, want a deadline error", err)
	}
	d := eventually(t, 2*time.Second, "held revocation delivered", func() bool {
		_, ok := recB.deliveredAt("jti-slow")
		return ok
	})
	t.Logf("delivered %v after the server resumed; Synced history of the publisher %v", d, recA.syncHistory())
}
