package authprom

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authframe/authframe/core/audit"
)

// The label values of each metric. Every combination is resolved once in New and kept in
// arrays indexed by these small enums, so that Observe is a switch and an atomic add: no
// map lookup, no string building, no allocation on the request path.

type result uint8

const (
	resOK result = iota
	resOKUnconfirmed
	resInvalid
	resExpired
	resSignature
	resMalformed
	resOversized
	resRevoked
	resSession
	resCSRF
	resUnavailable
	resOther
	numResults
)

var resultNames = [numResults]string{"ok", "ok_unconfirmed", "invalid", "expired", "signature", "malformed", "oversized", "revoked", "session", "csrf", "unavailable", "other"}

func resultOf(s string) result {
	switch s {
	case "ok":
		return resOK
	case "ok_unconfirmed":
		return resOKUnconfirmed
	case "invalid":
		return resInvalid
	case "expired":
		return resExpired
	case "signature":
		return resSignature
	case "malformed":
		return resMalformed
	case "oversized":
		return resOversized
	case "revoked":
		return resRevoked
	case "session":
		return resSession
	case "csrf":
		return resCSRF
	case "unavailable":
		return resUnavailable
	}
	return resOther
}

type tier uint8

const (
	tierLRU tier = iota
	tierShared
	tierVerify
	tierStore
	tierOther
	// tierNone: refused before any tier was asked (an empty or oversized token); it has
	// no latency worth a histogram.
	tierNone
	numTiers
)

var tierNames = [numTiers]string{"lru", "shared", "verify", "store", "other", "none"}

func tierOf(s string) tier {
	switch s {
	case "lru":
		return tierLRU
	case "shared":
		return tierShared
	case "verify":
		return tierVerify
	case "store":
		return tierStore
	case "":
		return tierNone
	}
	return tierOther
}

type loginResult uint8

const (
	loginOK loginResult = iota
	loginUnknownUser
	loginBadPassword
	loginInvalidInput
	loginOther
	numLoginResults
)

var loginNames = [numLoginResults]string{"ok", "unknown_user", "bad_password", "invalid_input", "other"}

func loginReasonOf(s string) loginResult {
	switch s {
	case "unknown_user":
		return loginUnknownUser
	case "bad_password":
		return loginBadPassword
	case "invalid_input":
		return loginInvalidInput
	}
	return loginOther
}

type revKind uint8

const (
	revSession revKind = iota
	revToken
	revUser
	revOther
	numRevKinds
)

var revKindNames = [numRevKinds]string{"session", "token", "user", "other"}

func revKindOf(s string) revKind {
	switch s {
	case "session":
		return revSession
	case "token":
		return revToken
	case "user":
		return revUser
	}
	return revOther
}

type sessKind uint8

const (
	sessCookie sessKind = iota
	sessToken
	sessOther
	numSessKinds
)

var sessKindNames = [numSessKinds]string{"cookie", "token", "other"}

func sessKindOf(s string) sessKind {
	switch s {
	case "cookie":
		return sessCookie
	case "token":
		return sessToken
	}
	return sessOther
}

// storeOps are the store operations the Guard reports failures of, plus "stats" for this
// package's own Stats calls.
var storeOps = []string{
	"create_user", "get_user", "update_user",
	"create_session", "get_session", "touch_session", "delete_session", "list_sessions",
	"add_refresh", "rotate_refresh", "add_revocation", "rate_limit", "stats", "other",
}

var cacheOps = []string{"get", "set", "publish_revocation", "other"}

func opIndex(ops []string, op string) int {
	for i, o := range ops[:len(ops)-1] {
		if o == op {
			return i
		}
	}
	return len(ops) - 1
}

// Collector turns the events of a Guard into Prometheus metrics. It is an
// audit.Observer (pass it to authframe.WithObserver) and a prometheus.Collector
// (register it on your registry); New documents the metrics. It is safe for concurrent use.
type Collector struct {
	validations *validationMetrics

	logins            [numLoginResults]prometheus.Counter
	registrations     prometheus.Counter
	refreshes         prometheus.Counter
	refreshReuse      prometheus.Counter
	revocations       [numRevKinds]prometheus.Counter
	revsReceived      [numRevKinds]prometheus.Counter
	rateLimited       prometheus.Counter
	sessionsCreated   [numSessKinds]prometheus.Counter
	sessionsDestroyed prometheus.Counter
	csrfFailures      prometheus.Counter
	storeErrors       []prometheus.Counter
	cacheErrors       []prometheus.Counter

	collectors []prometheus.Collector
}

var (
	_ audit.Observer       = (*Collector)(nil)
	_ prometheus.Collector = (*Collector)(nil)
)

