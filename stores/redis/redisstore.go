package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/authframe/authframe/core/audit"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/breaker"
	"github.com/authframe/authframe/core/store"
)

var (
	// ErrClosed is returned by WatchRevocations once the Store is closed.
	ErrClosed = errors.New("redisstore: store closed")
	// ErrUnavailable is returned, wrapped with the operation's name, while the circuit
	// breaker is open: Redis failed repeatedly and the store does not wait for it again
	// until the cooldown has passed. See WithCircuitBreaker.
	ErrUnavailable = errors.New("redisstore: redis unavailable (circuit open)")
	// ErrCorrupt is returned when a record in Redis cannot be decoded, which means that
	// something other than this store wrote under its prefix.
	ErrCorrupt = errors.New("redisstore: corrupt record")
)

// Store keeps every authframe record in Redis through a redis.UniversalClient, so a
// standalone server, Sentinel and Cluster all work. It implements store.Store,
// store.RevocationFeed, store.StatsReporter, store.Exporter, store.ClientStore,
// store.APIKeyStore, store.MFAStore, store.ReplayStore and store.KeyStore, and is safe for
// concurrent use.
//
// Records expire by native TTLs. The atomic operations (RotateRefreshToken, Hit, and the
// conditional writes behind CreateSession, TouchSession and AddRefreshToken) are each one
// Lua script, sent with EVALSHA, whose keys share a hash tag and so one Cluster slot.
type Store struct {
	c   redis.UniversalClient
	cfg config
	k   keys
	log *slog.Logger
	br  *breaker.Breaker

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup

	pruneBatch int64 // ids one pass of pruneSessionIndex reads; a field so tests can shrink it
}

var (
	_ store.Store          = (*Store)(nil)
	_ store.RevocationFeed = (*Store)(nil)
	_ store.StatsReporter  = (*Store)(nil)
	_ store.Exporter       = (*Store)(nil)
)

// New returns a Store over client, which the caller keeps owning: Close does not close it.
// It pings Redis within ctx and logs a warning when it does not answer (a Guard over an
// unreachable store answers 503 until it does; call Ping yourself to make that fatal at
// start), and starts the background sweep (see WithCleanupInterval); Close stops it.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	s := &Store{c: client, cfg: cfg, k: newKeys(cfg.prefix), log: cfg.logger, pruneBatch: 256}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.breakerFailures > 0 {
		s.br = breaker.New(cfg.breakerFailures, cfg.breakerCooldown)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		s.log.Warn("redisstore: Redis does not answer yet", "error", audit.Scrub(err.Error()))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.interval > 0 {
		s.wg.Add(1)
		go s.cleanupLoop()
	}
	return s, nil
}

// Close stops the background sweep and every WatchRevocations of this Store, and waits for
// them. The client stays open: it belongs to the caller. The other methods keep working
// after Close. Close is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// goAdd registers background work that Close waits for; false once closed.
func (s *Store) goAdd() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Ping implements store.Store. It always reaches Redis, even while the circuit breaker is
// open, and its answer moves the breaker: a health check is also its probe.
func (s *Store) Ping(ctx context.Context) error {
	err := s.c.Ping(ctx).Err()
	s.br.Record(outcome(err), false)
	if err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// BreakerState reports the circuit breaker's state: "closed", "open" or "half-open"
// (store.BreakerStater, shown by the Guard's health report).
func (s *Store) BreakerState() string { return s.br.State() }

// enter asks the breaker whether a call may go to Redis. probe is true for the one call let
// through after the cooldown; pass it to leave.
func (s *Store) enter(op string) (probe bool, err error) {
	ok, probe := s.br.Allow()
	if !ok {
		return false, fmt.Errorf("redisstore: %s: %w", op, ErrUnavailable)
	}
	return probe, nil
}

// leave records the outcome of a call for the breaker and wraps a failure with the
// operation's name. redis.Nil is not a failure and is returned as is.
func (s *Store) leave(op string, probe bool, err error) error {
	s.br.Record(outcome(err), probe)
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

func (s *Store) cleanupLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
			if err := s.Cleanup(ctx); err != nil && s.ctx.Err() == nil {
				s.log.Warn("redisstore: cleanup failed", "error", audit.Scrub(err.Error()))
			}
			cancel()
		}
	}
}

// Cleanup prunes now what the background sweep prunes on its interval: expired
// revocations, and the ids of dead sessions in the indexes behind Stats and the export.
// Records themselves expire by TTL and need no sweep.
func (s *Store) Cleanup(ctx context.Context) error {
	probe, err := s.enter("cleanup")
	if err != nil {
		return err
	}
	now := time.Now()
	err = s.pruneRevocations(ctx, now)
	if err == nil {
		err = s.pruneSessionIndex(ctx, now)
	}
	return s.leave("cleanup", probe, err)
}
