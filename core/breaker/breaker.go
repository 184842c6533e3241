// Package breaker is the consecutive-failure circuit breaker that authframe's store modules
// put around their servers. It has no dependencies; each store decides which of its errors
// mean "the server could not answer" and reports them as Failure.
package breaker

import (
	"sync/atomic"
	"time"
)

// Outcome is what a call that went through says about the server.
type Outcome uint8

const (
	// Success: the server answered (a "not found" or a constraint error is an answer too).
	// It closes the circuit.
	Success Outcome = iota
	// Failure: the server could not answer (network error, timeout, shutting down).
	Failure
	// Neutral: the call says nothing about the server (the caller gave up first).
	Neutral
)

// Breaker opens after Threshold consecutive failures. Closed, a call costs two atomic
// loads; open, calls are refused at once until the cooldown has passed; then one call at a
// time goes through as a probe (half-open), and its outcome closes or reopens the circuit.
// A nil *Breaker is always closed. It is safe for concurrent use.
type Breaker struct {
	threshold int32
	cooldown  time.Duration

	failures atomic.Int32
	openedAt atomic.Int64 // UnixNano when the circuit opened; 0 while closed
	probing  atomic.Bool
}

// New returns a Breaker that opens after threshold consecutive failures (at least 1) and
// probes again after cooldown.
func New(threshold int, cooldown time.Duration) *Breaker {
	return &Breaker{threshold: int32(max(threshold, 1)), cooldown: cooldown}
}

// Allow reports whether a call may go to the server, and whether it is the half-open probe.
// A call let through must be followed by Record with the same probe value.
func (b *Breaker) Allow() (ok, probe bool) {
	if b == nil {
		return true, false
	}
	opened := b.openedAt.Load()
	if opened == 0 {
		return true, false
	}
	if time.Since(time.Unix(0, opened)) < b.cooldown {
		return false, false
	}
	if b.probing.CompareAndSwap(false, true) {
		return true, true
	}
	return false, false
}

// Record takes the outcome of a call that went through (or of an out-of-band check such as
// a ping, with probe false).
func (b *Breaker) Record(o Outcome, probe bool) {
	if b == nil {
		return
	}
	switch o {
	case Success:
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		if b.openedAt.Load() != 0 {
			b.openedAt.Store(0)
		}
	case Failure:
		if b.failures.Add(1) >= b.threshold {
			b.openedAt.Store(time.Now().UnixNano())
		}
	}
	if probe {
		b.probing.Store(false)
	}
}

// State is "closed", "open" or "half-open".
func (b *Breaker) State() string {
	if b == nil {
		return "closed"
	}
	opened := b.openedAt.Load()
	switch {
	case opened == 0:
		return "closed"
	case time.Since(time.Unix(0, opened)) < b.cooldown:
		return "open"
	default:
		return "half-open"
	}
}
