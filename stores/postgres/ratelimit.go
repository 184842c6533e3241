package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hit implements store.RateLimitStore with one INSERT ... ON CONFLICT DO UPDATE: the
// counter starts, counts or restarts its window in the row itself, so concurrent hits
// from every instance add up exactly.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	if window <= 0 {
		return 0, 0, wrap("hit", errors.New("window must be positive"))
	}
	c, err := s.begin(ctx, "hit", true)
	if err != nil {
		return 0, 0, err
	}
	now := s.now()
	var count int64
	var reset time.Time
	err = s.pool.QueryRow(c.ctx, s.q.hit, key, now, now.Add(window)).Scan(&count, &reset)
	s.end(c, err)
	if err != nil {
		return 0, 0, wrap("hit", err)
	}
	return count, reset.Sub(now), nil
}

// Peek implements store.RateLimitPeeker.
func (s *Store) Peek(ctx context.Context, key string) (int64, time.Duration, error) {
	c, err := s.begin(ctx, "peek", true)
	if err != nil {
		return 0, 0, err
	}
	now := s.now()
	var count int64
	var reset time.Time
	err = s.pool.QueryRow(c.ctx, s.q.peek, key, now).Scan(&count, &reset)
	s.end(c, err)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, wrap("peek", err)
	}
	return count, reset.Sub(now), nil
}
