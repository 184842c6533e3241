package pgstore

import (
	"fmt"
	"log/slog"
	"time"
)

// Option configures a Store. Options are applied in order; New validates the result.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	errs []error

	schema   string
	prefix   string
	migrate  bool
	interval time.Duration
	logger   *slog.Logger
	timeout  time.Duration

	legacyFamilies bool

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
		schema:          "public",
		prefix:          "authframe_",
		migrate:         true,
		interval:        time.Minute,
		timeout:         500 * time.Millisecond,
		breakerFailures: 5,
		breakerCooldown: time.Second,
		overlap:         10 * time.Second,
		minBackoff:      100 * time.Millisecond,
		maxBackoff:      5 * time.Second,
		heartbeat:       15 * time.Second,
	}
}

func optErr(c *config, opt string, err error) {
	c.errs = append(c.errs, fmt.Errorf("pgstore: %s: %w", opt, err))
}

// WithSchema sets the PostgreSQL schema that holds the tables (default "public"). Migrate
// creates it when it is missing.
func WithSchema(name string) Option {
	return optionFunc(func(c *config) {
		if err := checkIdentifier(name, false); err != nil {
			optErr(c, "WithSchema", err)
			return
		}
		c.schema = name
	})
}

// WithTablePrefix sets the prefix of every table and index name (default "authframe_").
// It may be empty. Two stores with different prefixes in one schema are isolated.
func WithTablePrefix(prefix string) Option {
	return optionFunc(func(c *config) {
		if err := checkIdentifier(prefix, true); err != nil {
			optErr(c, "WithTablePrefix", err)
			return
		}
		c.prefix = prefix
	})
}

// WithMigrate says whether New applies the embedded migrations (default true). Turn it off
// when the application's database role may not run DDL, and run Migrate from a deployment
// step with a role that may.
func WithMigrate(migrate bool) Option {
	return optionFunc(func(c *config) { c.migrate = migrate })
}

// WithLegacyRefreshFamilies starts refresh families in the refresh_tokens table, as
// releases before schema version 10 do, instead of in the session row. Use it for the
// first step of a rolling upgrade from such a release, while instances of both share the
// store: an older release looks for a family in the table only, so a family a newer
// instance started in the row would not refresh through an older one. Once every instance
// runs this release, deploy again without it. What it costs: a rotation of a family in the
// table writes two tables (see BENCHMARKS.md, "Scale fixes"). Families are found wherever
// they are, with or without it.
func WithLegacyRefreshFamilies() Option {
	return optionFunc(func(c *config) { c.legacyFamilies = true })
}

// WithCleanupInterval sets how often expired rows are deleted (default one minute). Zero
// turns the job off, for deployments that delete with Cleanup from a scheduler of their
// own. Expired rows are never returned either way: every read filters on the deadline.
func WithCleanupInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			optErr(c, "WithCleanupInterval", fmt.Errorf("negative interval %v", d))
			return
		}
		c.interval = d
	})
}

// WithTimeout bounds each operation on the request path (users, sessions, refresh tokens,
// AddRevocation, Hit) unless the caller's context ends sooner (default 500 ms; 0 leaves
// only the caller's context). Each of them is one indexed statement that takes about a
// millisecond, so hitting the timeout means that PostgreSQL is not answering (or the pool
// is exhausted: waits for a connection count), and the Guard answers 503 within the
// contract's second instead of hanging on a dead connection. RevocationsSince, Stats and
// the export, which may read many rows, are bounded by the caller's context only.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			optErr(c, "WithTimeout", fmt.Errorf("negative timeout %v", d))
			return
		}
		c.timeout = d
	})
}

// WithCircuitBreaker sets the circuit breaker in front of PostgreSQL (default: open after 5
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

// WithLogger sets the logger for migrations, the cleanup job and the revocation feed's
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

// checkIdentifier keeps schema names and prefixes to lower-case letters, digits and
// underscores: the names are quoted anyway, but a plain name is one that every psql
// session, pg_dump and grep finds without quoting.
func checkIdentifier(s string, emptyOK bool) error {
	if s == "" {
		if emptyOK {
			return nil
		}
		return fmt.Errorf("empty name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return fmt.Errorf("%q: use lower-case letters, digits and underscores, not starting with a digit", s)
		}
	}
	return nil
}
