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
	// caller in a loop, and ProbeCalls how many it made.
	ProbeMax   time.Duration `json:"probe_max_ns"`
	ProbeCalls int           `json:"probe_calls"`
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
	var probeErr error
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			t0 := time.Now()
			err := probe(ctx)
			if c.ProbeCalls == 0 {
				close(started)
			}
			if err != nil {
				probeErr = err
				return
			}
			c.ProbeMax = max(c.ProbeMax, time.Since(t0))
			c.ProbeCalls++
		}
	}()
	<-started
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
	if err == nil {
		err = probeErr
	}
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
