package authotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
)

// ScopeName is the instrumentation scope of every tracer this package makes.
const ScopeName = "github.com/authframe/authframe/observability/otel"

// Span names and attribute keys.
const (
	SpanValidateToken   = "authframe.validate_token"
	SpanValidateSession = "authframe.validate_session"

	AttrResult = attribute.Key("authframe.result")
	AttrTier   = attribute.Key("authframe.tier")
	AttrMethod = attribute.Key("authframe.method")
	AttrReason = attribute.Key("authframe.reason")
	AttrKind   = attribute.Key("authframe.kind")
	AttrOp     = attribute.Key("authframe.op")
)

// Option configures a Tracer.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	skipCachedHits bool
	noEvents       bool
	rootSpans      bool
}

// WithoutCachedHitSpans records no span for a successful validation answered by the
// in-process cache. Such a hit takes well under a microsecond, so on a busy service its
// span costs far more than the work it describes; failures and every other tier are still
// recorded.
func WithoutCachedHitSpans() Option {
	return optionFunc(func(c *config) { c.skipCachedHits = true })
}

// WithRootSpans also records validations whose context carries no recording span, as
// traces of their own. By default such a validation is not recorded: every request would
// otherwise leave a one-span trace, and when tracing is off (a no-op provider, or a
// request that was not sampled) the Tracer costs next to nothing.
func WithRootSpans() Option {
	return optionFunc(func(c *config) { c.rootSpans = true })
}

// WithoutSpanEvents stops the Tracer from adding the Guard's other events (logins,
// revocations, CSRF failures, ...) as span events to the request's span.
func WithoutSpanEvents() Option {
	return optionFunc(func(c *config) { c.noEvents = true })
}

// Tracer records the Guard's events with OpenTelemetry. It is an audit.Observer:
//
//   - every bearer token or session validation becomes a span (authframe.validate_token,
//     authframe.validate_session), child of the recording span in the request's context
//     (see WithRootSpans for validations outside one), that
//     starts when the validation started (the event's Duration before it was reported)
//     and carries authframe.result, authframe.tier and authframe.method. Its status is
//     Error only when the Guard could not decide (result "unavailable"): a refused
//     credential is the client's fault, as a 4xx is for an HTTP server span;
//   - every other event (login, refresh, revocation, CSRF failure, rate limiting,
//     dependency error, ...) is added as a span event "authframe.<event>" to the
//     request's span, when that span is recording.
//
// Attribute values come from closed sets (anything else is "other"); no user id, session
// id, token or error text is recorded.
type Tracer struct {
	tracer trace.Tracer
	cfg    config
}

type attrKey struct{ result, tier, method string }

// validationAttrs holds the attribute option of every (result, tier, method), made once so
// that a span costs no attribute building.
var validationAttrs = func() map[attrKey]trace.SpanStartEventOption {
	m := map[attrKey]trace.SpanStartEventOption{}
	for _, r := range append(keys(results), "other") {
		for _, tier := range append(keys(tiers), "none", "other") {
			for _, method := range []string{"bearer", "session", "other"} {
				m[attrKey{r, tier, method}] = trace.WithAttributes(AttrResult.String(r), AttrTier.String(tier), AttrMethod.String(method))
			}
		}
	}
	return m
}()

var internalKind = trace.WithSpanKind(trace.SpanKindInternal)

var _ audit.Observer = (*Tracer)(nil)

// NewTracer returns a Tracer that records with tp (the global provider when tp is nil).
func NewTracer(tp trace.TracerProvider, opts ...Option) *Tracer {
	t := &Tracer{tracer: tracerOf(tp)}
	for _, o := range opts {
		if o != nil {
			o.apply(&t.cfg)
		}
	}
	return t
}

func tracerOf(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(ScopeName)
}

// Observe implements audit.Observer.
func (t *Tracer) Observe(ctx context.Context, e audit.Event) {
	if ctx == nil {
		ctx = context.Background()
	}
	switch e.Type {
	case audit.TokenValidated, audit.SessionValidated:
		t.validation(ctx, e)
	default:
		if t.cfg.noEvents {
			return
		}
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return
		}
		attrs := make([]attribute.KeyValue, 0, 4)
		if e.Result != "" {
			attrs = append(attrs, AttrResult.String(bounded(e.Result, results)))
		}
		if e.Reason != "" {
			attrs = append(attrs, AttrReason.String(bounded(e.Reason, reasons)))
		}
		if e.Kind != "" {
			attrs = append(attrs, AttrKind.String(bounded(e.Kind, kinds)))
		}
		if e.Op != "" {
			attrs = append(attrs, AttrOp.String(bounded(e.Op, ops)))
		}
		span.AddEvent(eventName(e.Type), trace.WithAttributes(attrs...))
	}
}

func (t *Tracer) validation(ctx context.Context, e audit.Event) {
	if !t.cfg.rootSpans && !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	result := bounded(e.Result, results)
	if t.cfg.skipCachedHits && e.Tier == "lru" && result == "ok" {
		return
	}
	name := SpanValidateToken
	if e.Type == audit.SessionValidated {
		name = SpanValidateSession
	}
	end := time.Now()
	tier := "none"
	if e.Tier != "" {
		tier = bounded(e.Tier, tiers)
	}
	method := "other"
	switch e.Method {
	case string(authframe.MethodBearer), string(authframe.MethodSession):
		method = string(e.Method)
	}
	_, span := t.tracer.Start(ctx, name, trace.WithTimestamp(end.Add(-e.Duration)), internalKind, validationAttrs[attrKey{result, tier, method}])
	if result == "unavailable" {
		span.SetStatus(codes.Error, "credential could not be checked: a dependency is unavailable")
	}
	span.End(trace.WithTimestamp(end))
}

// The closed sets of attribute values.
var (
	results = set("ok", "ok_unconfirmed", "invalid", "expired", "signature", "malformed", "oversized", "revoked", "session", "csrf", "unavailable")
	tiers   = set("lru", "shared", "verify", "store")
	reasons = set("unknown_user", "bad_password", "invalid_input", "logout", "refresh_reuse", "session_deleted", "renewed", "user_deleted", "user_revoked")
	kinds   = set("session", "token", "user", "cookie", "login", "store", "cache")
	ops     = set("create_user", "get_user", "update_user", "create_session", "get_session", "touch_session",
		"delete_session", "list_sessions", "add_refresh", "rotate_refresh", "add_revocation", "rate_limit",
		"get", "set", "publish_revocation")
)

func set(vs ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(vs))
	for _, v := range vs {
		m[v] = struct{}{}
	}
	return m
}

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func bounded(v string, allowed map[string]struct{}) string {
	if _, ok := allowed[v]; ok {
		return v
	}
	return "other"
}

var eventNames = func() map[audit.Type]string {
	m := map[audit.Type]string{}
	for t := audit.Type(1); t.String() != "unknown"; t++ {
		m[t] = "authframe." + t.String()
	}
	return m
}()

func eventName(t audit.Type) string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return "authframe.unknown"
}
