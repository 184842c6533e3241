package redisstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// The benchmarks put each store operation beside a plain go-redis GET of a value as large
// as the session record, on the same server and client: the GET is the floor of one round
// trip, and the store's target is at most 1.3 times it.
//
//	AUTHFRAME_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench . -benchmem -count 5

func benchSession(id string, now time.Time) store.Session {
	return store.Session{
		ID: id, UserID: "user-0123456789abcdef", Username: "alice@example.com", Roles: []string{"member", "billing:read"},
		Kind: "token", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		IP: "198.51.100.23", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(720 * time.Hour),
	}
}

// benchSeq numbers families across benchmarks and their repeated runs, so that no two
// share a session id or a token.
var benchSeq atomic.Uint64

func benchHash(worker, n uint64) []byte {
	h := make([]byte, 32)
	binary.BigEndian.PutUint64(h, worker)
	binary.BigEndian.PutUint64(h[8:], n)
	copy(h[16:], "refresh-token-hash")
	return h
}

// rawGetKey stores a string as large as the session hash's fields and values, for the GET.
func rawGetKey(b *testing.B, s *Store, sid string) string {
	ctx := context.Background()
	m, err := s.c.HGetAll(ctx, s.k.session(sid)).Result()
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for f, v := range m {
		size += len(f) + len(v)
	}
	key := s.k.prefix + "raw-get"
	if err := s.c.Set(ctx, key, strings.Repeat("x", size), 0).Err(); err != nil {
		b.Fatal(err)
	}
	b.Logf("session hash: %d fields, %d bytes; raw GET value: %d bytes", len(m), size, size)
	return key
}

func benchStore(b *testing.B) *Store {
	return newTestStore(b, testClient(b), WithCleanupInterval(0))
}