// New builds a Collector. Register it on a registry of your choice and attach it to the
// Guard:
//
//	c, err := authprom.New()
//	reg.MustRegister(c)
//	guard, err := authframe.New(key, authframe.WithObserver(c))
//
// Metrics (label values are a closed set; anything unexpected is counted as "other"):
//
//	authframe_validations_total{result,tier}           bearer and session validations
//	authframe_validation_duration_seconds{tier}        their latency (histogram)
//	authframe_cache_hits_total{tier}                   validations answered by the lru or shared tier
//	authframe_cache_misses_total{tier}                 validations that tier could not answer
//	authframe_logins_total{result}                     password checks: ok, unknown_user, bad_password, ...
//	authframe_registrations_total                      users created
//	authframe_refreshes_total                          refresh tokens spent successfully
//	authframe_refresh_reuse_total                      spent refresh tokens presented again
//	authframe_revocations_total{kind}                  revocations made by this instance
//	authframe_revocations_received_total{kind}         revocations delivered by a feed
//	authframe_rate_limited_total                       login attempts refused by the rate limit
//	authframe_sessions_created_total{kind}             cookie sessions and token families started
//	authframe_sessions_destroyed_total                 sessions ended (logout, deletion, reuse)
//	authframe_csrf_failures_total                      unsafe cookie requests without a valid CSRF token
//	authframe_store_errors_total{op}                   failed store calls
//	authframe_cache_errors_total{op}                   failed shared cache calls
//	authframe_sessions_active                          live sessions (with WithStats)
//
// No label ever holds a user id, a username, a path or any other unbounded value.
func New(opts ...Option) (*Collector, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	c := &Collector{}
	cl := cfg.constLabels
	counter := func(name, help string) prometheus.Counter {
		m := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: cl})
		c.collectors = append(c.collectors, m)
		return m
	}
	counterVec := func(name, help, label string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: cl}, []string{label})
		c.collectors = append(c.collectors, v)
		return v
	}

	c.validations = newValidationMetrics(cfg)
	c.collectors = append(c.collectors, c.validations)

	logins := counterVec("authframe_logins_total", "Password logins by result.", "result")
	for i, n := range loginNames {
		c.logins[i] = logins.WithLabelValues(n)
	}
	c.registrations = counter("authframe_registrations_total", "Users registered.")
	c.refreshes = counter("authframe_refreshes_total", "Refresh tokens spent for a new token pair.")
	c.refreshReuse = counter("authframe_refresh_reuse_total", "Spent refresh tokens presented again; each revoked its family.")
	revs := counterVec("authframe_revocations_total", "Revocations made by this instance.", "kind")
	received := counterVec("authframe_revocations_received_total", "Revocations delivered by a revocation feed (including this instance's own and replays after a reconnect).", "kind")
	for i, n := range revKindNames {
		c.revocations[i] = revs.WithLabelValues(n)
		c.revsReceived[i] = received.WithLabelValues(n)
	}
	c.rateLimited = counter("authframe_rate_limited_total", "Login attempts refused by the rate limit.")
	created := counterVec("authframe_sessions_created_total", "Sessions started: cookie sessions and token families.", "kind")
	for i, n := range sessKindNames {
		c.sessionsCreated[i] = created.WithLabelValues(n)
	}
	c.sessionsDestroyed = counter("authframe_sessions_destroyed_total", "Sessions ended by logout, deletion or refresh token reuse.")
	c.csrfFailures = counter("authframe_csrf_failures_total", "Unsafe cookie-authenticated requests without a valid CSRF token.")
	storeErrs := counterVec("authframe_store_errors_total", "Failed store calls by operation.", "op")
	for _, op := range storeOps {
		c.storeErrors = append(c.storeErrors, storeErrs.WithLabelValues(op))
	}
	cacheErrs := counterVec("authframe_cache_errors_total", "Failed shared cache calls by operation.", "op")
	for _, op := range cacheOps {
		c.cacheErrors = append(c.cacheErrors, cacheErrs.WithLabelValues(op))
	}
	if cfg.stats != nil {
		statsErr := c.storeErrors[opIndex(storeOps, "stats")]
		c.collectors = append(c.collectors, newStatsCollector(cfg, statsErr.Inc))
	}

	// Catch what the options could make invalid (label names, for instance) here, not as
	// a panic in the user's MustRegister.
	if err := prometheus.NewPedanticRegistry().Register(c); err != nil {
		return nil, fmt.Errorf("authprom: %w", err)
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.collectors {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.collectors {
		m.Collect(ch)
	}
}

// Observe implements audit.Observer. It does not allocate.
func (c *Collector) Observe(_ context.Context, e audit.Event) {
	switch e.Type {
	case audit.TokenValidated, audit.SessionValidated:
		c.validations.observe(e)
	case audit.LoginSucceeded:
		c.logins[loginOK].Inc()
	case audit.LoginFailed:
		c.logins[loginReasonOf(e.Reason)].Inc()
	case audit.Registered:
		c.registrations.Inc()
	case audit.Refreshed:
		c.refreshes.Inc()
	case audit.RefreshReused:
		c.refreshReuse.Inc()
	case audit.Revoked:
		c.revocations[revKindOf(e.Kind)].Inc()
	case audit.RevocationReceived:
		c.revsReceived[revKindOf(e.Kind)].Inc()
	case audit.RateLimited:
		c.rateLimited.Inc()
	case audit.SessionCreated:
		c.sessionsCreated[sessKindOf(e.Kind)].Inc()
	case audit.SessionDestroyed:
		c.sessionsDestroyed.Inc()
	case audit.CSRFFailed:
		c.csrfFailures.Inc()
	case audit.DependencyError:
		switch e.Kind {
		case "store":
			c.storeErrors[opIndex(storeOps, e.Op)].Inc()
		case "cache":
			c.cacheErrors[opIndex(cacheOps, e.Op)].Inc()
		}
	}
}
