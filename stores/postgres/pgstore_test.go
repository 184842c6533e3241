package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/storetest"
)

const envURL = "AUTHFRAME_TEST_DATABASE_URL"

var (
	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error
)

// testPool returns the pool shared by every test of the package, or skips when no test
// database is configured.
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		msg := fmt.Sprintf("%s is not set: run the PostgreSQL tests with, for example,\n"+
			"  %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./...", envURL, envURL)
		if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg + "\n(AUTHFRAME_REQUIRE_INTEGRATION=1 forbids skipping)")
		}
		t.Skip(msg)
	}
	poolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			poolErr = err
			return
		}
		cfg.MaxConns = 16
		pool, poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
		if poolErr == nil {
			poolErr = pool.Ping(context.Background())
		}
	})
	if poolErr != nil {
		t.Fatalf("connecting to %s: %v", envURL, poolErr)
	}
	return pool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pool != nil {
		pool.Close()
	}
	os.Exit(code)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// freshSchema names a schema of its own for one test and drops it when the test ends, so
// that tests, and packages tested in parallel, never see each other's rows.
func freshSchema(t testing.TB, p *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "af_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := p.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
}

// newTestStore returns a migrated Store on a fresh schema, closed at the end of the test.
func newTestStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	p := testPool(t)
	schema := freshSchema(t, p)
	return openStore(t, p, append([]Option{WithSchema(schema)}, opts...)...)
}

func openStore(t testing.TB, p *pgxpool.Pool, opts ...Option) *Store {
	t.Helper()
	st, err := New(testCtx(t), p, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	testPool(t)
	// A generous timeout: the suite checks behaviour, and a loaded machine must not turn
	// 20 concurrent inserts into a flake (the timeout itself is tested by the breaker tests).
	t.Run("families in the session row", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t, WithTimeout(5*time.Second)) })
	})
	t.Run("families in the table", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, WithTimeout(5*time.Second), WithLegacyRefreshFamilies())
		})
	})
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	// A pool that would fail to connect: New must reject the options before using it.
	p, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tests := []struct {
		name string
		pool *pgxpool.Pool
		opts []Option
		want string
	}{
		{"a nil pool is refused", nil, nil, "nil pool"},
		{"an empty schema is refused", p, []Option{WithSchema("")}, "WithSchema"},
		{"a schema with a quote is refused", p, []Option{WithSchema(`x"; DROP TABLE y; --`)}, "WithSchema"},
		{"a schema starting with a digit is refused", p, []Option{WithSchema("1st")}, "WithSchema"},
		{"an upper-case prefix is refused", p, []Option{WithTablePrefix("Auth_")}, "WithTablePrefix"},
		{"a prefix too long for index names is refused", p, []Option{WithTablePrefix(strings.Repeat("p", 40))}, "WithTablePrefix"},
		{"a schema over 63 bytes is refused", p, []Option{WithSchema(strings.Repeat("s", 64))}, "WithSchema"},
		{"a negative cleanup interval is refused", p, []Option{WithCleanupInterval(-time.Second)}, "WithCleanupInterval"},
		{"a nil logger is refused", p, []Option{WithLogger(nil)}, "WithLogger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := New(context.Background(), tt.pool, tt.opts...)
			if err == nil {
				st.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestNewWithoutMigrateDoesNotTouchTheDatabase(t *testing.T) {
	p, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st, err := New(context.Background(), p, WithMigrate(false), WithCleanupInterval(0))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// countingHandler counts log records by message.
type countingHandler struct {
	mu     sync.Mutex
	counts map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.counts[r.Message]++
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[msg]
}

func TestMigrate(t *testing.T) {
	p := testPool(t)
	ctx := testCtx(t)

	t.Run("five instances starting at once on a fresh schema migrate once", func(t *testing.T) {
		schema := freshSchema(t, p)
		h := &countingHandler{counts: map[string]int{}}
		var wg sync.WaitGroup
		errs := make([]error, 5)
		start := make(chan struct{})
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := New(ctx, p, WithSchema(schema), WithLogger(slog.New(h)), WithCleanupInterval(0))
				if err == nil {
					st.Close()
				}
				errs[i] = err
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("instance %d: %v", i, err)
			}
		}
		migs, _ := loadMigrations(names{schema: schema, prefix: "authframe_"})
		if got := h.count("pgstore: applied migration"); got != len(migs) {
			t.Fatalf("%d migrations applied across the instances, want %d (each once)", got, len(migs))
		}
		var n int
		if err := p.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "authframe_schema_migrations"}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(migs) {
			t.Fatalf("schema_migrations holds %d rows, want %d", n, len(migs))
		}
	})

	t.Run("five concurrent Migrate calls on one store all succeed", func(t *testing.T) {
		schema := freshSchema(t, p)
		h := &countingHandler{counts: map[string]int{}}
		st := openStore(t, p, WithSchema(schema), WithMigrate(false), WithLogger(slog.New(h)))
		var wg sync.WaitGroup
		errs := make([]error, 5)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = st.Migrate(ctx) }()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Migrate %d: %v", i, err)
			}
		}
		if got, want := h.count("pgstore: applied migration"), len(st.migrations); got != want {
			t.Fatalf("applied %d migrations, want %d", got, want)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate of an up-to-date schema: %v", err)
		}
		if got, want := h.count("pgstore: applied migration"), len(st.migrations); got != want {
			t.Fatalf("a second Migrate applied migrations again (%d, want %d)", got, want)
		}
	})

	t.Run("two prefixes in one schema are separate stores", func(t *testing.T) {
		schema := freshSchema(t, p)
		a := openStore(t, p, WithSchema(schema), WithTablePrefix("a_"))
		b := openStore(t, p, WithSchema(schema), WithTablePrefix(""))
		now := time.Now()
		u := store.User{ID: "u1", Username: "same", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
		if err := a.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := b.CreateUser(ctx, u); err != nil {
			t.Fatalf("the same user in the second prefix: %v", err)
		}
		if a.n.channel() == b.n.channel() || a.n.lockKey() == b.n.lockKey() {
			t.Fatal("two prefixes share a channel or a lock")
		}
	})
}

