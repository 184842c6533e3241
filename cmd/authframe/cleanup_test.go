package main

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// dropPrefix drops the tables a test created under its own table prefix.
func dropPrefix(t *testing.T, url, prefix string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Log(err)
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1`, prefix+"%")
	if err != nil {
		t.Log(err)
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Log(err)
		return
	}
	for _, n := range names {
		if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{n}.Sanitize()+` CASCADE`); err != nil {
			t.Log(err)
		}
	}
}

// cleanRedis deletes the keys under a test's own prefix (tests only: SCAN is never used
// outside tests).
func cleanRedis(t *testing.T, url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	// Large pages and one UNLINK per page: a test may leave a million keys.
	for cursor := uint64(0); ; {
		keys, next, err := c.Scan(ctx, cursor, prefix+"*", 10000).Result()
		if err != nil {
			t.Log(err)
			return
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				t.Log(err)
				return
			}
		}
		if next == 0 {
			return
		}
		cursor = next
	}
}
