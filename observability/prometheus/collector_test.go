package authprom_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	authprom "github.com/authframe/authframe/observability/prometheus"
)

// allMetrics is every metric the Collector exports (sessions_active only with WithStats).
var allMetrics = []string{
	"authframe_validations_total",
	"authframe_validation_duration_seconds",
	"authframe_cache_hits_total",
	"authframe_cache_misses_total",
	"authframe_logins_total",
	"authframe_registrations_total",
	"authframe_refreshes_total",
	"authframe_refresh_reuse_total",
	"authframe_revocations_total",
	"authframe_revocations_received_total",
	"authframe_rate_limited_total",
	"authframe_sessions_created_total",
	"authframe_sessions_destroyed_total",
	"authframe_csrf_failures_total",
	"authframe_store_errors_total",
	"authframe_cache_errors_total",
	"authframe_sessions_active",
}

func newRegistered(t *testing.T, opts ...authprom.Option) (*authprom.Collector, *prometheus.Registry) {
	t.Helper()
	c, err := authprom.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return c, reg
}

// value returns the value of the series of name with exactly the given labels (pairs), or
// -1 when there is no such series. Histograms give their sample count.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if want[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			return metricValue(m)
		}
	}
	return -1
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

func TestCollectorCountsEachEvent(t *testing.T) {
	cases := []struct {
		name   string
		events []audit.Event
		metric string
		labels []string
		want   float64
	}{
		{"a cached hit counts as an ok validation of the lru tier", []audit.Event{{Type: audit.TokenValidated, Result: "ok", Tier: "lru"}},
			"authframe_validations_total", []string{"result", "ok", "tier", "lru"}, 1},
		{"a cached hit counts as an lru cache hit", []audit.Event{{Type: audit.TokenValidated, Result: "ok", Tier: "lru"}, {Type: audit.TokenValidated, Result: "revoked", Tier: "lru"}},
			"authframe_cache_hits_total", []string{"tier", "lru"}, 2},
		{"a full verification is an lru miss", []audit.Event{{Type: audit.TokenValidated, Result: "expired", Tier: "verify"}},
			"authframe_cache_misses_total", []string{"tier", "lru"}, 1},
		{"a shared hit is an lru miss", []audit.Event{{Type: audit.TokenValidated, Result: "ok", Tier: "shared"}},
			"authframe_cache_misses_total", []string{"tier", "lru"}, 1},
		{"a shared hit is a shared hit", []audit.Event{{Type: audit.TokenValidated, Result: "ok", Tier: "shared"}},
			"authframe_cache_hits_total", []string{"tier", "shared"}, 1},
		{"without a declared shared tier a verification is no shared miss", []audit.Event{{Type: audit.TokenValidated, Result: "ok", Tier: "verify"}},
			"authframe_cache_misses_total", []string{"tier", "shared"}, 0},
		{"a token refused before any tier counts under tier none", []audit.Event{{Type: audit.TokenValidated, Result: "oversized"}},
			"authframe_validations_total", []string{"result", "oversized", "tier", "none"}, 1},
		{"a token refused before any tier has no latency sample", []audit.Event{{Type: audit.TokenValidated, Result: "malformed"}},
			"authframe_validation_duration_seconds", []string{"tier", "none"}, -1},
		{"a validation's duration is observed under its tier", []audit.Event{{Type: audit.TokenValidated, Result: "ok", Tier: "verify", Duration: 40 * time.Microsecond}},
			"authframe_validation_duration_seconds", []string{"tier", "verify"}, 1},
		{"a session validation counts under the store tier", []audit.Event{{Type: audit.SessionValidated, Result: "csrf", Tier: "store"}},
			"authframe_validations_total", []string{"result", "csrf", "tier", "store"}, 1},
		{"an unknown result is other", []audit.Event{{Type: audit.TokenValidated, Result: "/users/42?x", Tier: "verify"}},
			"authframe_validations_total", []string{"result", "other", "tier", "verify"}, 1},
		{"an unknown tier is other", []audit.Event{{Type: audit.TokenValidated, Result: "ok", Tier: "memcached"}},
			"authframe_validations_total", []string{"result", "ok", "tier", "other"}, 1},
		{"a login success counts as ok", []audit.Event{{Type: audit.LoginSucceeded, UserID: "u1"}},
			"authframe_logins_total", []string{"result", "ok"}, 1},
		{"a wrong password counts by its reason", []audit.Event{{Type: audit.LoginFailed, Reason: "bad_password"}},
			"authframe_logins_total", []string{"result", "bad_password"}, 1},
		{"an unknown login failure reason is other", []audit.Event{{Type: audit.LoginFailed, Reason: "alice"}},
			"authframe_logins_total", []string{"result", "other"}, 1},
		{"a registration counts", []audit.Event{{Type: audit.Registered}},
			"authframe_registrations_total", nil, 1},
		{"a refresh counts", []audit.Event{{Type: audit.Refreshed}},
			"authframe_refreshes_total", nil, 1},
		{"a refresh token reuse counts", []audit.Event{{Type: audit.RefreshReused}},
			"authframe_refresh_reuse_total", nil, 1},
		{"a revocation counts by kind", []audit.Event{{Type: audit.Revoked, Kind: "user", Reason: "user_revoked"}},
			"authframe_revocations_total", []string{"kind", "user"}, 1},
		{"a received revocation counts apart", []audit.Event{{Type: audit.RevocationReceived, Kind: "session"}},
			"authframe_revocations_received_total", []string{"kind", "session"}, 1},
		{"a received revocation is not a revocation made here", []audit.Event{{Type: audit.RevocationReceived, Kind: "session"}},
			"authframe_revocations_total", []string{"kind", "session"}, 0},
		{"rate limiting counts", []audit.Event{{Type: audit.RateLimited, Kind: "login"}},
			"authframe_rate_limited_total", nil, 1},
		{"a new session counts by kind", []audit.Event{{Type: audit.SessionCreated, Kind: "cookie"}},
			"authframe_sessions_created_total", []string{"kind", "cookie"}, 1},
		{"an ended session counts", []audit.Event{{Type: audit.SessionDestroyed, Reason: "logout"}},
			"authframe_sessions_destroyed_total", nil, 1},
		{"a CSRF failure counts", []audit.Event{{Type: audit.CSRFFailed}},
			"authframe_csrf_failures_total", nil, 1},
		{"a store error counts by operation", []audit.Event{{Type: audit.DependencyError, Kind: "store", Op: "rotate_refresh", Err: errors.New("down")}},
			"authframe_store_errors_total", []string{"op", "rotate_refresh"}, 1},
		{"an unknown store operation is other", []audit.Event{{Type: audit.DependencyError, Kind: "store", Op: "DROP TABLE", Err: errors.New("down")}},
			"authframe_store_errors_total", []string{"op", "other"}, 1},
		{"a cache error counts by operation", []audit.Event{{Type: audit.DependencyError, Kind: "cache", Op: "publish_revocation", Err: errors.New("down")}},
			"authframe_cache_errors_total", []string{"op", "publish_revocation"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, reg := newRegistered(t)
			for _, e := range tc.events {
				c.Observe(context.Background(), e)
			}
			if got := value(t, reg, tc.metric, tc.labels...); got != tc.want {
				t.Fatalf("%s%v = %v, want %v", tc.metric, tc.labels, got, tc.want)
			}
		})
	}
}

