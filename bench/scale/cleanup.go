package scale

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cleanup is one store's sweep of a backlog of expired sessions.
type Cleanup struct {
	Expired int           `json:"expired"`
	Time    time.Duration `json:"time_ns"`
	// Calls is how many calls of the store's Cleanup it took to clear the backlog (the
	// background job makes one per interval).
	Calls int `json:"calls"`
	// ProbeMax is the slowest session lookup of a live session made meanwhile by one
	// caller in a loop, ProbeCalls how many it made and ProbeFailed how many of them
	// failed (a store's operation timeout: the Guard would have answered 503).
	ProbeMax    time.Duration `json:"probe_max_ns"`
	ProbeCalls  int           `json:"probe_calls"`
	ProbeFailed int           `json:"probe_failed,omitempty"`
	// Seed is how long seeding the expired sessions took (not part of Time).
	Seed time.Duration `json:"seed_ns"`
}

// PerRow is the sweep's time per expired session.
func (c Cleanup) PerRow() time.Duration {
	if c.Expired == 0 {
		return 0
	}
	return c.Time / time.Duration(c.Expired)
}

// timeCleanup calls sweep until it reports that nothing is left (at most 1000 calls),
// while probe runs in a loop on another goroutine, from one call before the sweep starts
// to the end.
func timeCleanup(ctx context.Context, expired int, sweep func(context.Context) (done bool, err error), probe func(context.Context) error) (Cleanup, error) {
	c := Cleanup{Expired: expired}
	var stop atomic.Bool
	var wg sync.WaitGroup
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() && ctx.Err() == nil {
			t0 := time.Now()
			if probe(ctx) != nil {
				c.ProbeFailed++
			}
			c.ProbeMax = max(c.ProbeMax, time.Since(t0))
			c.ProbeCalls++
			if c.ProbeCalls == 1 {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-ctx.Done():
	}
	t0 := time.Now()
	var err error
	for c.Calls < 1000 {
		c.Calls++
		var done bool
		if done, err = sweep(ctx); err != nil || done {
			break
		}
	}
	c.Time = time.Since(t0)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return c, fmt.Errorf("cleanup: %w", err)
	}
	return c, nil
}

// redisIndexesEmpty reports whether the deadline indexes under prefix hold nothing.
func redisIndexesEmpty(ctx context.Context, c redis.UniversalClient, prefix string) (bool, error) {
	var live, fam *redis.IntCmd
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		live = p.ZCard(ctx, prefix+"{index}:live")
		fam = p.ZCard(ctx, prefix+"{index}:families")
		return nil
	})
	if err != nil {
		return false, err
	}
	return live.Val() == 0 && fam.Val() == 0, nil
}
