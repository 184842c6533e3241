package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/store"
	pgstore "github.com/authframe/authframe/stores/postgres"
	redisstore "github.com/authframe/authframe/stores/redis"
)

// envStoreURL names the store when --store is not given.
const envStoreURL = "AUTHFRAME_STORE_URL"

// Source is a store that can be read in full.
type Source interface {
	store.Store
	store.Exporter
}

// openStore opens a Redis or PostgreSQL store from a URL, migrating a PostgreSQL schema
// to this release's version as the apps do at start.
func openStore(ctx context.Context, url, prefix string) (Source, func(), error) {
	return openStoreWith(ctx, url, prefix, true)
}

// openStoreWith opens a store; migrate false leaves a PostgreSQL schema as it is (doctor
// only looks).
func openStoreWith(ctx context.Context, url, prefix string, migrate bool) (Source, func(), error) {
	switch {
	case strings.HasPrefix(url, "redis://"), strings.HasPrefix(url, "rediss://"):
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, usageErr("%w", err)
		}
		c := redis.NewClient(opt)
		if err := c.Ping(ctx).Err(); err != nil {
			c.Close()
			return nil, nil, err
		}
		var opts []redisstore.Option
		if prefix != "" {
			opts = append(opts, redisstore.WithPrefix(prefix))
		}
		// The command's own work is short: no background sweep.
		opts = append(opts, redisstore.WithCleanupInterval(0))
		s, err := redisstore.New(ctx, c, opts...)
		if err != nil {
			c.Close()
			return nil, nil, usageErr("%w", err)
		}
		return s, func() { s.Close(); c.Close() }, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, nil, usageErr("%w", err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, nil, err
		}
		opts := []pgstore.Option{pgstore.WithMigrate(migrate), pgstore.WithCleanupInterval(0)}
		if prefix != "" {
			opts = append(opts, pgstore.WithTablePrefix(prefix))
		}
		s, err := pgstore.New(ctx, pool, opts...)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); pool.Close() }, nil
	case url == "":
		return nil, nil, usageErr("no store: pass --store URL or set %s", envStoreURL)
	}
	return nil, nil, usageErr("unsupported store URL %q (want redis://… or postgres://…)", redactURL(url))
}

// redactURL hides the password of a URL that goes into a message.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "…"
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return u
	}
	userinfo := rest[:at]
	if name, _, ok := strings.Cut(userinfo, ":"); ok {
		return scheme + "://" + name + ":xxxxx@" + rest[at+1:]
	}
	return u
}

// url is the store URL of the command: --store, else AUTHFRAME_STORE_URL.
func (a *app) url() string {
	if a.storeURL != "" {
		return a.storeURL
	}
	return os.Getenv(envStoreURL)
}

// open opens the command's store; close it with the function returned.
func (a *app) open(ctx context.Context) (Source, func(), error) {
	return openStore(ctx, a.url(), a.prefix)
}

// lifetimes are the token and session lifetimes of the apps, read from their variables
// (CONTRACT: AUTHFRAME_ACCESS_TTL, AUTHFRAME_REFRESH_TTL, AUTHFRAME_SESSION_ABSOLUTE).
type lifetimes struct {
	access, refresh, session time.Duration
}

// longest is how long a revocation the command writes must be kept: until every token or
// session it may cover has expired.
func (l lifetimes) longest() time.Duration { return max(l.access, l.refresh, l.session) }

// envDuration reads a positive Go duration from the environment variable name.
func envDuration(name string, def time.Duration) (time.Duration, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, usageErr("%s=%q: %v", name, v, err)
	}
	if d <= 0 {
		return 0, usageErr("%s=%q: must be positive", name, v)
	}
	return d, nil
}

func readLifetimes() (lifetimes, error) {
	var l lifetimes
	var err error
	if l.access, err = envDuration("AUTHFRAME_ACCESS_TTL", 15*time.Minute); err != nil {
		return l, err
	}
	if l.refresh, err = envDuration("AUTHFRAME_REFRESH_TTL", 720*time.Hour); err != nil {
		return l, err
	}
	if l.session, err = envDuration("AUTHFRAME_SESSION_ABSOLUTE", 24*time.Hour); err != nil {
		return l, err
	}
	return l, nil
}

// guard returns a Guard over st with core's rules for users and passwords. It signs
// nothing that leaves the command (its HMAC secret is random and thrown away); the
// apps' own Guards read what it writes through the store.
func guard(st store.Store, l lifetimes) (*authframe.Guard, error) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return authframe.New(
		authframe.WithStore(st),
		authframe.WithHMACSecret(secret),
		authframe.WithIssuer("authframe-cli"),
		authframe.WithAudience("authframe-cli"),
		authframe.WithTokens(authframe.TokenConfig{AccessTTL: l.access, RefreshTTL: l.refresh}),
		authframe.WithSessions(authframe.SessionConfig{AbsoluteTimeout: l.session}),
	)
}

// revokeUser ends everything a user holds: first a RevokeUser revocation, which every
// instance applies within a second through its revocation feed to the tokens and
// sessions issued until now, then the user's sessions with their refresh families, so
// that nothing can be refreshed or renewed. Interrupted, it can simply be run again: the
// revocation is written anew and the sessions left are listed again.
func revokeUser(ctx context.Context, st store.Store, userID string, l lifetimes, pr func(total int) progress) (int, error) {
	now := time.Now()
	if err := st.AddRevocation(ctx, store.Revocation{Kind: store.RevokeUser, Key: userID, At: now, ExpiresAt: now.Add(l.longest())}); err != nil {
		return 0, fmt.Errorf("write the revocation: %w", err)
	}
	sessions, err := st.ListSessions(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("list sessions: %w", err)
	}
	if pr == nil {
		pr = func(int) progress { return nopProgress{} }
	}
	bar := pr(len(sessions))
	defer bar.Done()
	n := 0
	for _, s := range sessions {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		existed, err := st.DeleteSession(ctx, s.ID)
		if err != nil {
			return n, fmt.Errorf("delete session: %w", err)
		}
		if existed {
			n++
		}
		bar.Add(1)
	}
	return n, nil
}

// findUser finds a user by username, else by id.
func findUser(ctx context.Context, st store.Store, ref string) (store.User, error) {
	u, ok, err := st.GetUserByUsername(ctx, ref)
	if err != nil {
		return store.User{}, err
	}
	if ok {
		return u, nil
	}
	u, ok, err = st.GetUser(ctx, ref)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, notFoundErr("no user %q (by username or id)", ref)
	}
	return u, nil
}
