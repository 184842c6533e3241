package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	rediscache "github.com/authframe/authframe/cache/redis"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	pgstore "github.com/authframe/authframe/stores/postgres"
	redisstore "github.com/authframe/authframe/stores/redis"
)

type backends struct {
	store     store.Store
	cache     store.Cache
	observers []authframe.Option
	metrics   http.Handler
	close     []func()
}

// openBackends connects the store and cache the configuration names. A server that does
// not answer at start is an error naming its variable; later outages are the Guard's to
// handle (503 within a second, recovery on return).
func openBackends(ctx context.Context, cfg Config, logger *slog.Logger) (b *backends, err error) {
	b = &backends{}
	defer func() {
		if err != nil {
			for i := len(b.close) - 1; i >= 0; i-- {
				b.close[i]()
			}
		}
	}()
	var rdb redis.UniversalClient
	redisClient := func() (redis.UniversalClient, error) {
		if rdb != nil {
			return rdb, nil
		}
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %v", err)
		}
		// Short timeouts: a dead Redis must cost a request well under a second.
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
		opt.MaxRetries = 1
		opt.ContextTimeoutEnabled = true
		c := redis.NewClient(opt)
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := c.Ping(pctx).Err(); err != nil {
			c.Close()
			return nil, fmt.Errorf("REDIS_URL: %s does not answer: %v", opt.Addr, err)
		}
		rdb = c
		b.close = append(b.close, func() { c.Close() })
		return c, nil
	}

	switch cfg.Store {
	case "memory":
		ms := memstore.New()
		b.store = ms
		b.close = append(b.close, func() { ms.Close() })
	case "redis":
		c, err := redisClient()
		if err != nil {
			return b, err
		}
		var opts []redisstore.Option
		if cfg.KeyPrefix != "" {
			opts = append(opts, redisstore.WithPrefix(cfg.KeyPrefix))
		}
		rs, err := redisstore.New(ctx, c, opts...)
		if err != nil {
			return b, fmt.Errorf("REDIS_URL: %v", err)
		}
		b.store = rs
		b.close = append(b.close, func() { rs.Close() })
	case "postgres":
		pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return b, fmt.Errorf("DATABASE_URL: %v", err)
		}
		pcfg.ConnConfig.ConnectTimeout = 500 * time.Millisecond
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return b, fmt.Errorf("DATABASE_URL: %v", err)
		}
		b.close = append(b.close, pool.Close)
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := pool.Ping(pctx); err != nil {
			return b, fmt.Errorf("DATABASE_URL: %s does not answer: %v", pcfg.ConnConfig.Host, err)
		}
		opts := []pgstore.Option{pgstore.WithLogger(logger)}
		if cfg.DBSchema != "" {
			opts = append(opts, pgstore.WithSchema(cfg.DBSchema))
		}
		ps, err := pgstore.New(ctx, pool, opts...)
		if err != nil {
			if cfg.DBSchema != "" {
				return b, fmt.Errorf("DATABASE_URL or AUTHFRAME_DB_SCHEMA: %v", err)
			}
			return b, fmt.Errorf("DATABASE_URL: %v", err)
		}
		b.store = ps
		b.close = append(b.close, func() { ps.Close() })
	}
	if cfg.Cache == "redis" {
		c, err := redisClient()
		if err != nil {
			return b, err
		}
		opts := []rediscache.Option{rediscache.WithLogger(logger)}
		if cfg.KeyPrefix != "" {
			opts = append(opts, rediscache.WithPrefix(cfg.KeyPrefix+"cache:"))
		}
		rc, err := rediscache.New(ctx, c, opts...)
		if err != nil {
			return b, fmt.Errorf("AUTHFRAME_CACHE: %v", err)
		}
		b.cache = rc
		b.close = append(b.close, func() { rc.Close() })
	}
	if err := b.observe(logger); err != nil {
		return b, err
	}
	return b, nil
}
