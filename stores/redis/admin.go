package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// Hit implements store.RateLimitStore: INCR, and PEXPIRE on the first hit of a window, in
// one script that also returns the time left (PTTL).
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	const op = "rate limit hit"
	probe, err := s.enter(op)
	if err != nil {
		return 0, 0, err
	}
	w := max(window.Milliseconds(), 1)
	res, err := hitScript.Run(ctx, s.c, []string{s.k.rate(key)}, w).Int64Slice()
	if err = s.leave(op, probe, err); err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, ErrCorrupt
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}

// Peek implements store.RateLimitPeeker: the counter and its PTTL, in one round trip.
func (s *Store) Peek(ctx context.Context, key string) (int64, time.Duration, error) {
	const op = "rate limit peek"
	probe, err := s.enter(op)
	if err != nil {
		return 0, 0, err
	}
	res, err := peekScript.Run(ctx, s.c, []string{s.k.rate(key)}).Int64Slice()
	if err = s.leave(op, probe, err); err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, ErrCorrupt
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}

// Stats implements store.StatsReporter. It first repairs the deadline indexes (see
// Cleanup), so the counts are exact, then counts with ZCARD and ZCOUNT.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	const op = "stats"
	probe, err := s.enter(op)
	if err != nil {
		return store.Stats{}, err
	}
	now := time.Now()
	if err := s.pruneSessionIndex(ctx, now); err != nil {
		return store.Stats{}, s.leave(op, probe, err)
	}
	var users, live, families, revs *redis.IntCmd
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		users = p.ZCard(ctx, s.k.users)
		live = p.ZCard(ctx, s.k.live)
		families = p.ZCard(ctx, s.k.families)
		revs = p.ZCount(ctx, s.k.revExp, "("+strconv.FormatInt(now.UnixMilli(), 10), "+inf")
		return nil
	})
	if err = s.leave(op, probe, err); err != nil {
		return store.Stats{}, err
	}
	return store.Stats{Users: users.Val(), LiveSessions: live.Val(), LiveFamilies: families.Val(), Revocations: revs.Val()}, nil
}

// ExportUsers implements store.Exporter: users by id, from the index of user ids.
func (s *Store) ExportUsers(ctx context.Context, cursor string, limit int) ([]store.User, string, error) {
	const op = "export users"
	if limit <= 0 {
		return nil, "", fmt.Errorf("redisstore: %s: limit %d: must be positive", op, limit)
	}
	probe, err := s.enter(op)
	if err != nil {
		return nil, "", err
	}
	ids, err := s.c.ZRangeByLex(ctx, s.k.users, &redis.ZRangeBy{Min: lexAfter(cursor), Max: "+", Count: int64(limit)}).Result()
	if err != nil {
		return nil, "", s.leave(op, probe, err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	if len(ids) > 0 {
		_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HGetAll(ctx, s.k.user(id))
			}
			return nil
		})
		if err != nil {
			return nil, "", s.leave(op, probe, err)
		}
	}
	s.leave(op, probe, nil)
	out := make([]store.User, 0, len(ids))
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		u, err := decodeUser(ids[i], cmd.Val())
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: %s: %w", op, err)
		}
		out = append(out, u)
	}
	next := ""
	if len(ids) == limit {
		next = ids[len(ids)-1]
	}
	return out, next, nil
}
