package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// breaker is a consecutive-failure circuit breaker. Closed, a call costs two atomic loads;
// open, calls fail at once until the cooldown has passed; then one call at a time goes
// through as a probe (half-open) and its outcome closes or reopens the circuit. A nil
// *breaker is always closed.
type breaker struct {
	threshold int32
	cooldown  time.Duration

	failures atomic.Int32
	openedAt atomic.Int64 // UnixNano when the circuit opened; 0 while closed
	probing  atomic.Bool
}

// allow reports whether a call may go to Redis, and whether it is the half-open probe.
func (b *breaker) allow() (ok, probe bool) {
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

// record takes the outcome of a call that went through.
func (b *breaker) record(err error, probe bool) {
	if b == nil {
		return
	}
	switch {
	case !isFailure(err):
		if err == nil || errors.Is(err, redis.Nil) || isServerReply(err) {
			if b.failures.Load() != 0 {
				b.failures.Store(0)
			}
			if b.openedAt.Load() != 0 {
				b.openedAt.Store(0)
			}
		}
	default:
		if b.failures.Add(1) >= b.threshold {
			b.openedAt.Store(time.Now().UnixNano())
		}
	}
	if probe {
		b.probing.Store(false)
	}
}

func (b *breaker) state() string {
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

// isFailure says whether err means that Redis could not answer: a network error, a timeout,
// or a server that says it cannot serve (loading, cluster down, no master). A caller's
// cancellation is nobody's failure, and any other reply from the server (including
// redis.Nil) proves that it answered.
func isFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	if isServerReply(err) {
		msg := err.Error()
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "BUSY "} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

func isServerReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}
