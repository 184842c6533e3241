package authprom

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authframe/authframe/core/store"
)

// Option configures a Collector.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	errs         []error
	stats        store.StatsReporter
	statsTimeout time.Duration
	statsMaxAge  time.Duration
	buckets      []float64
	constLabels  prometheus.Labels
	sharedTier   bool
}

// DefaultBuckets are the validation latency buckets in seconds: from a cached hit (well
// under a microsecond) through signature checks (tens of microseconds to a millisecond) to
// store round trips.
var DefaultBuckets = []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 5e-2, 0.25, 1}

func defaultConfig() config {
	return config{
		statsTimeout: 500 * time.Millisecond,
		statsMaxAge:  5 * time.Second,
		buckets:      DefaultBuckets,
	}
}

func (c *config) fail(opt string, err error) {
	c.errs = append(c.errs, fmt.Errorf("authprom: %s: %w", opt, err))
}

// WithStats exports authframe_sessions_active from r (usually the store given to the Guard
// with authframe.WithStore). The store is asked at scrape time, at most once per
// WithStatsMaxAge, and never for longer than WithStatsTimeout; when it cannot answer, the
// gauge is left out of that scrape and authframe_store_errors_total{op="stats"} counts it.
func WithStats(r store.StatsReporter) Option {
	return optionFunc(func(c *config) {
		if r == nil {
			c.fail("WithStats", errors.New("nil reporter"))
			return
		}
		c.stats = r
	})
}

// WithStatsTimeout bounds the store call behind authframe_sessions_active (default 500 ms).
func WithStatsTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail("WithStatsTimeout", fmt.Errorf("timeout %v is not positive", d))
			return
		}
		c.statsTimeout = d
	})
}

// WithStatsMaxAge sets how long an answer (or a failure) of the store is reused for
// authframe_sessions_active (default 5 s), so that frequent or concurrent scrapes cost at
// most one store call per period.
func WithStatsMaxAge(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail("WithStatsMaxAge", fmt.Errorf("max age %v is negative", d))
			return
		}
		c.statsMaxAge = d
	})
}

// WithBuckets replaces the buckets (in seconds) of authframe_validation_duration_seconds.
func WithBuckets(b ...float64) Option {
	return optionFunc(func(c *config) {
		if len(b) == 0 {
			c.fail("WithBuckets", errors.New("no buckets"))
			return
		}
		for i := 1; i < len(b); i++ {
			if b[i] <= b[i-1] {
				c.fail("WithBuckets", errors.New("buckets must be strictly increasing"))
				return
			}
		}
		c.buckets = slices.Clone(b)
	})
}

// WithConstLabels adds labels with fixed values to every metric, for instance to tell two
// Guards of one process apart.
func WithConstLabels(l prometheus.Labels) Option {
	return optionFunc(func(c *config) {
		c.constLabels = make(prometheus.Labels, len(l))
		for k, v := range l {
			c.constLabels[k] = v
		}
	})
}

// WithSharedCacheTier tells the Collector that the Guard has a shared cache tier
// (authframe.CacheConfig.Shared), so that a full verification also counts as a miss of that
// tier in authframe_cache_misses_total{tier="shared"}. Without it only hits of the shared
// tier are counted.
func WithSharedCacheTier() Option {
	return optionFunc(func(c *config) { c.sharedTier = true })
}
