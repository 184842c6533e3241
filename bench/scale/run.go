package scale

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// Config is one run of the measurements.
type Config struct {
	RedisURL, DatabaseURL string
	// Sizes are the dataset sizes (users, each with a session) measured in turn.
	Sizes []int
	// CellsSize is the size whose dataset the throughput cells run on (0: none).
	CellsSize int
	Cells     CellConfig
	Workload  WorkloadConfig
	// CacheSize is the Guard's in-process cache.
	CacheSize int
	// PostgresConns is the pgx pool's size.
	PostgresConns int32
	// Out receives the `scale:` lines, Log the progress.
	Out, Log io.Writer
}

// SizeResult is every figure measured on one dataset size.
type SizeResult struct {
	N int `json:"n"`
	// Seed is how long seeding each store took.
	Seed map[string]time.Duration `json:"seed_ns"`
	// Verify is the token workload, by store.
	Verify    map[string]Verification `json:"verify"`
	Principal PrincipalBytes          `json:"cached_principal"`
	// MemoryPerUser is the memory store's live heap per seeded user with its session and
	// refresh family.
	MemoryPerUser float64            `json:"memory_store_per_user"`
	Redis         RedisBytes         `json:"redis"`
	Postgres      PostgresBytes      `json:"postgres"`
	Cleanup       map[string]Cleanup `json:"cleanup"`
}

// Results is a whole run.
type Results struct {
	Started  time.Time     `json:"started"`
	Wall     time.Duration `json:"wall_ns"`
	Machine  string        `json:"machine"`
	Cells    []Cell        `json:"cells"`
	Sizes    []SizeResult  `json:"sizes"`
	Settings string        `json:"settings"`
}

// Store names, as the lines print them.
const (
	Memory     = "memory"
	Redis      = "redis"
	Postgres   = "postgres"
	RedisCache = "rediscache"
)

// Run seeds and measures every size of cfg, and removes everything it wrote to Redis and
// PostgreSQL before it returns, whatever happened.
func Run(ctx context.Context, cfg Config) (res *Results, err error) {
	res = &Results{Started: time.Now(), Machine: machine()}
	res.Settings = fmt.Sprintf("callers %v, %d rounds of %v per side; workload %d callers, %d warm + %d recorded calls, Zipf s=%.2f; LRU %d; Redis pool %d; PostgreSQL pool %d",
		cfg.Cells.Callers, cfg.Cells.Rounds, cfg.Cells.Slice, cfg.Workload.Callers, cfg.Workload.Warm, cfg.Workload.Calls,
		cfg.Workload.ZipfS, cfg.CacheSize, RedisPoolSize, cfg.PostgresConns)
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	run := hex.EncodeToString(id[:])
	rc, err := RedisClient(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	pool, err := PostgresPool(ctx, cfg.DatabaseURL, cfg.PostgresConns)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	res.Machine += "; " + serverVersions(ctx, rc, pool)
	redisPrefix := "authframe-scale:" + run + ":"
	var schemas []string
	defer func() {
		// The caller's context may be cancelled already (an interrupt): clean up anyway.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		n, derr := DeleteRedisPrefix(bg, rc, redisPrefix)
		logf("removed %d Redis keys under %s", n, redisPrefix)
		for _, s := range schemas {
			if _, e := pool.Exec(bg, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); e != nil {
				derr = errors.Join(derr, e)
			}
		}
		logf("dropped %d PostgreSQL schemas", len(schemas))
		err = errors.Join(err, derr)
		res.Wall = time.Since(res.Started)
	}()

	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	hash, err := passwordHash(secret)
	if err != nil {
		return nil, err
	}
	now := time.Now().Truncate(time.Millisecond)
	for _, n := range cfg.Sizes {
		tag := strconv.Itoa(n)
		schema := "authframe_scale_" + run + "_" + tag
		if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return res, fmt.Errorf("create schema: %w", err)
		}
		schemas = append(schemas, schema)
		s := &sizeRun{cfg: &cfg, logf: logf, rc: rc, pool: pool, schema: schema,
			live: redisPrefix + "live" + tag + ":", expired: redisPrefix + "expired" + tag + ":",
			d: &Dataset{Seed: run + "/live/" + tag, N: n, Now: now, Secret: secret, PasswordHash: hash},
			x: &Dataset{Seed: run + "/expired/" + tag, N: n, Now: now, Expired: true, Secret: secret, PasswordHash: hash},
		}
		sr, cells, err := s.measure(ctx, n == cfg.CellsSize)
		res.Cells = append(res.Cells, cells...)
		if err != nil {
			return res, fmt.Errorf("size %d: %w", n, err)
		}
		res.Sizes = append(res.Sizes, sr)
		// Each size leaves room for the next.
		if _, err := DeleteRedisPrefix(ctx, rc, redisPrefix); err != nil {
			return res, err
		}
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			return res, err
		}
		schemas = schemas[:len(schemas)-1]
	}
	return res, nil
}

