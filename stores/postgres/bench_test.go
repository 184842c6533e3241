package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authframe/authframe/core/store"
)

// The benchmarks set each store operation beside the plainest pgx statement that could
// serve it on the same server and pool: a SELECT of the same row by primary key (and, for
// the spend, which must commit a write, an UPDATE of one row by primary key). Run them with
//
//	AUTHFRAME_TEST_DATABASE_URL=... go test -run '^$' -bench . -count 5

// benchClients is the number of concurrent clients of the throughput benchmarks.
const benchClients = 16

func tokenHash(client, i int) []byte {
	h := make([]byte, 32)
	copy(h, "bench-refresh-token")
	binary.BigEndian.PutUint32(h[20:], uint32(client))
	binary.BigEndian.PutUint64(h[24:], uint64(i))
	return h
}

// benchSessions creates n live token sessions, each with its first refresh token
// tokenHash(client, 0). Like the Guard's token sessions they have no idle timeout.
func benchSessions(b *testing.B, st *Store, n int) []string {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	ids := make([]string, n)
	for c := range ids {
		ids[c] = fmt.Sprintf("bench-session-%02d-%s", c, "Xk2v9QeLr8TzA1bC0dEf")
		se := store.Session{ID: ids[c], UserID: "bench-user", Username: "bench", Roles: []string{"member"}, Kind: "token",
			UserAgent: "bench/1.0", IP: "192.0.2.1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)}
		if err := st.CreateSession(ctx, se); err != nil {
			b.Fatal(err)
		}
		if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: ids[c], Hash: tokenHash(c, 0), CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// rawSelect is the baseline: the session row by primary key with plain pgx, scanned into
// the same record, without the deadline filter.
func rawSelect(st *Store) func(ctx context.Context, id string, se *store.Session) error {
	q := "SELECT " + sessionCols + " FROM " + st.n.table("sessions") + " WHERE id = $1"
	return func(ctx context.Context, id string, se *store.Session) error {
		return st.pool.QueryRow(ctx, q, id).Scan(sessionDest(se)...)
	}
}

// rawUpdate is the write baseline: one row updated by primary key, committed.
func rawUpdate(st *Store) func(ctx context.Context, id string, now time.Time) error {
	q := "UPDATE " + st.n.table("sessions") + " SET last_seen_at = $2 WHERE id = $1"
	return func(ctx context.Context, id string, now time.Time) error {
		_, err := st.pool.Exec(ctx, q, id, now)
		return err
	}
}

func BenchmarkSessionLookup(b *testing.B) {
	st := newTestStore(b, WithCleanupInterval(0))
	id := benchSessions(b, st, 1)[0]
	ctx := context.Background()
	raw := rawSelect(st)

	b.Run("raw pgx select by primary key", func(b *testing.B) {
		b.ReportAllocs()
		var se store.Session
		for b.Loop() {
			if err := raw(ctx, id, &se); err != nil {
				b.Fatal(err)
			}
		}
	})
	lookup := func(st *Store) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := st.GetSession(ctx, id); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		}
	}
	b.Run("GetSession", lookup(st))
	b.Run("paired", func(b *testing.B) {
		var se store.Session
		paired(b, []string{"raw", "GetSession"},
			func() error { return raw(ctx, id, &se) },
			func() error { _, _, err := st.GetSession(ctx, id); return err })
	})
	// What the operation timeout costs (a timer context, which pgx then watches).
	b.Run("GetSession, WithTimeout(0)", lookup(openStore(b, st.pool, WithSchema(st.n.schema), WithCleanupInterval(0), WithTimeout(0))))
}

func BenchmarkRefreshSpend(b *testing.B) {
	st := newTestStore(b, WithCleanupInterval(0))
	id := benchSessions(b, st, 1)[0]
	ctx := context.Background()
	raw, update := rawSelect(st), rawUpdate(st)

	b.Run("raw pgx select by primary key", func(b *testing.B) {
		b.ReportAllocs()
		var se store.Session
		for b.Loop() {
			if err := raw(ctx, id, &se); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw pgx update by primary key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := update(ctx, id, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	i := 0 // the family's current token, across every run below
	rotate := func(st *Store) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.RotateRefreshToken(ctx, id, tokenHash(0, i), tokenHash(0, i+1), time.Now()); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}
	}
	b.Run("RotateRefreshToken", rotate(st))
	b.Run("paired", func(b *testing.B) {
		var se store.Session
		paired(b, []string{"select", "update", "Rotate"},
			func() error { return raw(ctx, id, &se) },
			func() error { return update(ctx, id, time.Now()) },
			func() error {
				_, err := st.RotateRefreshToken(ctx, id, tokenHash(0, i), tokenHash(0, i+1), time.Now())
				i++
				return err
			})
	})

	// The same two writes on a pool whose sessions do not wait for the WAL flush at
	// commit: what is left is the statements' own cost. (A deployment can choose this per
	// role with ALTER ROLE ... SET synchronous_commit = off, trading the last few hundred
	// milliseconds of spends on a server crash for latency; pgstore does not choose it.)
	async := asyncPool(b)
	ast := openStore(b, async, WithSchema(st.n.schema), WithCleanupInterval(0))
	asyncUpdate := rawUpdate(ast)
	b.Run("raw pgx update by primary key, synchronous_commit=off", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := asyncUpdate(ctx, id, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RotateRefreshToken, synchronous_commit=off", rotate(ast))
}

func asyncPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(testPool(b).Config().ConnString())
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	return p
}

// paired runs the operations in turn, one of each per iteration, so that they all meet the
// same load (a shared machine's noise cancels out of the ratios), and reports the mean
// latency of each and its ratio to each one before it.
func paired(b *testing.B, names []string, ops ...func() error) {
	b.ReportAllocs()
	total := make([]time.Duration, len(ops))
	for b.Loop() {
		for k, op := range ops {
			start := time.Now()
			if err := op(); err != nil {
				b.Fatal(err)
			}
			total[k] += time.Since(start)
		}
	}
	for k := range ops {
		b.ReportMetric(float64(total[k].Microseconds())/float64(b.N), names[k]+"-µs")
		for j := range k {
			b.ReportMetric(float64(total[k])/float64(total[j]), names[k]+"/"+names[j])
		}
	}
	b.ReportMetric(0, "ns/op") // the sum of the operations means nothing
}

// clients runs op from benchClients goroutines until b.N operations are done and reports
// the throughput.
func clients(b *testing.B, op func(client, i int) error) {
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	for c := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if err := op(c, int(n)); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkRefreshSpend16Clients(b *testing.B) {
	st := newTestStore(b, WithCleanupInterval(0))
	ids := benchSessions(b, st, benchClients)
	ctx := context.Background()
	raw, update := rawSelect(st), rawUpdate(st)
	// Each client rotates its own family; seq is its current token, across runs.
	seq := make([]int, benchClients)

	b.Run("raw pgx select by primary key", func(b *testing.B) {
		clients(b, func(c, _ int) error {
			var se store.Session
			return raw(ctx, ids[c], &se)
		})
	})
	b.Run("raw pgx update by primary key", func(b *testing.B) {
		clients(b, func(c, _ int) error { return update(ctx, ids[c], time.Now()) })
	})
	b.Run("RotateRefreshToken", func(b *testing.B) {
		clients(b, func(c, _ int) error {
			_, err := st.RotateRefreshToken(ctx, ids[c], tokenHash(c, seq[c]), tokenHash(c, seq[c]+1), time.Now())
			seq[c]++
			return err
		})
	})
}

// BenchmarkRevocationsSince sets the revocation check beside the plainest read of the same
// rows, as the scale cells do: ten of a thousand unexpired revocations. Both statements are
// prepared by pgx and run far more than five times, so PostgreSQL serves them from its
// cached (generic) plans, as in production.
func BenchmarkRevocationsSince(b *testing.B) {
	st := newTestStore(b, WithCleanupInterval(0))
	ctx := context.Background()
	now := time.Now()
	for i := range 1000 {
		r := store.Revocation{Kind: store.RevokeSession, Key: fmt.Sprintf("bench-%04d", i),
			At: now.Add(time.Duration(i-1000) * time.Second), ExpiresAt: now.Add(time.Hour)}
		if err := st.AddRevocation(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.pool.Exec(ctx, "ANALYZE "+st.n.table("revocations")); err != nil {
		b.Fatal(err)
	}
	since := now.Add(-10 * time.Second)
	raw := "SELECT kind, key, at, expires_at FROM " + st.n.table("revocations") + " WHERE at >= $1 ORDER BY at"
	b.Run("paired", func(b *testing.B) {
		paired(b, []string{"raw", "RevocationsSince"},
			func() error {
				rows, err := st.pool.Query(ctx, raw, since)
				if err != nil {
					return err
				}
				var r store.Revocation
				var kind string
				got := 0
				_, err = pgx.ForEachRow(rows, []any{&kind, &r.Key, &r.At, &r.ExpiresAt}, func() error { got++; return nil })
				if err == nil && got != 10 {
					err = fmt.Errorf("raw read %d revocations, want 10", got)
				}
				return err
			},
			func() error {
				rs, err := st.RevocationsSince(ctx, since)
				if err == nil && len(rs) != 10 {
					err = fmt.Errorf("RevocationsSince = %d revocations, want 10", len(rs))
				}
				return err
			})
	})
}

// BenchmarkCleanupBacklog sweeps a backlog of expired sessions, each with a refresh token,
// and reports the cost per session: it must not grow with the backlog.
func BenchmarkCleanupBacklog(b *testing.B) {
	for _, n := range []int{10_000, 40_000, 160_000} {
		b.Run(fmt.Sprintf("expired=%d", n), func(b *testing.B) {
			st := newTestStore(b, WithCleanupInterval(0))
			ctx := context.Background()
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				if _, err := st.pool.Exec(ctx, "INSERT INTO "+st.n.table("sessions")+` (id, user_id, username, roles, kind, created_at, last_seen_at, expires_at, deadline)
					SELECT 's' || g, 'u' || g, 'user' || g, '{member}', 'token', now() - interval '2 days', now() - interval '2 days',
						now() - interval '1 day' + g * interval '1 ms', now() - interval '1 day' + g * interval '1 ms'
					FROM generate_series(1, $1) g`, n); err != nil {
					b.Fatal(err)
				}
				if _, err := st.pool.Exec(ctx, "INSERT INTO "+st.n.table("refresh_tokens")+` (session_id, hash, spent, created_at)
					SELECT 's' || g, sha256(g::text::bytea), false, now() FROM generate_series(1, $1) g`, n); err != nil {
					b.Fatal(err)
				}
				if _, err := st.pool.Exec(ctx, "ANALYZE "+st.n.table("sessions")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				got, err := st.Cleanup(ctx)
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if got != int64(n) {
					b.Fatalf("Cleanup deleted %d rows, want %d", got, n)
				}
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/session")
		})
	}
}
