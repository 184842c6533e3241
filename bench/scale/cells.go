package scale

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/authframe/authframe/core/store"
)

// Cell is the throughput of one operation of one store at one concurrency, beside the raw
// driver doing the equivalent single operation in the same run.
type Cell struct {
	Store   string  `json:"store"`
	Op      string  `json:"op"`
	Callers int     `json:"callers"`
	Ours    float64 `json:"ops_per_s"`
	Raw     float64 `json:"raw_ops_per_s"`
	// RawOp names what the raw side does.
	RawOp      string `json:"raw_op"`
	OursFailed int64  `json:"failed,omitempty"`
	RawFailed  int64  `json:"raw_failed,omitempty"`
	// Diagnostic cells set the operation beside a second raw counterpart, to tell where a
	// gap to the first comes from; they print as `diagnostic:` lines.
	Diagnostic bool `json:"diagnostic,omitempty"`
}

// Ratio is ours over raw.
func (c Cell) Ratio() float64 {
	if c.Raw == 0 {
		return 0
	}
	return c.Ours / c.Raw
}

// Line is the cell in the form `scale: <store> <operation> c=<callers> ops/s=<n> raw=<n>
// ratio=<r>`.
func (c Cell) Line() string {
	if c.Diagnostic {
		return fmt.Sprintf("diagnostic: %s %s c=%d ops/s=%.0f raw=%.0f ratio=%.2f (raw: %s)", c.Store, c.Op, c.Callers, c.Ours, c.Raw, c.Ratio(), c.RawOp)
	}
	return fmt.Sprintf("scale: %s %s c=%d ops/s=%.0f raw=%.0f ratio=%.2f", c.Store, c.Op, c.Callers, c.Ours, c.Raw, c.Ratio())
}

// Operation names, in the order a request meets them.
const (
	OpSessionLookup   = "session-lookup"
	OpRefreshRotation = "refresh-rotation"
	OpRevocationCheck = "revocation-check"
	OpLoginRate       = "login-rate"
	OpCacheGet        = "get"
	OpCacheSet        = "set"
)

// Bench is one operation of one store with its raw counterpart. Prepare, when set, runs
// before each concurrency and returns the two Ops for that many callers.
type Bench struct {
	Store, Op, RawOp string
	Diagnostic       bool
	Prepare          func(callers int) (ours, raw Op)
}

// CellConfig is how long and at which concurrencies the cells run.
type CellConfig struct {
	Callers []int
	Rounds  int
	Slice   time.Duration
}

// RunCells measures every bench at every concurrency and hands each cell to emit as soon
// as it is measured.
func RunCells(ctx context.Context, cfg CellConfig, benches []Bench, emit func(Cell)) []Cell {
	var out []Cell
	for _, b := range benches {
		for _, c := range cfg.Callers {
			if ctx.Err() != nil {
				return out
			}
			ours, raw := b.Prepare(c)
			p := Interleave(ctx, c, cfg.Rounds, cfg.Slice, ours, raw)
			cell := Cell{Store: b.Store, Op: b.Op, Callers: c, Ours: p.Ours, Raw: p.Raw, RawOp: b.RawOp,
				OursFailed: p.OursFailed, RawFailed: p.RawFailed, Diagnostic: b.Diagnostic}
			emit(cell)
			out = append(out, cell)
		}
	}
	return out
}

// picker spreads a caller's calls over n records: each caller walks its own pseudo-random
// sequence, so that no two callers hammer the same record in step.
func picker(n int) func(w, i int) int {
	return func(w, i int) int {
		x := uint64(w)*0x9e3779b97f4a7c15 + uint64(i)*0xbf58476d1ce4e5b9
		x ^= x >> 31
		x *= 0x94d049bb133111eb
		x ^= x >> 29
		return int(x % uint64(n))
	}
}

