// Package testenv isolates the example apps' integration tests on the shared Redis and
// PostgreSQL servers: each test gets a key prefix and a schema of its own (through
// AUTHFRAME_KEY_PREFIX and AUTHFRAME_DB_SCHEMA), removed when it ends, so that no test
// reads what another test, or an earlier run, left behind.
package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Tag is a fresh lower-case tag for a key prefix or a schema name.
func Tag() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// RedisPrefix returns the AUTHFRAME_KEY_PREFIX entry of a fresh prefix on the Redis at url,
// whose keys are deleted when t ends.
func RedisPrefix(t testing.TB, url string) string {
	prefix := "authframe-test-" + Tag() + ":"
	t.Cleanup(func() { dropRedisPrefix(t, url, prefix) })
	return "AUTHFRAME_KEY_PREFIX=" + prefix
}

// DBSchema returns the AUTHFRAME_DB_SCHEMA entry of a fresh schema on the PostgreSQL at
// url, dropped with its tables when t ends.
func DBSchema(t testing.TB, url string) string {
	schema := "authframe_test_" + Tag()
	t.Cleanup(func() { dropSchema(t, url, schema) })
	return "AUTHFRAME_DB_SCHEMA=" + schema
}

func dropRedisPrefix(t testing.TB, url, prefix string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		if keys = append(keys, it.Val()); len(keys) == 500 {
			c.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		c.Del(ctx, keys...)
	}
	if err := it.Err(); err != nil {
		t.Logf("cleanup of %s*: %v", prefix, err)
	}
}

func dropSchema(t testing.TB, url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Logf("cleanup of schema %s: %v", schema, err)
	}
}