// sizeRun measures one size.
type sizeRun struct {
	cfg           *Config
	logf          func(string, ...any)
	rc            *redis.Client
	pool          *pgxpool.Pool
	schema        string
	live, expired string // Redis prefixes
	d, x          *Dataset
}

func (s *sizeRun) measure(ctx context.Context, cells bool) (SizeResult, []Cell, error) {
	d := s.d
	r := SizeResult{N: d.N, Seed: map[string]time.Duration{}, Verify: map[string]Verification{}, Cleanup: map[string]Cleanup{}}
	s.logf("size %d: seeding", d.N)

	mem := NewMemoryStore(nil)
	defer func() {
		if mem != nil {
			_ = mem.Close()
		}
	}()
	before := liveHeap()
	t0 := time.Now()
	if err := SeedStore(ctx, mem, d); err != nil {
		return r, nil, err
	}
	r.Seed[Memory] = time.Since(t0)
	r.MemoryPerUser = float64(liveHeap()-before) / float64(d.N)

	t0 = time.Now()
	if err := SeedRedis(ctx, s.rc, s.live, d); err != nil {
		return r, nil, err
	}
	r.Seed[Redis] = time.Since(t0)
	rs, err := NewRedisStore(ctx, s.rc, s.live)
	if err != nil {
		return r, nil, err
	}
	defer rs.Close()

	ps, err := NewPostgresStore(ctx, s.pool, s.schema, "af_")
	if err != nil {
		return r, nil, err
	}
	defer ps.Close()
	t0 = time.Now()
	if err := SeedPostgres(ctx, s.pool, s.schema, "af_", d); err != nil {
		return r, nil, err
	}
	r.Seed[Postgres] = time.Since(t0)
	s.logf("size %d: seeded in %v (memory), %v (Redis), %v (PostgreSQL)", d.N,
		r.Seed[Memory].Round(time.Millisecond), r.Seed[Redis].Round(time.Millisecond), r.Seed[Postgres].Round(time.Millisecond))
	stores := []struct {
		name string
		st   store.Store
	}{{Memory, mem}, {Redis, rs}, {Postgres, ps}}
	for _, x := range stores {
		if err := CheckSeed(ctx, x.st, d); err != nil {
			return r, nil, fmt.Errorf("%s: %w", x.name, err)
		}
	}

	if r.Redis, err = RedisFootprint(ctx, s.rc, s.live, d, 1000); err != nil {
		return r, nil, err
	}
	if r.Postgres, err = PostgresFootprint(ctx, s.pool, s.schema, "af_", d.N); err != nil {
		return r, nil, err
	}

	tokens := NewTokenCache(d, 2*s.cfg.CacheSize)
	for _, x := range stores {
		g, err := NewGuard(x.st, d.Secret, s.cfg.CacheSize, TierObserver{})
		if err != nil {
			return r, nil, err
		}
		v, err := VerifyWorkload(ctx, g, d, tokens, s.cfg.Workload)
		g.Close()
		if err != nil {
			return r, nil, fmt.Errorf("%s verification: %w", x.name, err)
		}
		r.Verify[x.name] = v
		s.logf("size %d: %s verification: first sight p50 %v p99 %v, cached p50 %v p99 %v, hit ratio %.3f", d.N, x.name,
			v.FirstP50, v.FirstP99, v.CachedP50, v.CachedP99, v.HitRatio)
	}

	var out []Cell
	if cells {
		s.logf("size %d: throughput cells", d.N)
		var all []Bench
		b, err := MemoryBenches(mem, d)
		if err != nil {
			return r, nil, err
		}
		all = append(all, b...)
		if b, err = RedisBenches(ctx, rs, s.rc, s.live, d); err != nil {
			return r, nil, err
		}
		all = append(all, b...)
		if b, err = PostgresBenches(ctx, ps, s.pool, s.schema, "af_", d); err != nil {
			return r, nil, err
		}
		all = append(all, b...)
		cache, err := NewRedisCache(ctx, s.rc, s.live+"cache:")
		if err != nil {
			return r, nil, err
		}
		defer cache.Close()
		if b, err = CacheBenches(ctx, cache, s.rc, s.live+"cache:", 10_000); err != nil {
			return r, nil, err
		}
		all = append(all, b...)
		out = RunCells(ctx, s.cfg.Cells, all, func(c Cell) { fmt.Fprintln(s.cfg.Out, c.Line()) })
	}

	if r.Principal, err = CachedPrincipalBytes(ctx, d, s.cfg.CacheSize); err != nil {
		return r, out, err
	}
	s.logf("size %d: %.0f bytes per cached principal by the heap profile (%.0f by the live heap), %d entries", d.N,
		r.Principal.Profile, r.Principal.Heap, r.Principal.Entries)
	// The cleanup's datasets need the room.
	_ = mem.Close()
	mem, tokens = nil, nil

	probe := func(st store.Store) func(context.Context) error {
		id := d.SessionID(d.N / 3)
		return func(ctx context.Context) error {
			_, ok, err := st.GetSession(ctx, id)
			return found(ok, err)
		}
	}
	if r.Cleanup[Memory], err = s.memoryCleanup(ctx); err != nil {
		return r, out, err
	}
	if r.Cleanup[Redis], err = s.redisCleanup(ctx, probe(rs)); err != nil {
		return r, out, err
	}
	if r.Cleanup[Postgres], err = s.postgresCleanup(ctx, probe(ps)); err != nil {
		return r, out, err
	}
	for _, name := range []string{Memory, Redis, Postgres} {
		c := r.Cleanup[name]
		s.logf("size %d: %s cleanup of %d expired sessions: %v in %d calls (%v a session); slowest lookup meanwhile %v", d.N, name,
			c.Expired, c.Time.Round(time.Millisecond), c.Calls, c.PerRow(), c.ProbeMax.Round(time.Microsecond))
	}
	return r, out, nil
}