func TestExpiredSessionIDIsTakenOverWithoutItsFamily(t *testing.T) {
	st := newTestStore(t)
	ctx := testCtx(t)
	now := time.Now()
	se := store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(200 * time.Millisecond)}
	if err := st.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: []byte("old"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	se.ExpiresAt = time.Now().Add(time.Hour)
	if err := st.CreateSession(ctx, se); err != nil {
		t.Fatalf("CreateSession over an expired id: %v", err)
	}
	if _, err := st.RotateRefreshToken(ctx, "s1", []byte("old"), []byte("new"), time.Now()); err != store.ErrNotFound {
		t.Fatalf("the old family survived: RotateRefreshToken = %v", err)
	}
	if err := st.CreateSession(ctx, se); err != store.ErrConflict {
		t.Fatalf("CreateSession over a live id = %v, want ErrConflict", err)
	}
}

func TestRotationDetailsAreAtomic(t *testing.T) {
	st := newTestStore(t)
	ctx := testCtx(t)
	now := time.Now().Truncate(time.Millisecond)
	se := store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Minute, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"a", "taken"} {
		if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: []byte(h), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		old, new string
		want     error
	}{
		{"a new hash already in use is a conflict and spends nothing", "a", "taken", store.ErrConflict},
		{"the old token is still spendable after the failed rotation", "a", "b", nil},
		{"a token of no family is not found", "nope", "c", store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.RotateRefreshToken(ctx, "s1", []byte(tt.old), []byte(tt.new), now.Add(time.Second))
			if err != tt.want {
				t.Fatalf("RotateRefreshToken = %v, want %v", err, tt.want)
			}
		})
	}
	got, ok, err := st.GetSession(ctx, "s1")
	if err != nil || !ok {
		t.Fatalf("GetSession = %v, %v", ok, err)
	}
	if want := now.Add(time.Second + time.Minute); !got.Deadline().Equal(want) {
		t.Fatalf("idle deadline after rotation = %v, want %v", got.Deadline(), want)
	}
}

