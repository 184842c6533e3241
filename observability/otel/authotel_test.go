package authotel_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/storetest"
	authotel "github.com/authframe/authframe/observability/otel"
)

var (
	testSecret = []byte("authotel-test-secret-0123456789abcdef")
	testArgon  = authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}
	testClient = authframe.ClientInfo{IP: "192.0.2.1", UserAgent: "authotel-test"}
)

func newRecorder(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return sr, tp
}

func attrsOf(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

func spansNamed(sr *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func TestValidationSpanStartsWhenTheValidationStarted(t *testing.T) {
	sr, tp := newRecorder(t)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	tr := authotel.NewTracer(tp)
	tr.Observe(ctx, audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "verify", Method: string(authframe.MethodBearer), Duration: 3 * time.Millisecond, UserID: "u-secret", SessionID: "sid-secret"})
	parent.End()

	spans := spansNamed(sr, authotel.SpanValidateToken)
	if len(spans) != 1 {
		t.Fatalf("%d validation spans", len(spans))
	}
	s := spans[0]
	if d := s.EndTime().Sub(s.StartTime()); d != 3*time.Millisecond {
		t.Errorf("span lasts %v, want the event's 3ms", d)
	}
	if s.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the span is not a child of the request's span")
	}
	want := map[attribute.Key]string{authotel.AttrResult: "ok", authotel.AttrTier: "verify", authotel.AttrMethod: "bearer"}
	got := attrsOf(s)
	if len(got) != len(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if s.Status().Code != codes.Unset || s.SpanKind() != trace.SpanKindInternal {
		t.Errorf("status %v, kind %v", s.Status(), s.SpanKind())
	}
}

func TestValidationSpanStatusAndBoundedAttributes(t *testing.T) {
	cases := []struct {
		name       string
		event      audit.Event
		span       string
		result     string
		tier       string
		statusCode codes.Code
	}{
		{"a refused token is the client's fault, not an error", audit.Event{Type: audit.TokenValidated, Result: "expired", Tier: "verify", Method: string(authframe.MethodBearer)}, authotel.SpanValidateToken, "expired", "verify", codes.Unset},
		{"an undecidable token is an error", audit.Event{Type: audit.TokenValidated, Result: "unavailable", Tier: "lru", Method: string(authframe.MethodBearer)}, authotel.SpanValidateToken, "unavailable", "lru", codes.Error},
		{"a session validation has its own span name", audit.Event{Type: audit.SessionValidated, Result: "csrf", Tier: "store", Method: string(authframe.MethodSession)}, authotel.SpanValidateSession, "csrf", "store", codes.Unset},
		{"unknown values become other", audit.Event{Type: audit.TokenValidated, Result: "eyJhbGciOi.leak", Tier: "/api/users/42", Method: "x"}, authotel.SpanValidateToken, "other", "other", codes.Unset},
		{"a token refused before any tier has tier none", audit.Event{Type: audit.TokenValidated, Result: "oversized", Method: string(authframe.MethodBearer)}, authotel.SpanValidateToken, "oversized", "none", codes.Unset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sr, tp := newRecorder(t)
			ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
			authotel.NewTracer(tp).Observe(ctx, tc.event)
			parent.End()
			spans := spansNamed(sr, tc.span)
			if len(spans) != 1 {
				t.Fatalf("%d spans named %s", len(spans), tc.span)
			}
			a := attrsOf(spans[0])
			if a[authotel.AttrResult] != tc.result || a[authotel.AttrTier] != tc.tier {
				t.Errorf("attributes %v", a)
			}
			if spans[0].Status().Code != tc.statusCode {
				t.Errorf("status %v", spans[0].Status())
			}
		})
	}
}

func TestCachedHitSpansCanBeLeftOut(t *testing.T) {
	sr, tp := newRecorder(t)
	tr := authotel.NewTracer(tp, authotel.WithoutCachedHitSpans(), authotel.WithRootSpans())
	tr.Observe(context.Background(), audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "lru"})
	tr.Observe(context.Background(), audit.Event{Type: audit.TokenValidated, Result: "revoked", Tier: "lru"})
	tr.Observe(context.Background(), audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "verify"})
	if n := len(sr.Ended()); n != 2 {
		t.Fatalf("%d spans, want 2 (the revoked hit and the verification)", n)
	}
}