func BenchmarkSessionLookup(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	se := benchSession("bench-session", time.Now())
	if err := s.CreateSession(ctx, se); err != nil {
		b.Fatal(err)
	}
	raw := rawGetKey(b, s, se.ID)
	b.Run("redisstore GetSession", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := s.GetSession(ctx, se.ID); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("go-redis GET", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.c.Get(ctx, raw).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// rotations bounds a benchmark's family, as the refresh TTL bounds a real one.
const rotations = 1000

func BenchmarkRefreshSpend(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	now := time.Now()
	var sessions, n uint64
	next := func() string {
		sessions = benchSeq.Add(1)
		se := benchSession(fmt.Sprintf("bench-%d", sessions), now)
		if err := s.CreateSession(ctx, se); err != nil {
			b.Fatal(err)
		}
		n = 0
		if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: se.ID, Hash: benchHash(sessions, n), CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		return se.ID
	}
	sid := next()
	raw := rawGetKey(b, s, sid)
	b.Run("redisstore RotateRefreshToken", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n == rotations {
				b.StopTimer()
				sid = next()
				b.StartTimer()
			}
			// Each refresh a millisecond after the last, so that LastSeenAt moves as it does.
			if _, err := s.RotateRefreshToken(ctx, sid, benchHash(sessions, n), benchHash(sessions, n+1), now.Add(time.Duration(n+1)*time.Millisecond)); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
	b.Run("go-redis GET", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.c.Get(ctx, raw).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRefreshSpendParallel spends refresh tokens from 16 goroutines at once, each
// with its own family, as 16 clients refreshing together would.
func BenchmarkRefreshSpendParallel(b *testing.B) {
	const clients = 16
	s := benchStore(b)
	ctx := context.Background()
	now := time.Now()
	se := benchSession("bench-raw", now)
	if err := s.CreateSession(ctx, se); err != nil {
		b.Fatal(err)
	}
	raw := rawGetKey(b, s, se.ID)
	parallelism := (clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)

	b.Run("redisstore RotateRefreshToken", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			var w uint64
			var sid string
			var n uint64 = rotations
			for pb.Next() {
				if n == rotations {
					// A new family every 1000 spends: four round trips in 1000, inside
					// the timing (RunParallel has no StopTimer).
					w = benchSeq.Add(1)
					sid = fmt.Sprintf("bench-%d", w)
					if err := s.CreateSession(ctx, benchSession(sid, now)); err != nil {
						b.Fatal(err)
					}
					n = 0
					if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: sid, Hash: benchHash(w, 0), CreatedAt: now}); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := s.RotateRefreshToken(ctx, sid, benchHash(w, n), benchHash(w, n+1), now.Add(time.Duration(n+1)*time.Millisecond)); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	})
	b.Run("go-redis GET", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.c.Get(ctx, raw).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// The machines these run on are shared and their load moves by the second, so that two
// benchmarks run one after the other may see different machines. The Interleaved ones time
// the store's call and a raw GET in the same iteration and report both and their ratio
// (x-GET), which is what the 1.3 target is about. There is no parallel form: with 16
// goroutines each call's latency is mostly its wait behind the others, whatever the call,
// so the ratio would say nothing; BenchmarkRefreshSpendParallel compares throughput.

func reportPair(b *testing.B, store, get time.Duration, n int) {
	b.ReportMetric(float64(store.Nanoseconds())/float64(n), "store-ns/op")
	b.ReportMetric(float64(get.Nanoseconds())/float64(n), "GET-ns/op")
	b.ReportMetric(float64(store)/float64(get), "x-GET")
}

func BenchmarkInterleaved(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	now := time.Now()
	se := benchSession("bench-session", now)
	if err := s.CreateSession(ctx, se); err != nil {
		b.Fatal(err)
	}
	raw := rawGetKey(b, s, se.ID)

	b.Run("GetSession and GET", func(b *testing.B) {
		b.ReportAllocs()
		var st, gt time.Duration
		n := 0
		for b.Loop() {
			t0 := time.Now()
			if _, ok, err := s.GetSession(ctx, se.ID); !ok || err != nil {
				b.Fatal(ok, err)
			}
			t1 := time.Now()
			if err := s.c.Get(ctx, raw).Err(); err != nil {
				b.Fatal(err)
			}
			st, gt, n = st+t1.Sub(t0), gt+time.Since(t1), n+1
		}
		reportPair(b, st, gt, n)
	})

	b.Run("RotateRefreshToken and GET", func(b *testing.B) {
		b.ReportAllocs()
		var st, gt time.Duration
		var w, n uint64
		sid, i := "", 0
		n = rotations
		for b.Loop() {
			if n == rotations {
				b.StopTimer()
				w = benchSeq.Add(1)
				sid = fmt.Sprintf("bench-%d", w)
				if err := s.CreateSession(ctx, benchSession(sid, now)); err != nil {
					b.Fatal(err)
				}
				if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: sid, Hash: benchHash(w, 0), CreatedAt: now}); err != nil {
					b.Fatal(err)
				}
				n = 0
				b.StartTimer()
			}
			t0 := time.Now()
			if _, err := s.RotateRefreshToken(ctx, sid, benchHash(w, n), benchHash(w, n+1), now.Add(time.Duration(n+1)*time.Millisecond)); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := s.c.Get(ctx, raw).Err(); err != nil {
				b.Fatal(err)
			}
			st, gt, n, i = st+t1.Sub(t0), gt+time.Since(t1), n+1, i+1
		}
		reportPair(b, st, gt, i)
	})
}

// BenchmarkRevocationsSince reads the ten revocations of the last minute among a thousand,
// beside a go-redis ZRANGEBYSCORE of the same members.
func BenchmarkRevocationsSince(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	now := time.Now()
	for i := range 1000 {
		at := now.Add(-time.Duration(1000-i) * time.Minute)
		if err := s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Key: fmt.Sprintf("session-%04d", i), At: at, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	since := now.Add(-10*time.Minute - time.Second)
	b.Run("redisstore RevocationsSince", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rs, err := s.RevocationsSince(ctx, since); len(rs) != 10 || err != nil {
				b.Fatal(len(rs), err)
			}
		}
	})
	b.Run("go-redis ZRANGEBYSCORE", func(b *testing.B) {
		b.ReportAllocs()
		lo := fmt.Sprint(since.UnixMilli())
		for b.Loop() {
			if ms, err := s.c.ZRangeByScore(ctx, s.k.revAt, &redis.ZRangeBy{Min: lo, Max: "+inf"}).Result(); len(ms) != 10 || err != nil {
				b.Fatal(len(ms), err)
			}
		}
	})
}