// rotator hands each caller refresh rotations of its own sessions, so that two callers
// never spend the same token: caller w of c owns the sessions k with k%c == w and rotates
// them in turn. The generation of each session's live token survives from one
// concurrency to the next. A session whose rotation failed is dropped: whether the
// failed call spent its token is unknown.
type rotator struct {
	base, n int // sessions base..base+n-1
	gens    []atomic.Int32
	lost    []atomic.Bool
}

func newRotator(base, n int) *rotator {
	return &rotator{base: base, n: n, gens: make([]atomic.Int32, n), lost: make([]atomic.Bool, n)}
}

// op adapts rotate(k, old, new generation) to an Op for c callers.
func (r *rotator) op(c int, rotate func(ctx context.Context, k, gen int) error) Op {
	per := r.n / c
	if per == 0 {
		per = 1
	}
	return func(ctx context.Context, w, i int) error {
		for try := 0; try < per; try++ {
			k := w + ((i+try)%per)*c
			if k >= r.n || r.lost[k].Load() {
				continue
			}
			g := int(r.gens[k].Load())
			if err := rotate(ctx, r.base+k, g); err != nil {
				r.lost[k].Store(true)
				return err
			}
			r.gens[k].Store(int32(g + 1))
			return nil
		}
		return errNoSession
	}
}

var errNoSession = errors.New("every session of this caller was lost to a failed rotation")

// revocationFixture is the revocation set the revocation-check cells read: total
// revocations a second apart, of which the newest recent are at or after Since.
type revocationFixture struct {
	All   []store.Revocation
	Since time.Time
}

func newRevocationFixture(now time.Time, total, recent int) revocationFixture {
	f := revocationFixture{}
	for i := range total {
		at := now.Add(-time.Duration(total-i) * time.Second).Truncate(time.Millisecond)
		f.All = append(f.All, store.Revocation{Kind: store.RevokeSession, Key: "revoked-session-" + strconv.Itoa(i),
			At: at, ExpiresAt: now.Add(time.Hour).Truncate(time.Millisecond)})
	}
	f.Since = f.All[total-recent].At
	return f
}