// memoryCleanup seeds a memory store whose clock then jumps past the deadline of every
// session but one, and times its Cleanup while the live one is looked up in a loop.
func (s *sizeRun) memoryCleanup(ctx context.Context) (Cleanup, error) {
	x := s.x
	var clock atomic.Int64
	clock.Store(x.Session(0).CreatedAt.Add(time.Minute).UnixNano())
	st := NewMemoryStore(func() time.Time { return time.Unix(0, clock.Load()) })
	defer st.Close()
	if err := SeedStore(ctx, st, x); err != nil {
		return Cleanup{}, err
	}
	keep := x.Session(0)
	keep.ID, keep.ExpiresAt = "probe-session", x.Now.Add(time.Hour)
	if err := st.CreateSession(ctx, keep); err != nil {
		return Cleanup{}, err
	}
	clock.Store(x.Now.UnixNano())
	c, err := timeCleanup(ctx, x.N, func(context.Context) (bool, error) {
		st.Cleanup()
		return true, nil
	}, func(ctx context.Context) error {
		_, ok, err := st.GetSession(ctx, keep.ID)
		return found(ok, err)
	})
	if err != nil {
		return c, err
	}
	stats, err := st.Stats(ctx)
	if err == nil && stats.LiveSessions != 1 {
		err = fmt.Errorf("memory cleanup left %d sessions", stats.LiveSessions)
	}
	return c, err
}

// redisCleanup seeds the indexes with the ids of sessions whose hashes Redis has already
// expired, and calls the store's Cleanup until the indexes are empty.
func (s *sizeRun) redisCleanup(ctx context.Context, probe func(context.Context) error) (Cleanup, error) {
	if err := SeedRedis(ctx, s.rc, s.expired, s.x); err != nil {
		return Cleanup{}, err
	}
	st, err := NewRedisStore(ctx, s.rc, s.expired)
	if err != nil {
		return Cleanup{}, err
	}
	defer st.Close()
	return timeCleanup(ctx, s.x.N, func(ctx context.Context) (bool, error) {
		if err := st.Cleanup(ctx); err != nil {
			return false, err
		}
		return redisIndexesEmpty(ctx, s.rc, s.expired)
	}, probe)
}

// postgresCleanup copies the expired dataset into tables of their own and times Cleanup.
func (s *sizeRun) postgresCleanup(ctx context.Context, probe func(context.Context) error) (Cleanup, error) {
	st, err := NewPostgresStore(ctx, s.pool, s.schema, "x_")
	if err != nil {
		return Cleanup{}, err
	}
	defer st.Close()
	if err := SeedPostgres(ctx, s.pool, s.schema, "x_", s.x); err != nil {
		return Cleanup{}, err
	}
	deleted := int64(0)
	c, err := timeCleanup(ctx, s.x.N, func(ctx context.Context) (bool, error) {
		// One call deletes the whole backlog, a thousand rows to a statement.
		n, err := st.Cleanup(ctx)
		deleted += n
		return true, err
	}, probe)
	if err == nil && deleted != int64(s.x.N) {
		err = fmt.Errorf("postgres cleanup deleted %d rows of %d", deleted, s.x.N)
	}
	return c, err
}

// DeleteRedisPrefix unlinks every key under prefix and reports how many.
func DeleteRedisPrefix(ctx context.Context, c redis.UniversalClient, prefix string) (int, error) {
	total := 0
	it := c.Scan(ctx, 0, prefix+"*", 10_000).Iterator()
	batch := make([]string, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.Unlink(ctx, batch...).Err()
		total += len(batch)
		batch = batch[:0]
		return err
	}
	for it.Next(ctx) {
		batch = append(batch, it.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return total, err
	}
	return total, flush()
}
