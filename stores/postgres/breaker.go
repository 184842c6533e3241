package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authframe/authframe/core/breaker"
	"github.com/authframe/authframe/core/store"
)

// ErrUnavailable is returned, wrapped with the operation's name, while the circuit breaker
// is open: PostgreSQL failed repeatedly and the store does not wait for it again until the
// cooldown has passed. See WithCircuitBreaker.
var ErrUnavailable = errors.New("pgstore: postgres unavailable (circuit open)")

// outcome classifies a call's error for the circuit breaker (core/breaker).
func outcome(err error) breaker.Outcome {
	if isFailure(err) {
		return breaker.Failure
	}
	return breaker.Success
}

// isFailure says whether err means that PostgreSQL could not answer: a network error, a
// timeout, or a server that says it cannot serve (connection exceptions, too many
// connections, shutting down, starting up). Any other server error (a unique violation,
// say), pgx.ErrNoRows and store.ErrConflict (a unique violation that an operation turned
// into its answer) prove that it answered.
func isFailure(err error) bool {
	if err == nil || errors.Is(err, pgx.ErrNoRows) || errors.Is(err, store.ErrConflict) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "53300" || strings.HasPrefix(pe.Code, "57P")
	}
	return true
}

// BreakerState reports the circuit breaker's state: "closed", "open" or "half-open"
// (store.BreakerStater, shown by the Guard's health report).
func (s *Store) BreakerState() string { return s.br.State() }

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
	ok, probe := s.br.Allow()
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
		s.br.Record(breaker.Neutral, c.probe)
		return
	}
	s.br.Record(outcome(err), c.probe)
}
