package redisstore

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Option configures a Store. Options are applied in order; New validates the result.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	errs []error

	prefix   string
	interval time.Duration
	logger   *slog.Logger

	breakerFailures int
	breakerCooldown time.Duration

	// Tuning of the revocation feed; unexported so that tests can shorten them.
	overlap    time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	heartbeat  time.Duration
}

func defaultConfig() config {
	return config{
		prefix:          "authframe:",
		interval:        time.Minute,
		breakerFailures: 5,
		breakerCooldown: time.Second,
		overlap:         10 * time.Second,
		minBackoff:      100 * time.Millisecond,
		maxBackoff:      time.Second,
		heartbeat:       3 * time.Second,
	}
}

func optErr(c *config, opt string, err error) {
	c.errs = append(c.errs, fmt.Errorf("redisstore: %s: %w", opt, err))
}

// WithPrefix sets the prefix of every key and of the revocation channel (default
// "authframe:"). It may be empty. Stores with different prefixes on one Redis are isolated.
// The prefix may not contain '{' or '}': the store places its own hash tags (see the
// README's key layout) so that the keys one script touches share a Cluster slot.
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) {
		if strings.ContainsAny(prefix, "{}") {
			optErr(c, "WithPrefix", fmt.Errorf("%q contains a brace, which would break the store's hash tags", prefix))
			return
		}
		c.prefix = prefix
	})
}

// WithCleanupInterval sets how often the background sweep prunes the indexes that Redis
// cannot expire by itself: expired revocations and the ids of dead sessions in the export
// and stats indexes (default one minute). Zero turns the sweep off; Stats and the export
// then prune what they meet. Records themselves always expire by native TTLs.
func WithCleanupInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			optErr(c, "WithCleanupInterval", fmt.Errorf("negative interval %v", d))
			return
		}
		c.interval = d
	})
}

// WithLogger sets the logger for the background sweep and the revocation feed's
// reconnections (default: silent). Nothing secret is logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			optErr(c, "WithLogger", fmt.Errorf("nil logger"))
			return
		}
		c.logger = l
	})
}

// WithCircuitBreaker sets the circuit breaker in front of Redis (default: open after 5
// consecutive failures, probe again after 1 s). While it is open, every call fails at once
// with an error matching ErrUnavailable instead of waiting for a dead server; Ping always
// goes through, so a health check is also the probe that closes it. failures = 0 turns the
// breaker off.
func WithCircuitBreaker(failures int, cooldown time.Duration) Option {
	return optionFunc(func(c *config) {
		if failures < 0 || (failures > 0 && cooldown <= 0) {
			optErr(c, "WithCircuitBreaker", fmt.Errorf("need failures >= 0 and a positive cooldown, got %d and %v", failures, cooldown))
			return
		}
		c.breakerFailures, c.breakerCooldown = failures, cooldown
	})
}