// parallel runs f(i) for i in 0..n-1 on callers goroutines and returns the first error:
// the set-up of the cells makes thousands of single calls, which one caller would spend
// most of its time waiting on.
func parallel(callers, n int, f func(i int) error) error {
	var next atomic.Int64
	var g errgroup.Group
	for range callers {
		g.Go(func() error {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := f(i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// addTo stores the fixture's revocations through st, callers at a time. PostgreSQL takes
// one caller: each revocation is a NOTIFY, whose commits PostgreSQL serializes, and side
// by side they queue past the store's operation timeout on a loaded machine.
func (f revocationFixture) addTo(ctx context.Context, st store.Store, callers int) error {
	return parallel(callers, len(f.All), func(i int) error { return st.AddRevocation(ctx, f.All[i]) })
}

// rateKeys are the login-rate counters the cells hit: one per client address and username,
// as the Guard keys them, spread over many keys as a real login load is.
func rateKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "login:198.51.100." + strconv.Itoa(i%250+1) + "|user" + strconv.Itoa(i)
	}
	return keys
}

// memoryRaw is the raw counterpart of the memory store: the plain Go a developer would
// write for each operation, with the same kind of locking (one lock per kind of record).
type memoryRaw struct {
	mu       sync.RWMutex
	sessions map[string]*memoryRawSession

	revMu sync.RWMutex
	revs  []store.Revocation

	rateMu sync.Mutex
	rates  map[string]*memoryRawRate
}

type memoryRawSession struct {
	s       store.Session
	refresh map[string]bool
}

type memoryRawRate struct {
	n     int64
	reset time.Time
}

// MemoryBenches are the memory store's cells over d, already seeded into st. Every
// operation goes through the store.Store interface, as the Guard calls it.
func MemoryBenches(st store.Store, d *Dataset) ([]Bench, error) {
	ctx := context.Background()
	n := d.N
	ids := make([]string, n)
	raw := &memoryRaw{sessions: make(map[string]*memoryRawSession, n), rates: map[string]*memoryRawRate{}}
	for i := range ids {
		ids[i] = d.SessionID(i)
		raw.sessions[ids[i]] = &memoryRawSession{s: d.Session(i), refresh: map[string]bool{string(d.RefreshHash(i, 0)): false}}
	}
	rf := newRevocationFixture(time.Now(), 1000, 10)
	if err := rf.addTo(ctx, st, 16); err != nil {
		return nil, err
	}
	raw.revs = rf.All
	keys := rateKeys(10_000)
	pick := picker(n)
	oursRot, rawRot := newRotator(0, n), newRotator(0, n)
	return []Bench{
		{Store: "memory", Op: OpSessionLookup, RawOp: "map read under RWMutex", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, ok, err := st.GetSession(ctx, ids[pick(w, i)])
					return found(ok, err)
				}, func(_ context.Context, w, i int) error {
					raw.mu.RLock()
					e, ok := raw.sessions[ids[pick(w, i)]]
					var s store.Session
					if ok {
						s = e.s
					}
					raw.mu.RUnlock()
					if !ok || !s.Live(time.Now()) {
						return errNotFound
					}
					return nil
				}
		}},
		{Store: "memory", Op: OpRefreshRotation, RawOp: "map writes under Mutex", Prepare: func(c int) (Op, Op) {
			return oursRot.op(c, func(ctx context.Context, k, g int) error {
					_, err := st.RotateRefreshToken(ctx, ids[k], d.RefreshHash(k, g), d.RefreshHash(k, g+1), time.Now())
					return err
				}), rawRot.op(c, func(_ context.Context, k, g int) error {
					now := time.Now()
					raw.mu.Lock()
					defer raw.mu.Unlock()
					e, ok := raw.sessions[ids[k]]
					if !ok || !e.s.Live(now) {
						return errNotFound
					}
					old := string(d.RefreshHash(k, g))
					if spent, ok := e.refresh[old]; !ok || spent {
						return errNotFound
					}
					e.refresh[old] = true
					e.refresh[string(d.RefreshHash(k, g+1))] = false
					e.s.LastSeenAt = now
					return nil
				})
		}},
		{Store: "memory", Op: OpRevocationCheck, RawOp: "slice scan under RWMutex", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, _, _ int) error {
					rs, err := st.RevocationsSince(ctx, rf.Since)
					return count(len(rs), err, 10)
				}, func(context.Context, int, int) error {
					now := time.Now()
					raw.revMu.RLock()
					var out []store.Revocation
					for _, r := range raw.revs {
						if !r.At.Before(rf.Since) && now.Before(r.ExpiresAt) {
							out = append(out, r)
						}
					}
					raw.revMu.RUnlock()
					return count(len(out), nil, 10)
				}
		}},
		{Store: "memory", Op: OpLoginRate, RawOp: "map counter under Mutex", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, _, err := st.Hit(ctx, keys[(w*7919+i)%len(keys)], time.Minute)
					return err
				}, func(_ context.Context, w, i int) error {
					now := time.Now()
					k := keys[(w*7919+i)%len(keys)]
					raw.rateMu.Lock()
					e, ok := raw.rates[k]
					if !ok || !now.Before(e.reset) {
						e = &memoryRawRate{reset: now.Add(time.Minute)}
						raw.rates[k] = e
					}
					e.n++
					raw.rateMu.Unlock()
					return nil
				}
		}},
	}, nil
}

var (
	errNotFound   = errors.New("record not found")
	errWrongCount = errors.New("unexpected number of records")
)

func found(ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return errNotFound
	}
	return nil
}

func count(got int, err error, want int) error {
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: %d, want %d", errWrongCount, got, want)
	}
	return nil
}

// zipfPicker draws record indexes 0..n-1 with a Zipf law of exponent s (rank 0 the most
// frequent), one independent source per caller.
func zipfPicker(n int, s float64, seed uint64) func(w int) func() int {
	return func(w int) func() int {
		z := rand.NewZipf(rand.New(rand.NewPCG(seed, uint64(w))), s, 1, uint64(n-1))
		return func() int { return int(z.Uint64()) }
	}
}
