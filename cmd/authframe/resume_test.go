package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// cancelAt is a progress report that cancels the migration once n records are done, as a
// SIGINT halfway would.
type cancelAt struct {
	done   *atomic.Int64
	n      int64
	cancel context.CancelFunc
}

func (c cancelAt) Add(n int) {
	if c.done.Add(int64(n)) >= c.n {
		c.cancel()
	}
}
func (cancelAt) Done() {}

// seedUsersScript writes users ARGV[2] to ARGV[3]-1 straight into a redisstore's keys
// under the prefix ARGV[1]: the record hash, the username claim and the export index, as
// redisstore.CreateUser leaves them (see stores/redis/codec.go). Every tenth user is an
// admin, every 97th disabled. Generating them in Redis keeps the seeding of a million users
// to seconds; the keys are not declared, so this runs on a standalone server only.
var seedUsersScript = redis.NewScript(`
local p, lo, hi, h, t = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
for i = lo, hi - 1 do
  local id, name = string.format('u%08d', i), string.format('user%08d', i)
  local roles, disabled = '6:member', '0'
  if i % 10 == 0 then roles = '6:member5:admin' end
  if i % 97 == 0 then disabled = '1' end
  redis.call('HSET', p .. 'user:' .. id, 'n', name, 'h', h, 'r', roles, 'c', t, 'm', t, 'd', disabled)
  redis.call('SET', p .. 'username:' .. name, id)
  redis.call('ZADD', p .. '{index}:users', 0, id)
end
return hi - lo
`)

// seedRedisUsers writes n users into the Redis store under prefix, in chunks that each
// hold the server for a moment only. The password hash is one precomputed argon2id string.
func seedRedisUsers(t *testing.T, url, prefix string, n int) {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	const chunk = 20000
	created := strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10)
	for lo := 0; lo < n; lo += chunk {
		if err := seedUsersScript.Run(ctx, c, nil, prefix, lo, min(lo+chunk, n), seedHash, created).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

const seedHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$K7JqE2Ma3nK4k2pU3Q0p4m8qv2mC1W4hX0y3xj0b2oE"

// compareAll walks both stores in id order and requires the same users, every one.
func compareAll(t *testing.T, src, dst store.Exporter, want int) {
	t.Helper()
	ctx := context.Background()
	var n int
	sc, dc := "", ""
	for {
		a, an, err := src.ExportUsers(ctx, sc, 5000)
		if err != nil {
			t.Fatal(err)
		}
		b, bn, err := dst.ExportUsers(ctx, dc, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("after %d users: a page of %d in the source, %d in the destination", n, len(a), len(b))
		}
		for i := range a {
			if !sameUser(a[i], b[i]) || !a[i].CreatedAt.Equal(b[i].CreatedAt) || !a[i].UpdatedAt.Equal(b[i].UpdatedAt) {
				t.Fatalf("user %d differs:\nsource      %+v\ndestination %+v", n+i, a[i], b[i])
			}
		}
		n += len(a)
		if an == "" || bn == "" {
			if an != bn {
				t.Fatalf("after %d users one store has more", n)
			}
			break
		}
		sc, dc = an, bn
	}
	if n != want {
		t.Fatalf("%d users compared, want %d", n, want)
	}
}

// migrateSize is the size of the Redis → PostgreSQL resume test: 100 000 users, 10 000
// with -short, or AUTHFRAME_TEST_MIGRATE_USERS (1000000 for the full-size run, about
// a minute and a half with -race on two cores: too slow for every CI run).
func migrateSize(t *testing.T) int {
	if v := os.Getenv("AUTHFRAME_TEST_MIGRATE_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("AUTHFRAME_TEST_MIGRATE_USERS=%q: want a number of users, at least 10", v)
		}
		return n
	}
	if testing.Short() {
		return 10000
	}
	return 100000
}

