package rediscache_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	authframe "github.com/authframe/authframe/core"

	rediscache "github.com/authframe/authframe/cache/redis"
)

// BenchmarkL2Hit compares a shared-tier hit (deadline, breaker, prefixing) with the bare
// go-redis GET it wraps, on the value the Guard really stores for a token.
func BenchmarkL2Hit(b *testing.B) {
	client := newClient(b, redisURL(b), "")
	prefix := testPrefix(b, client)
	ctx := context.Background()
	c := newCache(b, client, rediscache.WithPrefix(prefix), relaxed)
	g := newQuietGuard(b, c, newStore(b))
	if _, err := g.VerifyToken(ctx, issue(b, g)); err != nil {
		b.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"v:*").Result()
	if err != nil || len(keys) != 1 {
		b.Fatalf("want one cached principal, got %v, %v", keys, err)
	}
	rkey := keys[0]
	key := rkey[len(prefix+"v:"):]
	val, err := client.Get(ctx, rkey).Bytes()
	if err != nil {
		b.Fatal(err)
	}
	rawKey := prefix + "w:" + key // same length as the cache's key
	if err := client.Set(ctx, rawKey, val, time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	b.Logf("value: %d bytes", len(val))

	b.Run("go-redis GET", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, err := client.Get(ctx, rawKey).Bytes(); err != nil || len(v) != len(val) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Cache.Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, ok, err := c.Get(ctx, key); err != nil || !ok || len(v) != len(val) {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyToken measures the Guard with the shared cache in place: an LRU hit
// (core's hot path, which must not notice the shared tier), a shared-tier hit, and an LRU
// miss with Redis down and the breaker open against the same miss with no shared cache.
func BenchmarkVerifyToken(b *testing.B) {
	url := redisURL(b)
	ctx := context.Background()

	b.Run("LRU hit, no shared cache", func(b *testing.B) {
		g := newQuietGuard(b, nil, newStore(b))
		tok := issue(b, g)
		if _, err := g.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.VerifyToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LRU hit with shared cache", func(b *testing.B) {
		client := newClient(b, url, "")
		c := newCache(b, client, rediscache.WithPrefix(testPrefix(b, client)), relaxed)
		g := newQuietGuard(b, c, newStore(b))
		tok := issue(b, g)
		if _, err := g.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.VerifyToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("shared-tier hit, LRU off", func(b *testing.B) {
		client := newClient(b, url, "")
		c := newCache(b, client, rediscache.WithPrefix(testPrefix(b, client)), relaxed)
		g := newQuietGuard(b, c, newStore(b), authframe.WithCache(authframe.CacheConfig{Disabled: true}))
		tok := issue(b, g)
		if _, err := g.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.VerifyToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})

	// The LRU is off so that every call misses it, as a token seen for the first time does.
	// Both Guards fail open, so both verify to the end.
	miss := func(b *testing.B, g *authframe.Guard) {
		tok := issue(b, g)
		if _, err := g.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.VerifyToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("LRU miss, no shared cache", func(b *testing.B) {
		g := newQuietGuard(b, nil, newStore(b), authframe.WithCache(authframe.CacheConfig{Disabled: true}), authframe.WithFailOpen(true))
		miss(b, g)
	})
	b.Run("LRU miss, Redis down, breaker open", func(b *testing.B) {
		dead := redis.NewClient(&redis.Options{Addr: deadAddr(b), ContextTimeoutEnabled: true})
		b.Cleanup(func() { _ = dead.Close() })
		c := newCache(b, dead, rediscache.WithCircuitBreaker(1, time.Hour))
		_, _, _ = c.Get(ctx, "trip")
		if s := c.BreakerState(); s != "open" {
			b.Fatalf("breaker %s, want open", s)
		}
		g := newQuietGuard(b, c, newStore(b), authframe.WithCache(authframe.CacheConfig{Disabled: true}), authframe.WithFailOpen(true))
		miss(b, g)
	})
}

// BenchmarkRefusedCall is what a call costs while the breaker is open.
func BenchmarkRefusedCall(b *testing.B) {
	dead := redis.NewClient(&redis.Options{Addr: deadAddr(b), ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = dead.Close() })
	c := newCache(b, dead, rediscache.WithCircuitBreaker(1, time.Hour))
	ctx := context.Background()
	_, _, _ = c.Get(ctx, "trip")
	key := "qqkWbI2HbWKhG8oVPBlyL0JmA8o9ITy2gH3Zq7sgdhQ"
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.Get(ctx, key); err == nil {
				b.Fatal("Get succeeded")
			}
		}
	})
	val := make([]byte, 200)
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Set(ctx, key, val, time.Minute); err == nil {
				b.Fatal("Set succeeded")
			}
		}
	})
}

// deadAddr is a local address where nothing listens.
func deadAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// paired runs x and y in alternating blocks of n operations, so that both see the same
// machine load (the shared CI box is anything but quiet), and reports each one's median
// block time per operation and the median of the per-block ratios x/y and differences x-y.
func paired(b *testing.B, n int, names [2]string, x, y func()) {
	b.Helper()
	var tx, ty, ratio, diff []float64
	run := func(f func()) float64 {
		start := time.Now()
		for range n {
			f()
		}
		return float64(time.Since(start).Nanoseconds()) / float64(n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		a, c := run(x), run(y)
		tx, ty = append(tx, a), append(ty, c)
		ratio, diff = append(ratio, a/c), append(diff, a-c)
	}
	b.ReportMetric(median(tx), names[0]+"-ns/op")
	b.ReportMetric(median(ty), names[1]+"-ns/op")
	b.ReportMetric(median(ratio), "ratio")
	b.ReportMetric(median(diff), "overhead-ns/op")
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkPaired holds the two comparisons the module is held to: a shared-tier hit
// against a bare go-redis GET (ratio), and an LRU miss with Redis down and the breaker open
// against the same miss without a shared cache (overhead).
func BenchmarkPaired(b *testing.B) {
	url := redisURL(b)
	ctx := context.Background()

	b.Run("Cache.Get vs go-redis GET", func(b *testing.B) {
		client := newClient(b, url, "")
		prefix := testPrefix(b, client)
		c := newCache(b, client, rediscache.WithPrefix(prefix), relaxed)
		val := make([]byte, 204) // the size of a real encoded principal, see BenchmarkL2Hit
		key := "qqkWbI2HbWKhG8oVPBlyL0JmA8o9ITy2gH3Zq7sgdhQ"
		rawKey := prefix + "w:" + key
		if err := c.Set(ctx, key, val, time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := client.Set(ctx, rawKey, val, time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
		paired(b, 50, [2]string{"cache", "raw"},
			func() {
				if _, ok, err := c.Get(ctx, key); err != nil || !ok {
					b.Fatal(err)
				}
			},
			func() {
				if _, err := client.Get(ctx, rawKey).Bytes(); err != nil {
					b.Fatal(err)
				}
			})
	})

	b.Run("LRU miss, breaker open vs no shared cache", func(b *testing.B) {
		dead := redis.NewClient(&redis.Options{Addr: deadAddr(b), ContextTimeoutEnabled: true})
		b.Cleanup(func() { _ = dead.Close() })
		c := newCache(b, dead, rediscache.WithCircuitBreaker(1, time.Hour))
		_, _, _ = c.Get(ctx, "trip")
		down := newQuietGuard(b, c, newStore(b), authframe.WithCache(authframe.CacheConfig{Disabled: true}), authframe.WithFailOpen(true))
		plain := newQuietGuard(b, nil, newStore(b), authframe.WithCache(authframe.CacheConfig{Disabled: true}), authframe.WithFailOpen(true))
		tokDown, tokPlain := issue(b, down), issue(b, plain)
		paired(b, 200, [2]string{"down", "plain"},
			func() {
				if _, err := down.VerifyToken(ctx, tokDown); err != nil {
					b.Fatal(err)
				}
			},
			func() {
				if _, err := plain.VerifyToken(ctx, tokPlain); err != nil {
					b.Fatal(err)
				}
			})
	})

	b.Run("LRU hit, shared cache vs none", func(b *testing.B) {
		client := newClient(b, url, "")
		c := newCache(b, client, rediscache.WithPrefix(testPrefix(b, client)), relaxed)
		with := newQuietGuard(b, c, newStore(b))
		without := newQuietGuard(b, nil, newStore(b))
		tokWith, tokWithout := issue(b, with), issue(b, without)
		for _, g := range []struct {
			g   *authframe.Guard
			tok string
		}{{with, tokWith}, {without, tokWithout}} {
			if _, err := g.g.VerifyToken(ctx, g.tok); err != nil {
				b.Fatal(err)
			}
		}
		paired(b, 10_000, [2]string{"with", "without"},
			func() { _, _ = with.VerifyToken(ctx, tokWith) },
			func() { _, _ = without.VerifyToken(ctx, tokWithout) })
	})
}
