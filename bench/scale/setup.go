package scale

// Every store, cache and Guard of the measurements is built here and nowhere else, so that
// a change to a constructor's signature is one edit.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	rediscache "github.com/authframe/authframe/cache/redis"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	pgstore "github.com/authframe/authframe/stores/postgres"
	redisstore "github.com/authframe/authframe/stores/redis"
)

// RedisClient connects to url with poolSize connections (0: go-redis's default, ten per
// CPU) and context deadlines honoured, which the shared cache requires.
func RedisClient(url string, poolSize int) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	if poolSize > 0 {
		opt.PoolSize = poolSize
	}
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}

// PostgresPool connects to url with maxConns connections (0: pgxpool's default, four or
// one per CPU).
func PostgresPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// NewMemoryStore is the memory store on the clock now (nil: time.Now). Its sweep is left
// to the measurements, which call Cleanup themselves.
func NewMemoryStore(now func() time.Time) *memstore.Store {
	opts := []memstore.Option{memstore.WithCleanupInterval(time.Hour)}
	if now != nil {
		opts = append(opts, memstore.WithClock(now))
	}
	return memstore.New(opts...)
}

// NewRedisStore is a Redis store under prefix, its background sweep off.
func NewRedisStore(ctx context.Context, client redis.UniversalClient, prefix string) (*redisstore.Store, error) {
	return redisstore.New(ctx, client, redisstore.WithPrefix(prefix), redisstore.WithCleanupInterval(0))
}

// NewPostgresStore is a PostgreSQL store in schema with tables named prefix*, migrated, its
// cleanup job off.
func NewPostgresStore(ctx context.Context, pool *pgxpool.Pool, schema, prefix string) (*pgstore.Store, error) {
	return pgstore.New(ctx, pool, pgstore.WithSchema(schema), pgstore.WithTablePrefix(prefix), pgstore.WithCleanupInterval(0))
}

// NewRedisCache is the shared cache tier under prefix.
func NewRedisCache(ctx context.Context, client redis.UniversalClient, prefix string) (*rediscache.Cache, error) {
	return rediscache.New(ctx, client, rediscache.WithPrefix(prefix))
}

// NewGuard is a Guard over st that verifies the dataset's tokens (see Dataset.Token) with
// an in-process cache of cacheSize entries. obs may be nil.
func NewGuard(st store.Store, secret []byte, cacheSize int, obs audit.Observer) (*authframe.Guard, error) {
	cache := authframe.CacheConfig{Size: cacheSize, Disabled: cacheSize == 0}
	opts := []authframe.Option{
		authframe.WithStore(st),
		authframe.WithHMACSecret(secret),
		authframe.WithIssuer(Issuer),
		authframe.WithAudience(Audience),
		authframe.WithCache(cache),
	}
	if obs != nil {
		opts = append(opts, authframe.WithObserver(obs))
	}
	g, err := authframe.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	return g, nil
}