func TestValidationsOutsideARecordingSpanAreRootsOnlyWhenAskedFor(t *testing.T) {
	e := audit.Event{Type: audit.TokenValidated, Result: "ok", Tier: "verify", Method: string(authframe.MethodBearer)}
	sr, tp := newRecorder(t)
	authotel.NewTracer(tp).Observe(context.Background(), e)
	if n := len(sr.Ended()); n != 0 {
		t.Fatalf("%d spans without a request span", n)
	}
	// A request that was not sampled: its validations are not either.
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	ctx, parent := unsampled.Tracer("test").Start(context.Background(), "request")
	authotel.NewTracer(tp).Observe(ctx, e)
	parent.End()
	if n := len(sr.Ended()); n != 0 {
		t.Fatalf("%d spans under an unsampled request", n)
	}
	authotel.NewTracer(tp, authotel.WithRootSpans()).Observe(context.Background(), e)
	spans := sr.Ended()
	if len(spans) != 1 || spans[0].Parent().IsValid() {
		t.Fatalf("want one root span, got %d", len(spans))
	}
}

func TestOtherEventsBecomeSpanEventsOfTheRequest(t *testing.T) {
	sr, tp := newRecorder(t)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	tr := authotel.NewTracer(tp)
	tr.Observe(ctx, audit.Event{Type: audit.LoginFailed, Reason: "bad_password", UserID: "u-secret", ClientIP: "192.0.2.1"})
	tr.Observe(ctx, audit.Event{Type: audit.RefreshReused, SessionID: "sid-secret"})
	tr.Observe(ctx, audit.Event{Type: audit.DependencyError, Kind: "store", Op: "get_session", Err: errors.New("dial redis://u:hunter2@db")})
	tr.Observe(ctx, audit.Event{Type: audit.Revoked, Kind: "session", Reason: "a reason nobody knows"})
	tr.Observe(nil, audit.Event{Type: audit.RevocationReceived, Kind: "session"}) //nolint:staticcheck // the Guard reports feed events without a context
	parent.End()

	spans := spansNamed(sr, "request")
	if len(spans) != 1 {
		t.Fatal("no request span")
	}
	evs := spans[0].Events()
	var names []string
	for _, e := range evs {
		names = append(names, e.Name)
		for _, a := range e.Attributes {
			v := a.Value.Emit()
			if strings.Contains(v, "secret") || strings.Contains(v, "hunter2") || strings.Contains(v, "192.0.2.1") {
				t.Errorf("event %s holds %s=%q", e.Name, a.Key, v)
			}
		}
	}
	want := []string{"authframe.login_failed", "authframe.refresh_reused", "authframe.dependency_error", "authframe.revoked"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", names, want)
	}
	if a := evs[0].Attributes; len(a) != 1 || a[0].Value.AsString() != "bad_password" {
		t.Errorf("login_failed attributes %v", a)
	}
	for _, a := range evs[3].Attributes {
		if a.Key == authotel.AttrReason && a.Value.AsString() != "other" {
			t.Errorf("unknown reason recorded as %q", a.Value.AsString())
		}
	}
	if len(sr.Ended()) != 1 {
		t.Errorf("%d spans; events must not make spans of their own", len(sr.Ended()))
	}
}

func TestSpanEventsCanBeTurnedOff(t *testing.T) {
	sr, tp := newRecorder(t)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	authotel.NewTracer(tp, authotel.WithoutSpanEvents()).Observe(ctx, audit.Event{Type: audit.LoginSucceeded})
	parent.End()
	if n := len(sr.Ended()[0].Events()); n != 0 {
		t.Fatalf("%d span events", n)
	}
}

