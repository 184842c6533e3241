package rediscache

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults. The call timeout is two orders of magnitude above a healthy round trip in one
// data centre (50–500 µs), so it only fires when Redis is in trouble, and it keeps a hung
// Redis from adding more than 50 ms to any request before the breaker opens.
const (
	DefaultPrefix          = "authframe:cache:"
	DefaultTimeout         = 50 * time.Millisecond
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = time.Second
)

// Option configures a Cache.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	errs []error

	prefix   string
	timeout  time.Duration
	failures uint32
	openFor  time.Duration
	logger   *slog.Logger
}

func defaultConfig() config {
	return config{
		prefix:   DefaultPrefix,
		timeout:  DefaultTimeout,
		failures: DefaultBreakerFailures,
		openFor:  DefaultBreakerOpenFor,
	}
}

func (c *config) fail(opt string, err error) {
	c.errs = append(c.errs, fmt.Errorf("rediscache: %s: %w", opt, err))
}

// WithPrefix sets the prefix of every key and channel the cache uses (default
// "authframe:cache:"). Instances that must see each other's entries and revocations use
// the same prefix; deployments that must not, different ones.
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) {
		if prefix == "" {
			c.fail("WithPrefix", errors.New("empty prefix"))
			return
		}
		c.prefix = prefix
	})
}

// WithTimeout bounds each Redis call (default 50 ms, between 1 ms and 1 min). It is the
// most a request can wait on a hung Redis before the breaker opens.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < time.Millisecond || d > time.Minute {
			c.fail("WithTimeout", fmt.Errorf("timeout %v is outside 1ms..1m", d))
			return
		}
		c.timeout = d
	})
}

// WithCircuitBreaker sets the circuit breaker: it opens after failures consecutive failed
// calls (default 5) and stays open for cooldown (default 1 s), answering every call at once
// with ErrUnavailable; then one probe call decides between closing and opening again.
// failures 0 turns the breaker off. The stores take the same option.
func WithCircuitBreaker(failures int, cooldown time.Duration) Option {
	return optionFunc(func(c *config) {
		if failures < 0 || failures > 1<<20 {
			c.fail("WithCircuitBreaker", fmt.Errorf("failures %d is outside 0..%d", failures, 1<<20))
			return
		}
		if failures > 0 && cooldown <= 0 {
			c.fail("WithCircuitBreaker", fmt.Errorf("cooldown %v is not positive", cooldown))
			return
		}
		c.failures, c.openFor = uint32(failures), cooldown
	})
}

// WithLogger sets the logger for operational messages: breaker state changes, the
// revocation feed losing and regaining its subscription (default: silent).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}
