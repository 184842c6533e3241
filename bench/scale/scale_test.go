package scale

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func testDataset(n int) *Dataset {
	return &Dataset{Seed: "test/" + time.Now().String(), N: n, Now: time.Now().Truncate(time.Millisecond),
		Secret: bytes.Repeat([]byte{7}, 32), PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"}
}

func TestCellLinesHaveTheIssuesExactForm(t *testing.T) {
	form := regexp.MustCompile(`^scale: [a-z]+ [a-z-]+ c=[0-9]+ ops/s=[0-9]+ raw=[0-9]+ ratio=[0-9]+\.[0-9]{2}$`)
	for _, c := range []Cell{
		{Store: Redis, Op: OpSessionLookup, Callers: 64, Ours: 41234.6, Raw: 45120.2},
		{Store: Memory, Op: OpLoginRate, Callers: 1, Ours: 1.2e7, Raw: 1.1e7},
		{Store: Postgres, Op: OpRefreshRotation, Callers: 256, Ours: 0, Raw: 0},
	} {
		if l := c.Line(); !form.MatchString(l) {
			t.Errorf("line %q is not of the form `scale: <store> <operation> c=<callers> ops/s=<n> raw=<n> ratio=<r>`", l)
		}
	}
	c := Cell{Store: Redis, Op: OpSessionLookup, Callers: 64, Ours: 40000, Raw: 50000}
	if got, want := c.Line(), "scale: redis session-lookup c=64 ops/s=40000 raw=50000 ratio=0.80"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	c.Diagnostic = true
	if strings.HasPrefix(c.Line(), "scale:") {
		t.Errorf("a diagnostic cell prints as a scale: line: %q", c.Line())
	}
}

func TestDatasetTokensPassTheGuardOnlyWithTheirSession(t *testing.T) {
	ctx := context.Background()
	d := testDataset(50)
	st := NewMemoryStore(nil)
	defer st.Close()
	if err := SeedStore(ctx, st, d, 0, d.N); err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard(st, d.Secret, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, i := range []int{0, 17, 49} {
		if d.Token(i) != d.Token(i) {
			t.Fatalf("token %d differs from one call to the next", i)
		}
		p, err := g.VerifyToken(ctx, d.Token(i))
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if p.UserID != d.UserID(i) || p.SessionID != d.SessionID(i) || p.Username != d.Username(i) || len(p.Roles) != 1 || p.Roles[0] != "member" {
			t.Errorf("token %d: principal %+v", i, p)
		}
	}
	// Token 50's session was never seeded: a first sight asks the store, which says no.
	if _, err := g.VerifyToken(ctx, d.Token(50)); err == nil {
		t.Error("a token whose session is not in the store was accepted")
	}
}

func TestCheckSeedTellsTheSeededDatasetFromAnother(t *testing.T) {
	ctx := context.Background()
	d := testDataset(30)
	st := NewMemoryStore(nil)
	defer st.Close()
	if err := SeedStore(ctx, st, d, 0, 20); err != nil {
		t.Fatal(err)
	}
	if err := SeedStore(ctx, st, d, 20, d.N); err != nil {
		t.Fatal(err)
	}
	if err := CheckSeed(ctx, st, d); err != nil {
		t.Fatalf("a dataset seeded in two steps: %v", err)
	}
	other := *d
	other.Seed += "/other"
	if err := CheckSeed(ctx, st, &other); err == nil {
		t.Error("CheckSeed accepted a dataset that was never seeded")
	}
	changed := *d
	changed.Now = d.Now.Add(time.Second)
	if err := CheckSeed(ctx, st, &changed); err == nil {
		t.Error("CheckSeed accepted sessions whose times differ")
	}
}

func TestInterleaveCountsBothSidesAndTheirFailures(t *testing.T) {
	ctx := context.Background()
	fast := func(context.Context, int, int) error { return nil }
	slow := func(context.Context, int, int) error { time.Sleep(200 * time.Microsecond); return nil }
	var calls atomic.Int64
	flaky := func(context.Context, int, int) error {
		if calls.Add(1)%2 == 0 {
			return errors.New("no")
		}
		time.Sleep(100 * time.Microsecond)
		return nil
	}
	p := Interleave(ctx, 2, 2, 20*time.Millisecond, slow, fast)
	if p.Ours <= 0 || p.Raw <= 0 || p.Ratio() >= 1 {
		t.Errorf("slow against fast: %+v, ratio %.3f", p, p.Ratio())
	}
	p = Interleave(ctx, 2, 2, 20*time.Millisecond, flaky, fast)
	if p.OursFailed == 0 || p.RawFailed != 0 {
		t.Errorf("failures: %+v", p)
	}
}

func TestMemoryCellsRunWithoutFailures(t *testing.T) {
	ctx := context.Background()
	d := testDataset(200)
	st := NewMemoryStore(nil)
	defer st.Close()
	if err := SeedStore(ctx, st, d, 0, d.N); err != nil {
		t.Fatal(err)
	}
	benches, err := MemoryBenches(st, d)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	cells := RunCells(ctx, CellConfig{Callers: []int{1, 8}, Rounds: 2, Slice: 5 * time.Millisecond}, benches,
		func(c Cell) { lines = append(lines, c.Line()) })
	if len(cells) != 4*2 || len(lines) != len(cells) {
		t.Fatalf("%d cells, %d lines", len(cells), len(lines))
	}
	for _, c := range cells {
		if c.Ours <= 0 || c.Raw <= 0 || c.OursFailed > 0 || c.RawFailed > 0 {
			t.Errorf("%s", c.Line())
		}
	}
	// Every rotation spent the token the store held: the families moved on from
	// generation 0, so the seeded token is refused, as a reuse while it is among the
	// family's last store.SpentRefreshKept spent tokens and as unknown after that.
	if _, err := st.RotateRefreshToken(ctx, d.SessionID(0), d.RefreshHash(0, 0), d.RefreshHash(0, 1000), time.Now()); !errors.Is(err, store.ErrRefreshReused) && !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaying session 0's first token: %v, want store.ErrRefreshReused or store.ErrNotFound", err)
	}
}

func TestVerifyWorkloadSeesHitsAndFirstSights(t *testing.T) {
	ctx := context.Background()
	d := testDataset(500)
	st := NewMemoryStore(nil)
	defer st.Close()
	if err := SeedStore(ctx, st, d, 0, d.N); err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard(st, d.Secret, 100, TierObserver{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	v, err := VerifyWorkload(ctx, g, d, NewTokenCache(d, 200), WorkloadConfig{Callers: 4, Warm: 400, Calls: 2000, ZipfS: 1.1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v.Calls != 2000 || v.HitRatio <= 0.2 || v.HitRatio >= 1 {
		t.Errorf("calls %d, hit ratio %.3f", v.Calls, v.HitRatio)
	}
	if v.FirstP50 <= 0 || v.FirstP99 < v.FirstP50 || v.CachedP50 <= 0 || v.CachedP99 < v.CachedP50 {
		t.Errorf("percentiles %+v", v)
	}
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	if p := percentile(ds, 0.5); p != 50 {
		t.Errorf("p50 of 1..100 = %d", p)
	}
	if p := percentile(ds, 0.99); p != 99 {
		t.Errorf("p99 of 1..100 = %d", p)
	}
	if p := percentile(nil, 0.5); p != 0 {
		t.Errorf("p50 of nothing = %d", p)
	}
}

func TestCachedPrincipalBytesAgreeWithTheLiveHeap(t *testing.T) {
	d := testDataset(3000)
	b, err := CachedPrincipalBytes(context.Background(), d, 2000, 500)
	if err != nil {
		t.Fatal(err)
	}
	// The shards fill unevenly, so a full cache has evicted a few of the first tokens (the
	// profiled ones among them): a bound, not an exact count.
	if b.Entries < 1800 || b.Entries > 2000 || b.Profiled < 400 {
		t.Errorf("%d entries, %d of them profiled", b.Entries, b.Profiled)
	}
	// A principal holds several strings, a token copy of ~400 bytes and the LRU's
	// bookkeeping: far more than 300 bytes, far less than 4 kB.
	if b.Profile < 300 || b.Profile > 4000 || b.Heap < 0.7*b.Profile || b.Heap > 1.3*b.Profile {
		t.Errorf("profile %.0f bytes, live heap %.0f bytes per entry", b.Profile, b.Heap)
	}
}

func TestSummaryJudgesTheBars(t *testing.T) {
	r := &Results{Cells: []Cell{
		{Store: Memory, Op: OpSessionLookup, Callers: 64, Ours: 2e6, Raw: 2.1e6, RawOp: "map"},
		{Store: Redis, Op: OpSessionLookup, Callers: 64, Ours: 30000, Raw: 40000, RawOp: "GET"},
		{Store: Redis, Op: OpSessionLookup, Callers: 64, Ours: 30000, Raw: 31000, RawOp: "HMGET", Diagnostic: true},
		{Store: Postgres, Op: OpSessionLookup, Callers: 64, Ours: 12000, Raw: 12500, RawOp: "SELECT", OursFailed: 3},
		{Store: Redis, Op: OpAPIKeyLookup, Callers: 64, Ours: 27000, Raw: 30000, RawOp: "HGETALL of the record"},
	}}
	got := strings.Join(Summary(r), "\n")
	for _, want := range []string{
		"bar memory session-lookup c=64: 2000000 ops/s (bar 1000000): met",
		"bar redis session-lookup c=64: ratio 0.75 to raw GET (bar 0.8): not met; 30000 ops/s (bar 50000): not met, and the raw driver reaches 40000 ops/s on this machine",
		"bar postgres session-lookup c=64: ratio 0.96 to raw SELECT (bar 0.8): met; 12000 ops/s (bar 10000): met",
		"cells below ratio 0.8: redis session-lookup c=64 (0.75)\n",
		"cells with failed calls: postgres session-lookup c=64 (3 ours, 0 raw)",
		"redis api-key-lookup c=64: 27000 ops/s, ratio 0.90 to raw HGETALL of the record",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestChartsAreSmallSVGFiles(t *testing.T) {
	r := &Results{}
	for _, c := range []int{1, 8, 64, 256} {
		for _, st := range []string{Memory, Redis, Postgres, RedisCache} {
			r.Cells = append(r.Cells, Cell{Store: st, Op: OpSessionLookup, Callers: c, Ours: float64(1000 * c), Raw: float64(1100 * c), RawOp: "raw"})
		}
	}
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		v := Verification{FirstP50: 10 * time.Microsecond, FirstP99: 50 * time.Microsecond, CachedP50: 200, CachedP99: 2000, HitRatio: 0.9}
		r.Sizes = append(r.Sizes, SizeResult{N: n,
			Verify:    map[string]Verification{Memory: v, Redis: v, Postgres: v},
			Principal: PrincipalBytes{Profile: 990, Heap: 991}, MemoryPerUser: 1300,
			Redis: RedisBytes{PerSession: 1400}, Postgres: PostgresBytes{PerSession: 750},
			Cleanup: map[string]Cleanup{Memory: {Expired: n, Time: time.Duration(n) * time.Microsecond}}})
	}
	dir := t.TempDir()
	files, err := Charts(r, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 8 {
		t.Fatalf("%d charts: %v", len(files), files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Ext(f) != ".svg" || !bytes.Contains(b[:min(len(b), 200)], []byte("<svg")) || len(b) > 256<<10 {
			t.Errorf("%s: %d bytes, starts %q", f, len(b), b[:min(len(b), 60)])
		}
	}
}

func TestMemoryAPIKeyCellsRunWithoutFailures(t *testing.T) {
	ctx := context.Background()
	d := testDataset(200)
	st := NewMemoryStore(nil)
	defer st.Close()
	benches, err := MemoryAPIKeyBenches(ctx, st, d)
	if err != nil {
		t.Fatal(err)
	}
	cells := RunCells(ctx, CellConfig{Callers: []int{1, 8}, Rounds: 2, Slice: 5 * time.Millisecond}, benches, func(Cell) {})
	if len(cells) != 2 {
		t.Fatalf("%d cells", len(cells))
	}
	for _, c := range cells {
		if c.Op != OpAPIKeyLookup || c.Ours <= 0 || c.Raw <= 0 || c.OursFailed > 0 || c.RawFailed > 0 {
			t.Errorf("%s (failed %d/%d)", c.Line(), c.OursFailed, c.RawFailed)
		}
	}
}
