package scale

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// integrationURLs returns the Redis and PostgreSQL of the integration tests, or skips (fails
// under AUTHFRAME_REQUIRE_INTEGRATION=1) when either is not configured.
func integrationURLs(t *testing.T) (redisURL, databaseURL string) {
	t.Helper()
	redisURL, databaseURL = os.Getenv("AUTHFRAME_TEST_REDIS_URL"), os.Getenv("AUTHFRAME_TEST_DATABASE_URL")
	if redisURL == "" || databaseURL == "" {
		msg := "AUTHFRAME_TEST_REDIS_URL and AUTHFRAME_TEST_DATABASE_URL must both be set to run the measurements on real servers, e.g.\n" +
			"  AUTHFRAME_TEST_REDIS_URL=redis://127.0.0.1:6379/0 AUTHFRAME_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./..."
		if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg + "\n(AUTHFRAME_REQUIRE_INTEGRATION=1 forbids skipping)")
		}
		t.Skip(msg)
	}
	return redisURL, databaseURL
}

// TestRunMeasuresEverySizeAndCellAndLeavesNothingBehind is the whole of make bench-scale on
// datasets of a few hundred users and slices of milliseconds.
func TestRunMeasuresEverySizeAndCellAndLeavesNothingBehind(t *testing.T) {
	redisURL, databaseURL := integrationURLs(t)
	ctx := context.Background()
	var out, log bytes.Buffer
	cfg := Config{
		RedisURL: redisURL, DatabaseURL: databaseURL,
		Sizes: []int{300, 700}, CellsSize: 300,
		Cells:     CellConfig{Callers: []int{1, 4}, Rounds: 1, Slice: 10 * time.Millisecond},
		Workload:  WorkloadConfig{Callers: 2, Warm: 300, Calls: 600, ZipfS: 1.1, Seed: 3},
		CacheSize: 200, PostgresConns: 4,
		Out: &out, Log: &log,
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	line := regexp.MustCompile(`^scale: (memory|redis|postgres|rediscache) [a-z-]+ c=(1|4) ops/s=[0-9]+ raw=[0-9]+ ratio=[0-9.]+$`)
	scaleLines := 0
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasPrefix(l, "diagnostic:") {
			continue
		}
		scaleLines++
		if !line.MatchString(l) {
			t.Errorf("line %q", l)
		}
	}
	// Five operations of each store (the API key lookup among them), two of the cache, at
	// two concurrencies.
	if want := (5 + 5 + 5 + 2) * 2; scaleLines != want {
		t.Errorf("%d scale: lines, want %d:\n%s", scaleLines, want, out.String())
	}
	for _, c := range res.Cells {
		if c.Ours <= 0 || c.Raw <= 0 || c.OursFailed > 0 || c.RawFailed > 0 {
			t.Errorf("cell %s: %+v", c.Line(), c)
		}
	}
	if len(res.Sizes) != 2 {
		t.Fatalf("%d sizes", len(res.Sizes))
	}
	for _, s := range res.Sizes {
		for _, st := range []string{Memory, Redis, Postgres} {
			v := s.Verify[st]
			if v.Calls == 0 || v.HitRatio <= 0 || v.FirstP50 <= 0 {
				t.Errorf("n=%d %s verification %+v", s.N, st, v)
			}
			c := s.Cleanup[st]
			if c.Expired != s.N || c.Time <= 0 || c.ProbeCalls == 0 {
				t.Errorf("n=%d %s cleanup %+v", s.N, st, c)
			}
		}
		if s.Redis.Session < 100 || s.Redis.PerSession < s.Redis.Session || s.Postgres.PerSession < 100 || s.MemoryPerUser < 100 || s.Principal.Profile < 100 {
			t.Errorf("n=%d bytes: %+v %+v memory %.0f principal %+v", s.N, s.Redis, s.Postgres, s.MemoryPerUser, s.Principal)
		}
	}

	// Everything written went away: no key under the run's prefix, no schema of the run.
	rc, err := RedisClient(redisURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	pool, err := PostgresPool(ctx, databaseURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	run := regexp.MustCompile(`under (authframe-scale:[0-9a-f]+:)`).FindStringSubmatch(log.String())
	if run == nil {
		t.Fatalf("the log names no Redis prefix:\n%s", log.String())
	}
	left := 0
	it := rc.Scan(ctx, 0, run[1]+"*", 1000).Iterator()
	for it.Next(ctx) {
		left++
	}
	if err := it.Err(); err != nil || left > 0 {
		t.Errorf("%d keys left under %s (%v)", left, run[1], err)
	}
	var schemas int
	schema := "authframe_scale_" + strings.TrimSuffix(strings.TrimPrefix(run[1], "authframe-scale:"), ":") + "_%"
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", schema).Scan(&schemas); err != nil || schemas > 0 {
		t.Errorf("%d schemas %s left (%v)", schemas, schema, err)
	}
	for _, l := range Summary(res) {
		fmt.Fprintln(&log, l)
	}
	t.Log(log.String())
}
