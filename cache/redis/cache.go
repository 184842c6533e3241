package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authframe/authframe/core/audit"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/authframe/authframe/core/store"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrUnavailable: the circuit breaker refused the call without touching Redis, because
	// recent calls failed (it is open) or because its one recovery probe is in flight.
	ErrUnavailable = errors.New("rediscache: unavailable")
	// ErrClosed: the Cache was closed.
	ErrClosed = errors.New("rediscache: closed")
	// ErrContextTimeout: New was given a client that ignores context deadlines.
	ErrContextTimeout = errors.New("rediscache: the client ignores context deadlines: set ContextTimeoutEnabled: true in its options")
)

// Preallocated so that a refused call costs no allocation.
var (
	errOpen          = fmt.Errorf("%w: %w", ErrUnavailable, gobreaker.ErrOpenState)
	errProbeBusy     = fmt.Errorf("%w: %w", ErrUnavailable, gobreaker.ErrTooManyRequests)
	errCallerGone    = errors.New("rediscache: caller gave up")
	errQueued        = errors.New("rediscache: the call's deadline passed while it waited for a free connection of the client's pool")
	errNotSubscribed = errors.New("rediscache: unexpected reply before the subscription was confirmed")
)

// Cache is a shared validation cache tier for authframe, with cross-instance revocation.
// It implements store.Cache, store.RevocationPublisher, store.RevocationFeed,
// store.Pinger and store.BreakerStater. It is safe for concurrent use.
type Cache struct {
	client redis.UniversalClient
	cfg    config
	log    *slog.Logger
	cb     *gobreaker.TwoStepCircuitBreaker[struct{}]
	// slots holds one token per connection of the client's pool (nil for a cluster or a
	// ring, whose pools are per node): a call takes one before it reaches go-redis, so it
	// never queues inside the pool, and a call whose deadline passes while it waits for one
	// has learnt nothing about Redis and is not counted by the breaker. Without it, 256
	// callers on a pool of 20 waited in the pool within their 50 ms, and those that timed
	// out there opened the breaker on a healthy Redis.
	slots chan struct{}

	valuePrefix string
	logKey      string // sorted set of revocations scored by At (ms)
	expKey      string // the same members scored by ExpiresAt (ms), for pruning
	channel     string

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closing against a WatchRevocations starting
	closed atomic.Bool
	wg     sync.WaitGroup

	pendingMu sync.Mutex
	pending   []pendingRevocation
}

var (
	_ store.Cache               = (*Cache)(nil)
	_ store.RevocationPublisher = (*Cache)(nil)
	_ store.Pinger              = (*Cache)(nil)
	_ store.BreakerStater       = (*Cache)(nil)
	_ store.RevocationFeed      = (*Cache)(nil)
)

// New builds a Cache over client, which the caller keeps owning (Close does not close it).
// It pings Redis within ctx and logs a warning when it does not answer: a cache that is
// down is skipped, never fatal, since the Guard verifies tokens without it.
// client must honour context deadlines (redis.Options.ContextTimeoutEnabled, and the same
// field of the cluster and ring options): without it go-redis bounds reads only by its
// ReadTimeout (5 s by default), and a hung Redis would stall each request for that long.
// New reports ErrContextTimeout for such a client; other UniversalClient implementations
// are trusted to honour deadlines.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Cache, error) {
	if client == nil {
		return nil, errors.New("rediscache: nil client")
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
	if !honoursDeadlines(client) {
		return nil, ErrContextTimeout
	}
	c := &Cache{
		client:      client,
		cfg:         cfg,
		log:         cfg.logger,
		valuePrefix: cfg.prefix + "v:",
		// One hash tag puts both sets in one cluster slot, as the publishing script needs,
		// and the channel on the same ring shard, which a redis.Ring picks by hash tag.
		logKey:  cfg.prefix + "{revocations}:log",
		expKey:  cfg.prefix + "{revocations}:exp",
		channel: cfg.prefix + "{revocations}",
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "rediscache",
		MaxRequests: 1,
		Timeout:     cfg.openFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return cfg.failures > 0 && n.ConsecutiveFailures >= cfg.failures },
		IsExcluded:  func(err error) bool { return err == errCallerGone || err == errQueued },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				c.log.Warn("rediscache: circuit breaker opened", "from", from.String(), "open_for", cfg.openFor)
			} else {
				c.log.Info("rediscache: circuit breaker state changed", "from", from.String(), "to", to.String())
			}
		},
	})
	if cl, ok := client.(*redis.Client); ok && cl.Options().PoolSize > 0 {
		c.slots = make(chan struct{}, cl.Options().PoolSize)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	// A cache that is down is skipped, not fatal: the Guard verifies tokens without it.
	if err := client.Ping(ctx).Err(); err != nil {
		c.log.Warn("rediscache: Redis does not answer yet; the cache is skipped until it does", "error", audit.Scrub(err.Error()))
	}
	return c, nil
}

