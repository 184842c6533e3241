package authframe

import (
	"sync/atomic"
	"time"
)

// coarseTick is how often the coarse clock advances. The cached-hit path compares a
// cache entry's expiry with this clock instead of reading the system clock, which on
// virtual machines costs more than the rest of the hit. A cached token can therefore be
// accepted at most coarseTick past its expiry (JWT times have one-second resolution and the
// verifier already allows WithLeeway); every other path reads the real clock.
const coarseTick = 5 * time.Millisecond

// coarseClock is a wall clock read with one atomic load, advanced by a ticker goroutine
// that the Guard stops on Close.
type coarseClock struct {
	ns atomic.Int64
}

func (c *coarseClock) now() time.Time { return time.Unix(0, c.ns.Load()) }

func (c *coarseClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// run advances the clock until done is closed.
func (c *coarseClock) run(done <-chan struct{}) {
	t := time.NewTicker(coarseTick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			c.set(time.Now())
		}
	}
}