// TestGuardWithTracing wires all three pieces into a Guard and checks the spans of a token's
// life, and that none of them carries a secret.
func TestGuardWithTracing(t *testing.T) {
	sr, tp := newRecorder(t)
	st := memstore.New()
	defer st.Close()
	cache := newMapCache()
	g, err := authframe.New(
		authframe.WithHMACSecret(testSecret),
		authframe.WithIssuer("https://auth.example"),
		authframe.WithAudience("authotel"),
		authframe.WithPasswords(testArgon),
		authframe.WithStore(authotel.WrapStore(st, tp)),
		authframe.WithCache(authframe.CacheConfig{Shared: authotel.WrapCache(cache, tp)}),
		authframe.WithObserver(authotel.NewTracer(tp)),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	u, err := g.Register(ctx, authframe.ClientInfo{}, "alice", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g.IssueTokens(ctx, u, testClient)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Refresh(ctx, pair.RefreshToken, testClient); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Refresh(ctx, pair.RefreshToken, testClient); err == nil {
		t.Fatal("reuse accepted")
	}
	req.End()

	for _, name := range []string{
		"authframe.store.create_user", "authframe.store.create_session", "authframe.store.add_refresh_token",
		"authframe.store.get_session", "authframe.store.rotate_refresh_token", "authframe.store.add_revocation",
		"authframe.cache.get", "authframe.cache.set", authotel.SpanValidateToken,
	} {
		spans := spansNamed(sr, name)
		if len(spans) == 0 {
			t.Errorf("no %s span", name)
			continue
		}
		if spans[0].Parent().SpanID() != req.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the request span", name)
		}
	}
	var tiers []string
	for _, s := range spansNamed(sr, authotel.SpanValidateToken) {
		tiers = append(tiers, attrsOf(s)[authotel.AttrTier])
	}
	if strings.Join(tiers, ",") != "verify,lru" {
		t.Errorf("validation tiers %v, want verify,lru", tiers)
	}
	if get := spansNamed(sr, "authframe.cache.get"); len(get) > 0 && attrsOf(get[0])[authotel.AttrFound] != "false" {
		t.Errorf("first cache get found=%q", attrsOf(get[0])[authotel.AttrFound])
	}
	var reused bool
	for _, s := range spansNamed(sr, "authframe.store.rotate_refresh_token") {
		if attrsOf(s)[authotel.AttrOutcome] == "refresh_reused" {
			reused = true
			if s.Status().Code == codes.Error {
				t.Error("refresh reuse marked as a store error")
			}
		}
	}
	if !reused {
		t.Error("no rotate span with outcome refresh_reused")
	}

	secrets := []string{pair.AccessToken, pair.RefreshToken, pair.SessionID, u.ID, "alice", "correct horse battery"}
	secrets = append(secrets, strings.Split(pair.AccessToken, ".")...)
	for _, s := range sr.Ended() {
		var texts []string
		for _, a := range s.Attributes() {
			texts = append(texts, a.Value.Emit())
		}
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				texts = append(texts, a.Value.Emit())
			}
		}
		texts = append(texts, s.Status().Description, s.Name())
		for _, text := range texts {
			for _, secret := range secrets {
				if secret != "" && strings.Contains(text, secret) {
					t.Errorf("span %s holds a secret in %q", s.Name(), text)
				}
			}
		}
	}
}

// failingStore fails every call with an error that names what a driver might.
type failingStore struct{ store.Store }

var errDriver = errors.New("dial tcp: redis://default:hunter2@10.0.0.5:6379 refused for key session:AbCdEfGhIjKlMnOpQrStUvWx")

func (failingStore) GetSession(context.Context, string) (store.Session, bool, error) {
	return store.Session{}, false, errDriver
}

func (failingStore) Ping(context.Context) error { return errDriver }

func TestStoreErrorsAreRecordedWithoutSecrets(t *testing.T) {
	sr, tp := newRecorder(t)
	s := authotel.WrapStore(failingStore{memstore.New()}, tp)
	if _, _, err := s.GetSession(context.Background(), "sid-123"); !errors.Is(err, errDriver) {
		t.Fatalf("error not passed through: %v", err)
	}
	if _, _, err := s.GetUser(context.Background(), "nobody"); err != nil {
		t.Fatal(err)
	}
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	st := spans[0].Status()
	if st.Code != codes.Error {
		t.Fatalf("status %v", st)
	}
	if strings.Contains(st.Description, "hunter2") || strings.Contains(st.Description, "AbCdEfGhIjKlMnOpQrStUvWx") || !strings.Contains(st.Description, "10.0.0.5:6379") {
		t.Errorf("status description %q", st.Description)
	}
	if attrsOf(spans[0])[authotel.AttrErrorType] != "*errors.errorString" {
		t.Errorf("attributes %v", attrsOf(spans[0]))
	}
	if a := attrsOf(spans[1]); a[authotel.AttrFound] != "false" || spans[1].Status().Code != codes.Unset {
		t.Errorf("a lookup that found nothing: %v %v", a, spans[1].Status())
	}
}