func TestSharedCacheTierCountsVerificationsAsSharedMisses(t *testing.T) {
	c, reg := newRegistered(t, authprom.WithSharedCacheTier())
	c.Observe(context.Background(), audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "verify"})
	if got := value(t, reg, "authframe_cache_misses_total", "tier", "shared"); got != 1 {
		t.Fatalf("shared misses = %v", got)
	}
}

func TestLabelsStayBoundedWhateverTheEvents(t *testing.T) {
	c, reg := newRegistered(t)
	before := seriesCount(t, reg)
	for i := range 500 {
		s := strings.Repeat("Z", 1+i%7) + string(rune('a'+i%26))
		for _, typ := range []audit.Type{audit.TokenValidated, audit.SessionValidated, audit.LoginFailed, audit.Revoked, audit.RevocationReceived, audit.SessionCreated, audit.DependencyError, audit.Type(200)} {
			c.Observe(context.Background(), audit.Event{Type: typ, Result: s, Reason: s, Tier: s, Kind: s, Op: s, UserID: s, Username: s, SessionID: s})
			c.Observe(context.Background(), audit.Event{Type: audit.DependencyError, Kind: "store", Op: s})
		}
	}
	if after := seriesCount(t, reg); after != before {
		t.Fatalf("series grew from %d to %d", before, after)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetValue(), "Z") {
					t.Fatalf("%s has a label value from an event: %s=%q", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

func seriesCount(t *testing.T, g prometheus.Gatherer) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	return n
}

func TestObserveDoesNotAllocate(t *testing.T) {
	c, _ := newRegistered(t)
	ctx := context.Background()
	for typ := audit.TokenValidated; typ <= audit.DependencyError; typ++ {
		e := audit.Event{Type: typ, Result: "ok", Reason: "bad_password", Tier: "lru", Kind: "store", Op: "get_session", Duration: time.Microsecond, UserID: "u1", SessionID: "s1"}
		if n := testing.AllocsPerRun(200, func() { c.Observe(ctx, e) }); n != 0 {
			t.Errorf("%v: %v allocations per Observe", typ, n)
		}
	}
}

func TestMetricsPassTheLinter(t *testing.T) {
	c, err := authprom.New(authprom.WithStats(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestScenarioExposesEveryMetric drives a Guard through its flows with the Collector and
// checks the registry's output: every metric is there, with the counts the flows imply.
func TestScenarioExposesEveryMetric(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	c, reg := newRegistered(t, authprom.WithStats(st), authprom.WithStatsMaxAge(0))
	g, err := authframe.New(
		authframe.WithHMACSecret(testSecret),
		authframe.WithIssuer(testIssuer),
		authframe.WithAudience(testAudience),
		authframe.WithPasswords(testArgon),
		authframe.WithStore(st),
		authframe.WithRateLimits(authframe.RateLimits{Login: 3, Window: time.Minute}),
		authframe.WithObserver(c),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	u, err := g.Register(ctx, authframe.ClientInfo{}, "alice", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyPassword(ctx, testClient, "alice", "wrong password"); err == nil {
		t.Fatal("bad password accepted")
	}
	if _, err := g.VerifyPassword(ctx, testClient, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		_, err = g.VerifyPassword(ctx, testClient, "mallory", "whatever1")
	}
	if !errors.Is(err, authframe.ErrRateLimited) {
		t.Fatalf("not rate limited: %v", err)
	}
	pair, err := g.IssueTokens(ctx, u, testClient)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.VerifyToken(ctx, "not.a.token"); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := g.Refresh(ctx, pair.RefreshToken, testClient); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Refresh(ctx, pair.RefreshToken, testClient); err == nil {
		t.Fatal("reuse accepted")
	}
	if _, err := g.StartSession(ctx, u, testClient); err != nil {
		t.Fatal(err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	for _, name := range allMetrics {
		if !have[name] {
			t.Errorf("%s is missing from the registry's output", name)
		}
	}
	var names []string
	for n := range have {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) != len(allMetrics) {
		t.Errorf("exported metrics %v, want %v", names, allMetrics)
	}

	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"authframe_validations_total", []string{"result", "ok", "tier", "verify"}, 1},
		{"authframe_validations_total", []string{"result", "ok", "tier", "lru"}, 2},
		{"authframe_validations_total", []string{"result", "malformed", "tier", "verify"}, 1},
		{"authframe_cache_hits_total", []string{"tier", "lru"}, 2},
		{"authframe_cache_misses_total", []string{"tier", "lru"}, 2},
		{"authframe_validation_duration_seconds", []string{"tier", "lru"}, 2},
		{"authframe_logins_total", []string{"result", "ok"}, 1},
		{"authframe_logins_total", []string{"result", "bad_password"}, 1},
		{"authframe_logins_total", []string{"result", "unknown_user"}, 3},
		{"authframe_rate_limited_total", nil, 1},
		{"authframe_registrations_total", nil, 1},
		{"authframe_refreshes_total", nil, 1},
		{"authframe_refresh_reuse_total", nil, 1},
		{"authframe_revocations_total", []string{"kind", "session"}, 1},
		{"authframe_sessions_created_total", []string{"kind", "token"}, 1},
		{"authframe_sessions_created_total", []string{"kind", "cookie"}, 1},
		{"authframe_sessions_destroyed_total", nil, 1},
		{"authframe_sessions_active", nil, 1},
	} {
		if got := value(t, reg, w.name, w.labels...); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}

	// And through the handler a user would mount.
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, secret := range []string{pair.AccessToken, pair.RefreshToken, pair.SessionID, u.ID, "alice", "mallory"} {
		if strings.Contains(body, secret) {
			t.Errorf("metrics output holds %.8q...", secret)
		}
	}
}

type fakeStats struct {
	calls atomic.Int32
	err   error
	delay time.Duration
	live  int64
}

func (f *fakeStats) Stats(ctx context.Context) (store.Stats, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		time.Sleep(f.delay) // ignores ctx on purpose: the Collector must not wait for it
	}
	return store.Stats{LiveSessions: f.live}, f.err
}

func TestSessionsActiveIsCachedBetweenScrapes(t *testing.T) {
	f := &fakeStats{live: 7}
	_, reg := newRegistered(t, authprom.WithStats(f), authprom.WithStatsMaxAge(time.Hour))
	for range 3 {
		if got := value(t, reg, "authframe_sessions_active"); got != 7 {
			t.Fatalf("sessions_active = %v", got)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d store calls for 3 scrapes, want 1", n)
	}
}

func TestSessionsActiveIsLeftOutWhenTheStoreFails(t *testing.T) {
	f := &fakeStats{err: errors.New("store down")}
	_, reg := newRegistered(t, authprom.WithStats(f), authprom.WithStatsMaxAge(time.Hour))
	if got := value(t, reg, "authframe_sessions_active"); got != -1 {
		t.Fatalf("sessions_active = %v, want absent", got)
	}
	if got := value(t, reg, "authframe_store_errors_total", "op", "stats"); got != 1 {
		t.Fatalf("store_errors{op=stats} = %v", got)
	}
	// The failure is remembered too: a dead store is not asked on every scrape.
	value(t, reg, "authframe_sessions_active")
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d store calls, want 1", n)
	}
}

func TestSessionsActiveDoesNotHoldUpTheScrape(t *testing.T) {
	f := &fakeStats{live: 3, delay: 300 * time.Millisecond}
	_, reg := newRegistered(t, authprom.WithStats(f), authprom.WithStatsTimeout(20*time.Millisecond), authprom.WithStatsMaxAge(time.Hour))
	start := time.Now()
	if got := value(t, reg, "authframe_sessions_active"); got != -1 {
		t.Fatalf("sessions_active = %v, want absent while the store is slow", got)
	}
	if d := time.Since(start); d > 250*time.Millisecond { // the store takes 300 ms
		t.Fatalf("scrape took %v", d)
	}
	// The call that timed out for the scrape still lands, and serves the next one.
	deadline := time.Now().Add(5 * time.Second)
	for value(t, reg, "authframe_sessions_active") != 3 {
		if time.Now().After(deadline) {
			t.Fatal("the slow answer never arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d store calls, want 1 (one at a time)", n)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]authprom.Option{
		"nil stats reporter":     authprom.WithStats(nil),
		"zero stats timeout":     authprom.WithStatsTimeout(0),
		"negative stats max age": authprom.WithStatsMaxAge(-time.Second),
		"decreasing buckets":     authprom.WithBuckets(1, 0.5),
		"no buckets":             authprom.WithBuckets(),
		"reserved label name":    authprom.WithConstLabels(prometheus.Labels{"__name": "x"}),
		"a label of a metric":    authprom.WithConstLabels(prometheus.Labels{"tier": "x"}),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := authprom.New(opt); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestConstLabelsTellGuardsApart(t *testing.T) {
	a, err := authprom.New(authprom.WithConstLabels(prometheus.Labels{"guard": "a"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := authprom.New(authprom.WithConstLabels(prometheus.Labels{"guard": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a, b)
	a.Observe(context.Background(), audit.Event{Type: audit.Registered})
	if got := value(t, reg, "authframe_registrations_total", "guard", "a"); got != 1 {
		t.Fatalf("guard a = %v", got)
	}
	if got := value(t, reg, "authframe_registrations_total", "guard", "b"); got != 0 {
		t.Fatalf("guard b = %v", got)
	}
}

func TestLatencyHistogramBuckets(t *testing.T) {
	c, reg := newRegistered(t, authprom.WithBuckets(1e-6, 1e-3))
	for _, d := range []time.Duration{time.Microsecond, 2 * time.Microsecond, 2 * time.Millisecond, -time.Second} {
		c.Observe(context.Background(), audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "verify", Duration: d})
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "authframe_validation_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() != "verify" {
				continue
			}
			h := m.GetHistogram()
			// A negative duration (a clock stepping back) counts as zero.
			if h.GetSampleCount() != 4 || h.GetSampleSum() != 0.002003 {
				t.Errorf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
			}
			got := map[float64]uint64{}
			for _, b := range h.GetBucket() {
				got[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			if got[1e-6] != 2 || got[1e-3] != 3 {
				t.Errorf("buckets %v, want le=1e-06: 2 (bounds are inclusive), le=0.001: 3", got)
			}
			return
		}
	}
	t.Fatal("no histogram for tier verify")
}
