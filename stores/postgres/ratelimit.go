package pgstore

import (
	"context"
	"errors"
	"time"
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