// TestAnInterruptedMigrationResumesExactly copies users (see migrateSize) from Redis to
// PostgreSQL, interrupts the copy halfway, resumes it from its checkpoint, and requires
// every user in the destination exactly once and equal to its source.
func TestAnInterruptedMigrationResumesExactly(t *testing.T) {
	b := backends(t)
	rb, pb := b[0], b[1]
	n := migrateSize(t)
	start := time.Now()
	seedRedisUsers(t, rb.url, rb.prefix, n)
	t.Logf("seeded %d users in Redis in %s", n, time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	src, closeSrc, err := openStore(ctx, rb.url, rb.prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer closeSrc()
	dst, closeDst, err := openStore(ctx, pb.url, pb.prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDst()
	cp := filepath.Join(t.TempDir(), "migrate.checkpoint")
	const batch = 5000

	start = time.Now()
	cctx, cancel := context.WithCancel(ctx)
	var done atomic.Int64
	o := Options{Batch: batch, Checkpoint: cp, Route: "test",
		Progress: func(string, int64) progress { return cancelAt{done: &done, n: int64(n / 2), cancel: cancel} }}
	first, err := Migrate(cctx, src, dst, o)
	cancel()
	if err != context.Canceled {
		t.Fatalf("the interrupted run returned %v, want context.Canceled", err)
	}
	if first.Users < n/2 || first.Users >= n {
		t.Fatalf("the interrupted run copied %d users, want about half of %d", first.Users, n)
	}
	if _, err := os.Stat(cp); err != nil {
		t.Fatalf("no checkpoint after the interruption: %v", err)
	}
	t.Logf("interrupted after %d users in %s", first.Users, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	o.Progress = nil
	rep, err := Migrate(ctx, src, dst, o)
	if err != nil {
		t.Fatalf("the resumed run: %v", err)
	}
	t.Logf("resumed and finished in %s: %s", time.Since(start).Round(time.Millisecond), rep)
	if rep.Users != n || rep.Skipped != 0 {
		t.Fatalf("report %s: want users=%d, skipped=0 (the checkpoint names the last committed batch)", rep, n)
	}
	if _, err := os.Stat(cp); !os.IsNotExist(err) {
		t.Fatalf("the checkpoint is left after a complete run: %v", err)
	}

	// Counts straight from the table: nothing duplicated, nothing lost.
	conn, err := pgx.Connect(ctx, pb.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, disabled, admins int
	table := pgx.Identifier{pb.prefix + "users"}.Sanitize()
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE disabled), count(*) FILTER (WHERE 'admin' = ANY(roles)) FROM `+table).Scan(&rows, &disabled, &admins); err != nil {
		t.Fatal(err)
	}
	if rows != n || disabled != (n+96)/97 || admins != (n+9)/10 {
		t.Fatalf("destination holds %d users (%d disabled, %d admins), want %d (%d, %d)", rows, disabled, admins, n, (n+96)/97, (n+9)/10)
	}
	start = time.Now()
	compareAll(t, src, dst, n)
	t.Logf("compared every user in %s", time.Since(start).Round(time.Millisecond))
}

// Without a checkpoint, a repeated run reads everything again and skips what the first
// copied, after comparing it; a record that differs is a conflict, not overwritten.
func TestARepeatedMigrationWithoutCheckpointSkipsWhatWasCopied(t *testing.T) {
	ctx := context.Background()
	src, dst := memstore.New(), memstore.New()
	defer src.Close()
	defer dst.Close()
	now := time.Now()
	for i := range 100 {
		if err := src.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%03d", i), Username: fmt.Sprintf("n%03d", i), PasswordHash: seedHash, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	var done atomic.Int64
	first, err := Migrate(cctx, src, dst, Options{Batch: 10, Progress: func(string, int64) progress { return cancelAt{done: &done, n: 45, cancel: cancel} }})
	cancel()
	if err != context.Canceled || first.Users != 50 {
		t.Fatalf("interrupted run: %s, %v; want 50 users (the batch in flight finishes)", first, err)
	}
	rep, err := Migrate(ctx, src, dst, Options{Batch: 10})
	if err != nil || rep.Users != 100 || rep.Skipped != 50 {
		t.Fatalf("repeated run: %s, %v; want users=100 skipped=50", rep, err)
	}
	compareAll(t, src, dst, 100)

	u, _, _ := src.GetUser(ctx, "u007")
	u.Roles = []string{"changed"}
	if err := src.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, src, dst, Options{Batch: 10}); exitCode(err, true) != exitConflict {
		t.Fatalf("a record changed in the source: %v, want a conflict", err)
	}
}

func TestACheckpointOfAnotherMigrationIsRefused(t *testing.T) {
	src, dst := memstore.New(), memstore.New()
	defer src.Close()
	defer dst.Close()
	cp := filepath.Join(t.TempDir(), "cp")
	if err := (checkpoint{Version: checkpointVersion, Route: "a -> b", Phase: phaseUsers, Cursor: "x"}).save(cp); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(context.Background(), src, dst, Options{Checkpoint: cp, Route: "a -> c"}); exitCode(err, true) != exitUsage {
		t.Fatalf("a checkpoint of another route: %v", err)
	}
	if err := os.WriteFile(cp, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(context.Background(), src, dst, Options{Checkpoint: cp, Route: "a -> b"}); exitCode(err, true) != exitUsage {
		t.Fatalf("a torn checkpoint: %v", err)
	}
	if _, err := Migrate(context.Background(), src, dst, Options{DryRun: true, Checkpoint: cp}); exitCode(err, true) != exitUsage {
		t.Fatalf("a dry run with a checkpoint: %v", err)
	}
}
