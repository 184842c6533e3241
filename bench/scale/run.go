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

	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	pgstore "github.com/authframe/authframe/stores/postgres"
	redisstore "github.com/authframe/authframe/stores/redis"
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
	// RedisPool and PostgresConns size the go-redis and pgx pools (0: the driver's
	// default).
	RedisPool     int
	PostgresConns int32
	// Out receives the `scale:` lines, Log the progress.
	Out, Log io.Writer
}

// SizeResult is every figure measured on one dataset size.
type SizeResult struct {
	N int `json:"n"`
	// Seed is how long seeding each store with the users added since the last size took.
	Seed map[string]time.Duration `json:"seed_ns"`
	// Verify is the token workload, by store.
	Verify    map[string]Verification `json:"verify"`
	Principal PrincipalBytes          `json:"cached_principal"`
	// MemoryPerUser is the memory store's live heap per user added since the last size,
	// with its session and refresh family.
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
	res.Settings = fmt.Sprintf("callers %v, %d rounds of %v per side; workload %d callers, %d warm + %d recorded calls, Zipf s=%.2f; LRU %d; Redis pool %d, PostgreSQL pool %d (0: the driver's default)",
		cfg.Cells.Callers, cfg.Cells.Rounds, cfg.Cells.Slice, cfg.Workload.Callers, cfg.Workload.Warm, cfg.Workload.Calls,
		cfg.Workload.ZipfS, cfg.CacheSize, cfg.RedisPool, cfg.PostgresConns)
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	run := hex.EncodeToString(id[:])
	rc, err := RedisClient(cfg.RedisURL, cfg.RedisPool)
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
	schema := func(name string) (string, error) {
		s := "authframe_scale_" + run + "_" + name
		_, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{s}.Sanitize())
		schemas = append(schemas, s)
		return s, err
	}
	liveSchema, err := schema("live")
	if err != nil {
		return res, fmt.Errorf("create schema: %w", err)
	}
	// One dataset grows from size to size: the users of a smaller size are the first users
	// of the next, so each size seeds only the users it adds.
	l := &live{d: &Dataset{Seed: run + "/live", Now: now, Secret: secret, PasswordHash: hash},
		redisPrefix: redisPrefix + "live:", schema: liveSchema}
	if err := l.open(ctx, rc, pool); err != nil {
		return res, err
	}
	defer l.close()
	for _, n := range cfg.Sizes {
		tag := strconv.Itoa(n)
		s := &sizeRun{cfg: &cfg, logf: logf, rc: rc, pool: pool, l: l,
			x:             &Dataset{Seed: run + "/expired/" + tag, N: n, Now: now, Expired: true, Secret: secret, PasswordHash: hash},
			expiredPrefix: redisPrefix + "expired" + tag + ":"}
		if s.expiredSchema, err = schema("expired" + tag); err != nil {
			return res, err
		}
		sr, err := s.measure(ctx)
		if err != nil {
			return res, fmt.Errorf("size %d: %w", n, err)
		}
		res.Sizes = append(res.Sizes, sr)
		if _, err := DeleteRedisPrefix(ctx, rc, s.expiredPrefix); err != nil {
			return res, err
		}
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{s.expiredSchema}.Sanitize()+" CASCADE"); err != nil {
			return res, err
		}
		schemas = schemas[:len(schemas)-1]
		if n != cfg.CellsSize {
			continue
		}
		// The cells write (rotations, counters, revocations): they get a dataset of their
		// own, so that what they write never reaches the figures of a later size.
		cellSchema, err := schema("cells")
		if err != nil {
			return res, err
		}
		c := &live{d: &Dataset{Seed: run + "/cells", Now: now, Secret: secret, PasswordHash: hash},
			redisPrefix: redisPrefix + "cells:", schema: cellSchema}
		cells, err := runCells(ctx, &cfg, logf, rc, pool, c, n)
		res.Cells = append(res.Cells, cells...)
		if err != nil {
			return res, fmt.Errorf("cells: %w", err)
		}
	}
	return res, nil
}

// live is a dataset seeded into all three stores, which can grow.
type live struct {
	d           *Dataset
	redisPrefix string
	schema      string

	mem *memstore.Store
	rs  *redisstore.Store
	ps  *pgstore.Store
	rc  *redis.Client
	pg  *pgxpool.Pool
}

