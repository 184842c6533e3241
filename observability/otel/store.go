package authotel

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/authframe/authframe/core/store"
)

// Attribute keys of store and cache spans.
const (
	// AttrOutcome is set when a call ended with one of the outcomes the store contract
	// defines ("not_found", "conflict", "refresh_reused"): expected answers, not errors.
	AttrOutcome = attribute.Key("authframe.outcome")
	// AttrFound is set on lookups: whether the record (or cache entry) was there.
	AttrFound = attribute.Key("authframe.found")
	// AttrErrorType is the Go type of an unexpected error (the OpenTelemetry error.type).
	AttrErrorType = attribute.Key("error.type")
)

// WrapStore returns a store that records a span ("authframe.store.<operation>") around
// every call of s, as a child of the span in the call's context. The spans carry no key,
// id or hash; an unexpected error sets the span's status, with a message stripped of long
// opaque values and URL credentials.
//
// The wrapper has the optional abilities of s: it is a store.RevocationFeed, a
// store.StatsReporter or a store.Exporter exactly when s is. It always has Close (which
// closes s if s can be closed), BreakerState (empty when s has no breaker, which is how
// the Guard's health report shows a store without one) and Unwrap, which returns s.
// WatchRevocations is forwarded without a span: it lasts as long as the subscription. The
// abilities it does not trace (service clients, API keys, ...) the Guard finds on s through
// Unwrap (store.As), untraced.
//
// WrapStore(nil, tp) is nil; tp nil means the global tracer provider.
func WrapStore(s store.Store, tp trace.TracerProvider) store.Store {
	if s == nil {
		return nil
	}
	t := &tracedStore{inner: s, tracer: tracerOf(tp)}
	feed, hasFeed := s.(store.RevocationFeed)
	stats, hasStats := s.(store.StatsReporter)
	exp, hasExport := s.(store.Exporter)
	f := feedAbility{feed}
	st := statsAbility{t, stats}
	ex := exportAbility{t, exp}
	switch {
	case hasFeed && hasStats && hasExport:
		return struct {
			*tracedStore
			feedAbility
			statsAbility
			exportAbility
		}{t, f, st, ex}
	case hasFeed && hasStats:
		return struct {
			*tracedStore
			feedAbility
			statsAbility
		}{t, f, st}
	case hasFeed && hasExport:
		return struct {
			*tracedStore
			feedAbility
			exportAbility
		}{t, f, ex}
	case hasStats && hasExport:
		return struct {
			*tracedStore
			statsAbility
			exportAbility
		}{t, st, ex}
	case hasFeed:
		return struct {
			*tracedStore
			feedAbility
		}{t, f}
	case hasStats:
		return struct {
			*tracedStore
			statsAbility
		}{t, st}
	case hasExport:
		return struct {
			*tracedStore
			exportAbility
		}{t, ex}
	}
	return t
}

type tracedStore struct {
	inner  store.Store
	tracer trace.Tracer
}

func startSpan(ctx context.Context, tr trace.Tracer, name string) (context.Context, trace.Span) {
	return tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
}

func (s *tracedStore) start(ctx context.Context, op string) (context.Context, trace.Span) {
	return startSpan(ctx, s.tracer, "authframe.store."+op)
}

// endSpan ends span, recording err: the store contract's sentinels are outcomes, anything
// else an error.
func endSpan(span trace.Span, err error) {
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		span.SetAttributes(AttrOutcome.String("not_found"))
	case errors.Is(err, store.ErrConflict):
		span.SetAttributes(AttrOutcome.String("conflict"))
	case errors.Is(err, store.ErrRefreshReused):
		span.SetAttributes(AttrOutcome.String("refresh_reused"))
	default:
		span.SetAttributes(AttrErrorType.String(fmt.Sprintf("%T", err)))
		span.SetStatus(codes.Error, scrub(err.Error()))
	}
	span.End()
}

func endLookup(span trace.Span, found bool, err error) {
	if err == nil {
		span.SetAttributes(AttrFound.Bool(found))
	}
	endSpan(span, err)
}

