package scale

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one call of an operation by caller w (0 <= w < callers), its i-th call.
type Op func(ctx context.Context, w, i int) error

// Throughput runs op on callers goroutines for d and returns the calls that succeeded,
// those that failed, and the time from the start until the last caller stopped.
func Throughput(ctx context.Context, callers int, d time.Duration, op Op) (ok, failed int64, elapsed time.Duration) {
	var stop atomic.Bool
	var okN, failN atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var good, bad int64
			for i := 0; !stop.Load(); i++ {
				if op(ctx, w, i) == nil {
					good++
					continue
				}
				// A caller refused (a timeout, an open circuit breaker) waits a
				// millisecond before its next call, as a client answered 503 would: in a
				// tight loop, instant refusals would be counted by the million and take the
				// processors from the server that is catching up.
				bad++
				time.Sleep(time.Millisecond)
			}
			okN.Add(good)
			failN.Add(bad)
		}()
	}
	t0 := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	close(start)
	wg.Wait()
	timer.Stop()
	return okN.Load(), failN.Load(), time.Since(t0)
}

// Pair is the result of an interleaved comparison: ours and the raw driver's ops per
// second, and the calls that failed on each side.
type Pair struct {
	Ours, Raw             float64
	OursFailed, RawFailed int64
}

// Ratio is ours over raw.
func (p Pair) Ratio() float64 {
	if p.Raw == 0 {
		return 0
	}
	return p.Ours / p.Raw
}

// Interleave times ours and raw at the same concurrency in alternating slices of d (ours
// first in even rounds, raw first in odd ones, after one unrecorded warm-up slice each),
// so that whatever else the machine does falls on both sides alike.
func Interleave(ctx context.Context, callers, rounds int, d time.Duration, ours, raw Op) Pair {
	Throughput(ctx, callers, d/4, ours)
	Throughput(ctx, callers, d/4, raw)
	var oursN, rawN int64
	var oursT, rawT time.Duration
	var p Pair
	run := func(op Op, n *int64, t *time.Duration, failed *int64) {
		ok, bad, el := Throughput(ctx, callers, d, op)
		*n += ok
		*t += el
		*failed += bad
	}
	for r := range rounds {
		if r%2 == 0 {
			run(ours, &oursN, &oursT, &p.OursFailed)
			run(raw, &rawN, &rawT, &p.RawFailed)
		} else {
			run(raw, &rawN, &rawT, &p.RawFailed)
			run(ours, &oursN, &oursT, &p.OursFailed)
		}
	}
	p.Ours = float64(oursN) / oursT.Seconds()
	p.Raw = float64(rawN) / rawT.Seconds()
	return p
}