func (l *live) open(ctx context.Context, rc *redis.Client, pool *pgxpool.Pool) error {
	var err error
	l.rc, l.pg = rc, pool
	l.mem = NewMemoryStore(nil)
	if l.rs, err = NewRedisStore(ctx, rc, l.redisPrefix); err != nil {
		return err
	}
	l.ps, err = NewPostgresStore(ctx, pool, l.schema, "af_")
	return err
}

func (l *live) close() {
	for _, c := range []interface{ Close() error }{l.mem, l.rs, l.ps} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// stores are the three stores by name.
func (l *live) stores() []namedStore {
	return []namedStore{{Memory, l.mem}, {Redis, l.rs}, {Postgres, l.ps}}
}

type namedStore struct {
	name string
	st   store.Store
}

// grow seeds users l.d.N..n-1 into every store, one store at a time (side by side they
// only take turns on the machine's two cores, and the memory store's heap growth per user
// must be its own), and reads samples back through each store. It returns each store's
// seeding time and the memory store's live heap per added user.
func (l *live) grow(ctx context.Context, n int) (map[string]time.Duration, float64, error) {
	lo := l.d.N
	took := map[string]time.Duration{}
	before := liveHeap()
	t0 := time.Now()
	if err := SeedStore(ctx, l.mem, l.d, lo, n); err != nil {
		return nil, 0, err
	}
	took[Memory] = time.Since(t0)
	perUser := float64(liveHeap()-before) / float64(n-lo)
	t0 = time.Now()
	if err := SeedRedis(ctx, l.rc, l.redisPrefix, l.d, lo, n); err != nil {
		return nil, 0, err
	}
	took[Redis] = time.Since(t0)
	t0 = time.Now()
	if err := SeedPostgres(ctx, l.pg, l.schema, "af_", l.d, lo, n); err != nil {
		return nil, 0, err
	}
	took[Postgres] = time.Since(t0)
	l.d.N = n
	for _, x := range l.stores() {
		// A read that missed the store's timeout on a loaded machine is asked again; a
		// record that differs differs every time.
		var err error
		for try := 0; try < 3; try++ {
			if err = CheckSeed(ctx, x.st, l.d); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", x.name, err)
		}
	}
	return took, perUser, nil
}

// sizeRun measures one size.
type sizeRun struct {
	cfg  *Config
	logf func(string, ...any)
	rc   *redis.Client
	pool *pgxpool.Pool
	l    *live
	// x is the size's expired dataset, seeded for the cleanup under expiredPrefix in Redis
	// and in expiredSchema.
	x             *Dataset
	expiredPrefix string
	expiredSchema string
}

func (s *sizeRun) measure(ctx context.Context) (SizeResult, error) {
	n := s.x.N
	r := SizeResult{N: n, Verify: map[string]Verification{}, Cleanup: map[string]Cleanup{}}
	var err error
	// The measurements that build heaps of their own come before the live memory store
	// grows to n users: every full collection they need then marks the previous size's
	// heap, not this one's.
	if r.Principal, err = CachedPrincipalBytes(ctx, s.l.d.Grown(n), s.cfg.CacheSize, 10_000); err != nil {
		return r, err
	}
	s.logf("size %d: %.0f bytes per cached principal by the heap profile (%.0f by the live heap), %d entries", n,
		r.Principal.Profile, r.Principal.Heap, r.Principal.Entries)
	if r.Cleanup[Memory], err = s.memoryCleanup(ctx); err != nil {
		return r, err
	}
	s.logCleanup(Memory, r.Cleanup[Memory])

	s.logf("size %d: seeding", n)
	if r.Seed, r.MemoryPerUser, err = s.l.grow(ctx, n); err != nil {
		return r, err
	}
	d := s.l.d
	s.logf("size %d: seeded in %v (memory), %v (Redis), %v (PostgreSQL)", n, r.Seed[Memory].Round(time.Millisecond),
		r.Seed[Redis].Round(time.Millisecond), r.Seed[Postgres].Round(time.Millisecond))

	if r.Redis, err = RedisFootprint(ctx, s.rc, s.l.redisPrefix, d, 1000); err != nil {
		return r, err
	}
	if r.Postgres, err = PostgresFootprint(ctx, s.pool, s.l.schema, "af_", n); err != nil {
		return r, err
	}

	tokens := NewTokenCache(d, 2*s.cfg.CacheSize)
	for _, x := range s.l.stores() {
		g, err := NewGuard(x.st, d.Secret, s.cfg.CacheSize, TierObserver{})
		if err != nil {
			return r, err
		}
		v, err := VerifyWorkload(ctx, g, d, tokens, s.cfg.Workload)
		g.Close()
		if err != nil {
			return r, fmt.Errorf("%s verification: %w", x.name, err)
		}
		r.Verify[x.name] = v
		s.logf("size %d: %s verification: first sight p50 %v p99 %v, cached p50 %v p99 %v, hit ratio %.3f", n, x.name,
			v.FirstP50, v.FirstP99, v.CachedP50, v.CachedP99, v.HitRatio)
	}

	probe := func(st store.Store) func(context.Context) error {
		id := d.SessionID(n / 3)
		return func(ctx context.Context) error {
			_, ok, err := st.GetSession(ctx, id)
			return found(ok, err)
		}
	}
	if r.Cleanup[Redis], err = s.redisCleanup(ctx, probe(s.l.rs)); err != nil {
		return r, err
	}
	s.logCleanup(Redis, r.Cleanup[Redis])
	if r.Cleanup[Postgres], err = s.postgresCleanup(ctx, probe(s.l.ps)); err != nil {
		return r, err
	}
	s.logCleanup(Postgres, r.Cleanup[Postgres])
	return r, nil
}

func (s *sizeRun) logCleanup(name string, c Cleanup) {
	s.logf("size %d: %s cleanup of %d expired sessions (seeded in %v): %v in %d calls (%v a session); slowest of %d lookups meanwhile %v, %d failed",
		s.x.N, name, c.Expired, c.Seed.Round(time.Millisecond), c.Time.Round(time.Millisecond), c.Calls, c.PerRow(), c.ProbeCalls,
		c.ProbeMax.Round(time.Microsecond), c.ProbeFailed)
}

// runCells seeds the cells' dataset of n users into l's stores and runs every cell.
func runCells(ctx context.Context, cfg *Config, logf func(string, ...any), rc *redis.Client, pool *pgxpool.Pool, l *live, n int) ([]Cell, error) {
	if err := l.open(ctx, rc, pool); err != nil {
		return nil, err
	}
	defer l.close()
	logf("cells: seeding %d users", n)
	if _, _, err := l.grow(ctx, n); err != nil {
		return nil, err
	}
	d := l.d
	var all []Bench
	b, err := MemoryBenches(l.mem, d)
	if err != nil {
		return nil, err
	}
	all = append(all, b...)
	if b, err = MemoryAPIKeyBenches(ctx, l.mem, d); err != nil {
		return nil, err
	}
	all = append(all, b...)
	if b, err = RedisBenches(ctx, l.rs, rc, l.redisPrefix, d); err != nil {
		return nil, err
	}
	all = append(all, b...)
	if b, err = RedisAPIKeyBenches(ctx, l.rs, rc, l.redisPrefix, d); err != nil {
		return nil, err
	}
	all = append(all, b...)
	smallPool, err := PostgresPool(ctx, cfg.DatabaseURL, 0)
	if err != nil {
		return nil, err
	}
	defer smallPool.Close()
	small, err := NewPostgresStore(ctx, smallPool, l.schema, "af_")
	if err != nil {
		return nil, err
	}
	defer small.Close()
	legacy, err := pgstore.New(ctx, pool, pgstore.WithSchema(l.schema), pgstore.WithTablePrefix("af_"), pgstore.WithCleanupInterval(0),
		pgstore.WithMigrate(false), pgstore.WithLegacyRefreshFamilies())
	if err != nil {
		return nil, err
	}
	defer legacy.Close()
	if b, err = PostgresBenches(ctx, l.ps, small, legacy, pool, l.schema, "af_", d); err != nil {
		return nil, err
	}
	all = append(all, b...)
	if b, err = PostgresAPIKeyBenches(ctx, l.ps, pool, l.schema, "af_", d); err != nil {
		return nil, err
	}
	all = append(all, b...)
	cache, err := NewRedisCache(ctx, rc, l.redisPrefix+"cache:")
	if err != nil {
		return nil, err
	}
	defer cache.Close()
	if b, err = CacheBenches(ctx, cache, rc, l.redisPrefix+"cache:", 10_000); err != nil {
		return nil, err
	}
	all = append(all, b...)
	logf("cells: measuring")
	cells := RunCells(ctx, cfg.Cells, all, func(c Cell) { fmt.Fprintln(cfg.Out, c.Line()) })
	return cells, ctx.Err()
}

// memoryCleanup seeds a memory store whose clock then jumps past the deadline of every
// session but one, and times its Cleanup while the live one is looked up in a loop.
func (s *sizeRun) memoryCleanup(ctx context.Context) (Cleanup, error) {
	x := s.x
	var clock atomic.Int64
	clock.Store(x.Session(0).CreatedAt.Add(time.Minute).UnixNano())
	st := NewMemoryStore(func() time.Time { return time.Unix(0, clock.Load()) })
	defer st.Close()
	t0 := time.Now()
	// Sessions and their families only: the sweep never reads users.
	for i := range x.N {
		if err := st.CreateSession(ctx, x.Session(i)); err != nil {
			return Cleanup{}, err
		}
		if err := st.AddRefreshToken(ctx, x.Refresh(i)); err != nil {
			return Cleanup{}, err
		}
	}
	keep := x.Session(0)
	keep.ID, keep.ExpiresAt = "probe-session", x.Now.Add(time.Hour)
	if err := st.CreateSession(ctx, keep); err != nil {
		return Cleanup{}, err
	}
	clock.Store(x.Now.UnixNano())
	seed := time.Since(t0)
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
	c.Seed = seed
	stats, err := st.Stats(ctx)
	if err == nil && stats.LiveSessions != 1 {
		err = fmt.Errorf("memory cleanup left %d sessions", stats.LiveSessions)
	}
	return c, err
}

// redisCleanup seeds the indexes with the ids of sessions whose hashes Redis has already
// expired, and calls the store's Cleanup until the indexes are empty.
func (s *sizeRun) redisCleanup(ctx context.Context, probe func(context.Context) error) (Cleanup, error) {
	t0 := time.Now()
	if err := SeedRedis(ctx, s.rc, s.expiredPrefix, s.x, 0, s.x.N); err != nil {
		return Cleanup{}, err
	}
	seed := time.Since(t0)
	st, err := NewRedisStore(ctx, s.rc, s.expiredPrefix)
	if err != nil {
		return Cleanup{}, err
	}
	defer st.Close()
	c, err := timeCleanup(ctx, s.x.N, func(ctx context.Context) (bool, error) {
		if err := st.Cleanup(ctx); err != nil {
			return false, err
		}
		return redisIndexesEmpty(ctx, s.rc, s.expiredPrefix)
	}, probe)
	c.Seed = seed
	return c, err
}

// postgresCleanup copies the expired dataset into tables of their own and times Cleanup.
func (s *sizeRun) postgresCleanup(ctx context.Context, probe func(context.Context) error) (Cleanup, error) {
	st, err := NewPostgresStore(ctx, s.pool, s.expiredSchema, "af_")
	if err != nil {
		return Cleanup{}, err
	}
	defer st.Close()
	t0 := time.Now()
	if err := SeedPostgres(ctx, s.pool, s.expiredSchema, "af_", s.x, 0, s.x.N); err != nil {
		return Cleanup{}, err
	}
	seed := time.Since(t0)
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
	c.Seed = seed
	return c, err
}

// DeleteRedisPrefix unlinks every key under prefix and reports how many: each page of the
// scan goes in one pipeline of UNLINKs.
func DeleteRedisPrefix(ctx context.Context, c redis.UniversalClient, prefix string) (int, error) {
	total := 0
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, prefix+"*", 10_000).Result()
		if err != nil {
			return total, err
		}
		if len(keys) > 0 {
			_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for lo := 0; lo < len(keys); lo += 1000 {
					p.Unlink(ctx, keys[lo:min(lo+1000, len(keys))]...)
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			total += len(keys)
		}
		if next == 0 {
			return total, nil
		}
		cursor = next
	}
}
