package scale

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// RedisBytes is what Redis holds per session and per user, by MEMORY USAGE.
type RedisBytes struct {
	// Session is the session's hash, its one refresh token included (mean of a sample).
	Session float64 `json:"session_hash"`
	// UserSessions is the user's index of sessions (one id here).
	UserSessions float64 `json:"user_sessions"`
	// Indexes is the session's share of the global indexes (sessions, live, families).
	Indexes float64 `json:"indexes"`
	// PerSession is the sum of the three.
	PerSession float64 `json:"per_session"`
	// PerUser is the user's hash, its username claim and its share of the users index.
	PerUser float64 `json:"per_user"`
}

// RedisFootprint measures d's keys under prefix: every global index whole, and the
// per-user keys on a sample of sample users spread over the dataset.
func RedisFootprint(ctx context.Context, c redis.UniversalClient, prefix string, d *Dataset, sample int) (RedisBytes, error) {
	usage := func(key string) (float64, error) {
		n, err := c.MemoryUsage(ctx, key, 0).Result()
		if err != nil {
			return 0, fmt.Errorf("MEMORY USAGE %s: %w", key, err)
		}
		return float64(n), nil
	}
	var b RedisBytes
	sample = min(sample, d.N)
	var sess, us, user, name float64
	for j := range sample {
		i := j * (d.N / sample)
		for _, k := range []struct {
			key string
			sum *float64
		}{
			{prefix + "session:" + d.SessionID(i), &sess},
			{prefix + "user-sessions:" + d.UserID(i), &us},
			{prefix + "user:" + d.UserID(i), &user},
			{prefix + "username:" + d.Username(i), &name},
		} {
			v, err := usage(k.key)
			if err != nil {
				return b, err
			}
			*k.sum += v
		}
	}
	s := float64(sample)
	b.Session, b.UserSessions = sess/s, us/s
	var idx float64
	for _, k := range []string{"{index}:sessions", "{index}:live", "{index}:families"} {
		v, err := usage(prefix + k)
		if err != nil {
			return b, err
		}
		idx += v
	}
	users, err := usage(prefix + "{index}:users")
	if err != nil {
		return b, err
	}
	n := float64(d.N)
	b.Indexes = idx / n
	b.PerSession = b.Session + b.UserSessions + b.Indexes
	b.PerUser = user/s + name/s + users/n
	return b, nil
}

// PostgresBytes is what PostgreSQL holds per session and per user: table (heap and TOAST)
// and index sizes divided by the rows.
type PostgresBytes struct {
	SessionTable   float64 `json:"session_table"`
	SessionIndexes float64 `json:"session_indexes"`
	// Refresh is the refresh_tokens table and its indexes per session: empty since schema
	// version 10 keeps a family in its session row (in SessionTable); it holds only the
	// families of older releases.
	Refresh float64 `json:"refresh"`
	// PerSession is the sum of the three.
	PerSession float64 `json:"per_session"`
	PerUser    float64 `json:"per_user"`
}

// PostgresFootprint measures the tables of schema and prefix holding n users and sessions.
func PostgresFootprint(ctx context.Context, pool *pgxpool.Pool, schema, prefix string, n int) (PostgresBytes, error) {
	var b PostgresBytes
	var st, si, rt, ut int64
	q := `SELECT pg_table_size($1::regclass), pg_indexes_size($1::regclass),
		pg_total_relation_size($2::regclass), pg_total_relation_size($3::regclass)`
	name := func(t string) string { return pgx.Identifier{schema, prefix + t}.Sanitize() }
	if err := pool.QueryRow(ctx, q, name("sessions"), name("refresh_tokens"), name("users")).Scan(&st, &si, &rt, &ut); err != nil {
		return b, fmt.Errorf("table sizes: %w", err)
	}
	f := float64(n)
	b.SessionTable, b.SessionIndexes, b.Refresh = float64(st)/f, float64(si)/f, float64(rt)/f
	b.PerSession = b.SessionTable + b.SessionIndexes + b.Refresh
	b.PerUser = float64(ut) / f
	return b, nil
}