func TestWrappedStorePassesTheConformanceSuite(t *testing.T) {
	_, tp := newRecorder(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		ms := memstore.New()
		t.Cleanup(func() { _ = ms.Close() })
		return authotel.WrapStore(ms, tp)
	})
}

// Stores with each combination of optional abilities, built on the memory store.
type (
	bareStore struct{ store.Store }
	feedStore struct {
		bareStore
		store.RevocationFeed
	}
	statsStore struct {
		bareStore
		store.StatsReporter
	}
	exportStore struct {
		bareStore
		store.Exporter
	}
	feedStats struct {
		bareStore
		store.RevocationFeed
		store.StatsReporter
	}
	feedExport struct {
		bareStore
		store.RevocationFeed
		store.Exporter
	}
	statsExport struct {
		bareStore
		store.StatsReporter
		store.Exporter
	}
)

func TestWrappedStoreHasExactlyTheAbilitiesOfTheStore(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	b := bareStore{ms}
	cases := []struct {
		name                  string
		s                     store.Store
		feed, stats, exporter bool
	}{
		{"a bare store", b, false, false, false},
		{"a store with a feed", feedStore{b, ms}, true, false, false},
		{"a store with stats", statsStore{b, ms}, false, true, false},
		{"a store with export", exportStore{b, ms}, false, false, true},
		{"a store with a feed and stats", feedStats{b, ms, ms}, true, true, false},
		{"a store with a feed and export", feedExport{b, ms, ms}, true, false, true},
		{"a store with stats and export", statsExport{b, ms, ms}, false, true, true},
		{"the memory store", ms, true, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sr, tp := newRecorder(t)
			w := authotel.WrapStore(tc.s, tp)
			_, feed := w.(store.RevocationFeed)
			st, stats := w.(store.StatsReporter)
			_, exporter := w.(store.Exporter)
			if feed != tc.feed || stats != tc.stats || exporter != tc.exporter {
				t.Fatalf("feed %v stats %v exporter %v, want %v %v %v", feed, stats, exporter, tc.feed, tc.stats, tc.exporter)
			}
			if stats {
				if _, err := st.Stats(context.Background()); err != nil {
					t.Fatal(err)
				}
				if len(spansNamed(sr, "authframe.store.stats")) != 1 {
					t.Error("no stats span")
				}
			}
			if _, ok := w.(interface{ Close() error }); !ok {
				t.Error("no Close")
			}
			if _, ok := w.(store.BreakerStater); !ok {
				t.Error("no BreakerState")
			}
			if u, ok := w.(interface{ Unwrap() store.Store }); !ok || u.Unwrap() != tc.s {
				t.Error("Unwrap does not return the store")
			}
		})
	}
}