func honoursDeadlines(client redis.UniversalClient) bool {
	switch cl := client.(type) {
	case *redis.Client:
		return cl.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return cl.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return cl.Options().ContextTimeoutEnabled
	}
	return true
}

// Close stops the revocation feeds running on this Cache and makes every later call fail
// with ErrClosed. It does not close the client. It is safe to call more than once.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed.Store(true)
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
}

// enter registers a long-running call (a feed) unless the Cache is closed.
func (c *Cache) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return false
	}
	c.wg.Add(1)
	return true
}

// allow asks the breaker for a call. A refusal costs a mutex and a clock read, no
// allocation and no network.
func (c *Cache) allow() (func(error), error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	done, err := c.cb.Allow()
	if err != nil {
		if err == gobreaker.ErrOpenState {
			return nil, errOpen
		}
		return nil, errProbeBusy
	}
	return done, nil
}

// report tells the breaker how a call went. A miss is a success; a call abandoned by its
// caller (a client that went away) says nothing about Redis and is not counted.
func report(done func(error), parent context.Context, err error) {
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		done(nil)
	case parent.Err() != nil:
		done(errCallerGone)
	default:
		done(err)
	}
}

// take waits, within ctx (the call's deadline), for a connection of the client's pool to
// be free for this call, and reports whether one is. A call that took one gives it back
// with give.
func (c *Cache) take(ctx context.Context) bool {
	if c.slots == nil {
		return true
	}
	select {
	case c.slots <- struct{}{}:
		return true
	default:
	}
	select {
	case c.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Cache) give() {
	if c.slots != nil {
		<-c.slots
	}
}

// queued ends a call that found no free connection within its deadline: the breaker does
// not count it, and the caller sees the deadline (or its own context's end).
func queued(done func(error), parent, cctx context.Context) error {
	if parent.Err() != nil {
		done(errCallerGone)
		return parent.Err()
	}
	done(errQueued)
	return fmt.Errorf("%w: %w", errQueued, cctx.Err())
}

// call runs f through the breaker with a deadline of timeout.
func (c *Cache) call(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	done, err := c.allow()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !c.take(cctx) {
		return queued(done, ctx, cctx)
	}
	err = f(cctx)
	c.give()
	report(done, ctx, err)
	return err
}

// Get implements store.Cache: it returns the value stored under key, or (nil, false,
// nil) when there is none.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	done, err := c.allow()
	if err != nil {
		return nil, false, err
	}
	rkey := c.valuePrefix + key
	cctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	if !c.take(cctx) {
		err := queued(done, ctx, cctx)
		cancel()
		return nil, false, fmt.Errorf("rediscache: get: %w", err)
	}
	b, err := c.client.Get(cctx, rkey).Bytes()
	c.give()
	cancel()
	report(done, ctx, err)
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("rediscache: get: %w", err)
	}
	return b, true, nil
}

// Set implements store.Cache: it stores val under key for ttl, truncated to whole
// milliseconds so that an entry never outlives what the Guard asked for. A ttl under a
// millisecond stores nothing.
func (c *Cache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	ttl = ttl.Truncate(time.Millisecond)
	if ttl <= 0 {
		return nil
	}
	done, err := c.allow()
	if err != nil {
		return err
	}
	rkey := c.valuePrefix + key
	cctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	if !c.take(cctx) {
		err := queued(done, ctx, cctx)
		cancel()
		return fmt.Errorf("rediscache: set: %w", err)
	}
	err = c.client.Set(cctx, rkey, val, ttl).Err()
	c.give()
	cancel()
	report(done, ctx, err)
	if err != nil {
		return fmt.Errorf("rediscache: set: %w", err)
	}
	return nil
}

// Ping implements store.Pinger. It goes through the breaker too, so a health check
// also serves as the recovery probe.
func (c *Cache) Ping(ctx context.Context) error {
	err := c.call(ctx, c.cfg.timeout, func(ctx context.Context) error {
		return c.client.Ping(ctx).Err()
	})
	if err != nil && !errors.Is(err, ErrUnavailable) && err != ErrClosed {
		return fmt.Errorf("rediscache: ping: %w", err)
	}
	return err
}

// BreakerState implements store.BreakerStater: "closed", "half-open" or "open".
func (c *Cache) BreakerState() string { return c.cb.State().String() }

// Available reports whether a call would be let through now (the breaker is not open and
// the Cache is not closed), so that a caller can skip the work of preparing one (deriving
// a key, encoding a value) while Redis is known to be down. It does not take the
// half-open probe's place: a call made after it may still be refused.
func (c *Cache) Available() bool {
	return !c.closed.Load() && c.cb.State() != gobreaker.StateOpen
}
