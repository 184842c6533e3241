package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable is returned, wrapped with the operation's name, while the circuit breaker
// is open: PostgreSQL failed repeatedly and the store does not wait for it again until the
// cooldown has passed. See WithCircuitBreaker.
var ErrUnavailable = errors.New("pgstore: postgres unavailable (circuit open)")

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

// allow reports whether a call may go to PostgreSQL, and whether it is the half-open probe.
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
	if isFailure(err) {
		if b.failures.Add(1) >= b.threshold {
			b.openedAt.Store(time.Now().UnixNano())
		}
	} else {
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		if b.openedAt.Load() != 0 {
			b.openedAt.Store(0)
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

// isFailure says whether err means that PostgreSQL could not answer: a network error, a
// timeout, or a server that says it cannot serve (connection exceptions, too many
// connections, shutting down, starting up). Any other server error (a unique violation,
// say) and pgx.ErrNoRows prove that it answered.
func isFailure(err error) bool {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "53300" || strings.HasPrefix(pe.Code, "57P")
	}
	return true
}

// BreakerState reports the circuit breaker's state: "closed", "open" or "half-open"
// (authframe.BreakerStater, shown by the Guard's health report).
func (s *Store) BreakerState() string { return s.br.state() }

// call is the bookkeeping of one operation: the breaker's leave and the deadline.
type call struct {
	ctx    context.Context // the caller's, or a child with the operation timeout
	parent context.Context
	cancel context.CancelFunc
	probe  bool
}

// begin asks the breaker whether op may go to PostgreSQL and bounds it by the operation
// timeout (unless the caller's deadline is sooner). Pass the call to end.
func (s *Store) begin(ctx context.Context, op string, bounded bool) (call, error) {
	ok, probe := s.br.allow()
	if !ok {
		return call{}, fmt.Errorf("pgstore: %s: %w", op, ErrUnavailable)
	}
	c := call{ctx: ctx, parent: ctx, probe: probe}
	if bounded && s.cfg.timeout > 0 {
		if dl, has := ctx.Deadline(); !has || time.Until(dl) > s.cfg.timeout {
			c.ctx, c.cancel = context.WithTimeout(ctx, s.cfg.timeout)
		}
	}
	return c, nil
}

// end records the outcome of a call for the breaker. A call the caller abandoned (its
// context ended) says nothing about PostgreSQL.
func (s *Store) end(c call, err error) {
	if c.cancel != nil {
		c.cancel()
	}
	if err != nil && c.parent.Err() != nil {
		if c.probe {
			s.br.probing.Store(false)
		}
		return
	}
	s.br.record(err, c.probe)
}