func TestWrappedStoreForwardsRevocationsAndClose(t *testing.T) {
	ms := memstore.New()
	w := authotel.WrapStore(ms, nil)
	ctx, cancel := context.WithCancel(context.Background())
	rw := &recWatcher{synced: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- w.(store.RevocationFeed).WatchRevocations(ctx, rw) }()
	<-rw.synced
	if err := w.AddRevocation(context.Background(), store.Revocation{Kind: store.RevokeToken, Key: "jti-1", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for rw.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if rw.count() == 0 {
		t.Fatal("revocation not delivered through the wrapper")
	}
	cancel()
	<-done
	if err := w.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	if w.(store.BreakerStater).BreakerState() != "" {
		t.Error("the memory store has no breaker")
	}
}

type recWatcher struct {
	mu     sync.Mutex
	n      int
	once   sync.Once
	synced chan struct{}
}

func (w *recWatcher) Revoked(store.Revocation) { w.mu.Lock(); w.n++; w.mu.Unlock() }
func (w *recWatcher) Synced(ok bool) {
	if ok {
		w.once.Do(func() { close(w.synced) })
	}
}
func (w *recWatcher) count() int { w.mu.Lock(); defer w.mu.Unlock(); return w.n }

// mapCache is a shared cache tier with every ability, for the tests.
type mapCache struct {
	mu        sync.Mutex
	m         map[string][]byte
	published int
	pingErr   error
}

func newMapCache() *mapCache { return &mapCache{m: map[string][]byte{}} }

func (c *mapCache) Get(_ context.Context, k string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok, nil
}

func (c *mapCache) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = v
	return nil
}

type pubCache struct{ *mapCache }

func (c pubCache) PublishRevocation(context.Context, store.Revocation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.published++
	return nil
}

type feedCache struct{ *mapCache }

func (feedCache) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	w.Synced(true)
	<-ctx.Done()
	return nil
}

type fullCache struct{ *mapCache }

func (c fullCache) PublishRevocation(ctx context.Context, r store.Revocation) error {
	return pubCache(c).PublishRevocation(ctx, r)
}

func (c fullCache) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	return feedCache(c).WatchRevocations(ctx, w)
}

func (fullCache) Ping(context.Context) error { return errors.New("cache down") }
func (fullCache) BreakerState() string       { return "open" }

func TestWrappedCacheHasExactlyTheAbilitiesOfTheCache(t *testing.T) {
	mc := newMapCache()
	cases := []struct {
		name           string
		c              store.Cache
		publisher      bool
		feed           bool
		pingErr        bool
		breaker        string
		publishedCount int
	}{
		{"a bare cache", mc, false, false, false, "", 0},
		{"a cache that publishes", pubCache{mc}, true, false, false, "", 1},
		{"a cache with a feed", feedCache{mc}, false, true, false, "", 0},
		{"a cache with everything", fullCache{mc}, true, true, true, "open", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mc.published = 0
			sr, tp := newRecorder(t)
			w := authotel.WrapCache(tc.c, tp)
			pub, isPub := w.(store.RevocationPublisher)
			_, isFeed := w.(store.RevocationFeed)
			if isPub != tc.publisher || isFeed != tc.feed {
				t.Fatalf("publisher %v feed %v", isPub, isFeed)
			}
			if isPub {
				if err := pub.PublishRevocation(context.Background(), store.Revocation{Kind: store.RevokeSession, Key: "sid-x"}); err != nil {
					t.Fatal(err)
				}
				if len(spansNamed(sr, "authframe.cache.publish_revocation")) != 1 {
					t.Error("no publish span")
				}
			}
			if mc.published != tc.publishedCount {
				t.Errorf("published %d", mc.published)
			}
			err := w.(store.Pinger).Ping(context.Background())
			if (err != nil) != tc.pingErr {
				t.Errorf("Ping: %v", err)
			}
			if got := w.(store.BreakerStater).BreakerState(); got != tc.breaker {
				t.Errorf("BreakerState %q", got)
			}
			if u, ok := w.(interface{ Unwrap() store.Cache }); !ok || u.Unwrap() != tc.c {
				t.Error("Unwrap does not return the cache")
			}
		})
	}
}

func TestWrapNilIsNil(t *testing.T) {
	if authotel.WrapStore(nil, nil) != nil || authotel.WrapCache(nil, nil) != nil {
		t.Fatal("wrapping nil is not nil")
	}
}

// A Guard over a wrapped store keeps the abilities the wrapper does not trace: service
// clients and API keys work through it.
func TestWrappedStoreKeepsServiceAbilities(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	ws := authotel.WrapStore(ms, sdktrace.NewTracerProvider())
	for name, ok := range map[string]bool{
		"ClientStore":     has[store.ClientStore](ws),
		"APIKeyStore":     has[store.APIKeyStore](ws),
		"RateLimitPeeker": has[store.RateLimitPeeker](ws),
	} {
		if !ok {
			t.Errorf("the wrapped store lost %s", name)
		}
	}
}

func has[T any](s store.Store) bool { _, ok := store.As[T](s); return ok }