func TestCleanupJobDeletesExpiredRows(t *testing.T) {
	// Families in the table, so that the cascade from a session to its family is checked
	// too; a family in the row goes with its row.
	st := newTestStore(t, WithCleanupInterval(100*time.Millisecond), WithLegacyRefreshFamilies())
	ctx := testCtx(t)
	now := time.Now()
	short := now.Add(300 * time.Millisecond)
	mk := func(id string, exp time.Time) {
		t.Helper()
		if err := st.CreateSession(ctx, store.Session{ID: id, UserID: "u", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: id, Hash: []byte("rt-" + id), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	mk("dying", short)
	mk("living", now.Add(time.Hour))
	for _, r := range []store.Revocation{
		{Kind: store.RevokeToken, Key: "dying", At: now, ExpiresAt: short},
		{Kind: store.RevokeToken, Key: "living", At: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := st.AddRevocation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.Hit(ctx, "dying", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Hit(ctx, "living", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, k := range []store.APIKey{
		{ID: "dying", UserID: "u", Hash: []byte("dying"), CreatedAt: now, ExpiresAt: short},
		{ID: "living", UserID: "u", Hash: []byte("living"), CreatedAt: now},
	} {
		if err := st.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for key, until := range map[string]time.Time{"dying": short, "living": now.Add(time.Hour)} {
		if fresh, err := st.Remember(ctx, key, until); !fresh || err != nil {
			t.Fatalf("Remember = %v, %v", fresh, err)
		}
	}

	count := func(table string) int {
		var n int
		if err := st.pool.QueryRow(ctx, "SELECT count(*) FROM "+st.n.table(table)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tables := []string{"sessions", "refresh_tokens", "revocations", "rate_limits", "api_keys", "replay"}
	for _, tb := range tables {
		if n := count(tb); n != 2 {
			t.Fatalf("%s holds %d rows before expiry, want 2", tb, n)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := 0
		for _, tb := range tables {
			left += count(tb)
		}
		if left == len(tables) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired rows are still there after 5 s (%d rows in all, want %d)", left, len(tables))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok, _ := st.GetSession(ctx, "living"); !ok {
		t.Fatal("the cleanup deleted a live session")
	}
	var key string
	if err := st.pool.QueryRow(ctx, "SELECT session_id FROM "+st.n.table("refresh_tokens")).Scan(&key); err != nil || key != "living" {
		t.Fatalf("the refresh token left is %q, %v; want the living session's", key, err)
	}
	if _, ok, _ := st.GetAPIKeyByHash(ctx, []byte("living")); !ok {
		t.Fatal("the cleanup deleted an API key without expiry")
	}
	if fresh, _ := st.Remember(ctx, "living", now.Add(time.Hour)); fresh {
		t.Fatal("the cleanup deleted a replay key before its expiry")
	}
}

func TestCleanupInBatches(t *testing.T) {
	st := newTestStore(t, WithCleanupInterval(0))
	ctx := testCtx(t)
	past := time.Now().Add(-time.Hour)
	// More expired rate-limit rows than one batch, inserted directly.
	if _, err := st.pool.Exec(ctx, fmt.Sprintf("INSERT INTO %s (key, count, reset_at) SELECT 'k' || g, 1, $1 FROM generate_series(1, %d) g",
		st.n.table("rate_limits"), cleanupBatch*2+7), past); err != nil {
		t.Fatal(err)
	}
	n, err := st.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != cleanupBatch*2+7 {
		t.Fatalf("Cleanup deleted %d rows, want %d", n, cleanupBatch*2+7)
	}
}

// TestAPIKeyLookupsUseTheirIndexes checks the plans of the statements that run on a table
// that may grow with every user: with sequential scans priced out, each must find an index
// of its own (on a tiny test table the planner would rightly scan instead).
func TestAPIKeyLookupsUseTheirIndexes(t *testing.T) {
	st := newTestStore(t, WithCleanupInterval(0))
	ctx := testCtx(t)
	now := time.Now()
	for _, tc := range []struct {
		name, query, index string
		args               []any
	}{
		{"the lookup by hash", st.q.getAPIKeyByHash, "api_keys_hash_key", []any{[]byte("h"), now}},
		{"the listing of a user's keys", st.q.listAPIKeys, "api_keys_user_id_idx", []any{"u1", now}},
		{"the cleanup of expired keys", st.q.cleanupAPIKeys, "api_keys_expires_at_idx", []any{now}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := st.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.Query(ctx, "EXPLAIN "+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if !strings.Contains(plan, "authframe_"+tc.index) {
				t.Fatalf("the plan does not use %s:\n%s", tc.index, plan)
			}
		})
	}
}

// TestGenericPlansStayIndexed checks the plans PostgreSQL caches for the statements whose
// cost must not grow with a table: pgx prepares every statement, and after five runs the
// server may keep a generic plan, made without the parameters' values. Each of these must
// then still probe its indexes: a sweep batch must not scan its table (that made a sweep
// grow with the square of its backlog), and the revocation replay must read the at index
// in order, with no sort and no scan of every unexpired revocation.
func TestGenericPlansStayIndexed(t *testing.T) {
	st := newTestStore(t, WithCleanupInterval(0))
	ctx := testCtx(t)
	// The revocations of the scale cells: a thousand, unexpired, a second apart.
	if _, err := st.pool.Exec(ctx, "INSERT INTO "+st.n.table("revocations")+` (kind, key, at, expires_at)
		SELECT 'session', 'k' || g, now() - interval '1 hour' + g * interval '1 second', now() + interval '1 day'
		FROM generate_series(1, 1000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.pool.Exec(ctx, "ANALYZE "+st.n.table("revocations")); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name, query string
		want        []string
		forbidden   []string
	}{
		{"the sweep of sessions", st.q.cleanupSessions,
			[]string{"sessions_deadline_idx", "sessions_pkey"}, []string{"Seq Scan", "Hash"}},
		{"the sweep of revocations", st.q.cleanupRevocations,
			[]string{"revocations_expires_at_idx", "revocations_pkey"}, []string{"Seq Scan", "Hash"}},
		{"the sweep of rate limits", st.q.cleanupRates,
			[]string{"rate_limits_reset_at_idx", "rate_limits_pkey"}, []string{"Seq Scan", "Hash"}},
		{"the sweep of API keys", st.q.cleanupAPIKeys,
			[]string{"api_keys_expires_at_idx", "api_keys_pkey"}, []string{"Seq Scan", "Hash"}},
		{"the revocations since a time", st.q.revocationsSince,
			[]string{"revocations_at_idx"}, []string{"Seq Scan", "Sort", "expires_at_idx"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := st.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			// Sequential scans priced out, as the tables would be after a million users;
			// the generic plan forced, as after the fifth run. Each statement takes one
			// parameter, a time.
			name := fmt.Sprintf("generic_%d", i)
			if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan; "+
				"PREPARE "+name+"(timestamptz) AS "+tc.query); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.Query(ctx, "EXPLAIN EXECUTE "+name+"(now())")
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			for _, w := range tc.want {
				if !strings.Contains(plan, "authframe_"+w) {
					t.Errorf("the plan does not use %s:\n%s", w, plan)
				}
			}
			for _, f := range tc.forbidden {
				if strings.Contains(plan, f) {
					t.Errorf("the plan has %q:\n%s", f, plan)
				}
			}
		})
	}
}