var (
	urlCredentials = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*@`)
	opaqueRun      = regexp.MustCompile(`[A-Za-z0-9_\-]{20,}`)
)

// scrub keeps an error message useful while removing what must not reach a trace backend
// even if a driver put it there: URL credentials and long opaque values (ids, hashes,
// tokens).
func scrub(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	s = urlCredentials.ReplaceAllString(s, "${1}[redacted]@")
	return opaqueRun.ReplaceAllString(s, "[redacted]")
}

// Unwrap returns the wrapped store, for its own methods beyond the store interfaces.
func (s *tracedStore) Unwrap() store.Store { return s.inner }

// Close closes the wrapped store when it can be closed.
func (s *tracedStore) Close() error {
	c, ok := s.inner.(interface{ Close() error })
	if !ok {
		return nil
	}
	return c.Close()
}

// BreakerState reports the wrapped store's circuit breaker ("" without one).
func (s *tracedStore) BreakerState() string {
	if b, ok := s.inner.(interface{ BreakerState() string }); ok {
		return b.BreakerState()
	}
	return ""
}

func (s *tracedStore) CreateUser(ctx context.Context, u store.User) error {
	ctx, span := s.start(ctx, "create_user")
	err := s.inner.CreateUser(ctx, u)
	endSpan(span, err)
	return err
}

func (s *tracedStore) GetUser(ctx context.Context, id string) (store.User, bool, error) {
	ctx, span := s.start(ctx, "get_user")
	u, ok, err := s.inner.GetUser(ctx, id)
	endLookup(span, ok, err)
	return u, ok, err
}

func (s *tracedStore) GetUserByUsername(ctx context.Context, username string) (store.User, bool, error) {
	ctx, span := s.start(ctx, "get_user_by_username")
	u, ok, err := s.inner.GetUserByUsername(ctx, username)
	endLookup(span, ok, err)
	return u, ok, err
}

func (s *tracedStore) UpdateUser(ctx context.Context, u store.User) error {
	ctx, span := s.start(ctx, "update_user")
	err := s.inner.UpdateUser(ctx, u)
	endSpan(span, err)
	return err
}

func (s *tracedStore) CreateSession(ctx context.Context, se store.Session) error {
	ctx, span := s.start(ctx, "create_session")
	err := s.inner.CreateSession(ctx, se)
	endSpan(span, err)
	return err
}

func (s *tracedStore) GetSession(ctx context.Context, id string) (store.Session, bool, error) {
	ctx, span := s.start(ctx, "get_session")
	se, ok, err := s.inner.GetSession(ctx, id)
	endLookup(span, ok, err)
	return se, ok, err
}

func (s *tracedStore) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	ctx, span := s.start(ctx, "touch_session")
	err := s.inner.TouchSession(ctx, id, lastSeen)
	endSpan(span, err)
	return err
}

func (s *tracedStore) DeleteSession(ctx context.Context, id string) (bool, error) {
	ctx, span := s.start(ctx, "delete_session")
	ok, err := s.inner.DeleteSession(ctx, id)
	endLookup(span, ok, err)
	return ok, err
}

func (s *tracedStore) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	ctx, span := s.start(ctx, "list_sessions")
	ss, err := s.inner.ListSessions(ctx, userID)
	endSpan(span, err)
	return ss, err
}

func (s *tracedStore) AddRefreshToken(ctx context.Context, t store.RefreshToken) error {
	ctx, span := s.start(ctx, "add_refresh_token")
	err := s.inner.AddRefreshToken(ctx, t)
	endSpan(span, err)
	return err
}

func (s *tracedStore) RotateRefreshToken(ctx context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (store.Session, error) {
	ctx, span := s.start(ctx, "rotate_refresh_token")
	se, err := s.inner.RotateRefreshToken(ctx, sessionID, oldHash, newHash, now)
	endSpan(span, err)
	return se, err
}

func (s *tracedStore) AddRevocation(ctx context.Context, r store.Revocation) error {
	ctx, span := s.start(ctx, "add_revocation")
	span.SetAttributes(AttrKind.String(bounded(string(r.Kind), kinds)))
	err := s.inner.AddRevocation(ctx, r)
	endSpan(span, err)
	return err
}

func (s *tracedStore) RevocationsSince(ctx context.Context, since time.Time) ([]store.Revocation, error) {
	ctx, span := s.start(ctx, "revocations_since")
	rs, err := s.inner.RevocationsSince(ctx, since)
	endSpan(span, err)
	return rs, err
}

func (s *tracedStore) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	ctx, span := s.start(ctx, "hit")
	n, reset, err := s.inner.Hit(ctx, key, window)
	endSpan(span, err)
	return n, reset, err
}

func (s *tracedStore) Ping(ctx context.Context) error {
	ctx, span := s.start(ctx, "ping")
	err := s.inner.Ping(ctx)
	endSpan(span, err)
	return err
}

type feedAbility struct{ f store.RevocationFeed }

func (a feedAbility) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	return a.f.WatchRevocations(ctx, w)
}

type statsAbility struct {
	s *tracedStore
	r store.StatsReporter
}

func (a statsAbility) Stats(ctx context.Context) (store.Stats, error) {
	ctx, span := a.s.start(ctx, "stats")
	st, err := a.r.Stats(ctx)
	endSpan(span, err)
	return st, err
}

type exportAbility struct {
	s *tracedStore
	e store.Exporter
}

func (a exportAbility) ExportUsers(ctx context.Context, cursor string, limit int) ([]store.User, string, error) {
	ctx, span := a.s.start(ctx, "export_users")
	us, next, err := a.e.ExportUsers(ctx, cursor, limit)
	endSpan(span, err)
	return us, next, err
}

func (a exportAbility) ExportSessions(ctx context.Context, cursor string, limit int) ([]store.Session, string, error) {
	ctx, span := a.s.start(ctx, "export_sessions")
	ss, next, err := a.e.ExportSessions(ctx, cursor, limit)
	endSpan(span, err)
	return ss, next, err
}

func (a exportAbility) ExportRefreshTokens(ctx context.Context, sessionID string) ([]store.RefreshToken, error) {
	ctx, span := a.s.start(ctx, "export_refresh_tokens")
	ts, err := a.e.ExportRefreshTokens(ctx, sessionID)
	endSpan(span, err)
	return ts, err
}
