// Package authotel traces an authframe Guard with OpenTelemetry.
//
// Three pieces, each optional:
//
//   - NewTracer returns an audit.Observer that turns every bearer token and session
//     validation into a span (backdated to when the validation started) and adds the
//     Guard's other events (logins, refreshes, revocations, CSRF failures, ...) as span
//     events to the request's span.
//   - WrapStore puts a span around every store call.
//   - WrapCache puts a span around every call to the shared cache tier.
//
// Wired together:
//
//	tp := sdktrace.NewTracerProvider(...)
//	rs, err := redisstore.New(ctx, client)
//	rc, err := rediscache.New(context.Background(), client)
//	guard, err := authframe.New(key, authframe.WithIssuer(iss), authframe.WithAudience(aud),
//		authframe.WithStore(authotel.WrapStore(rs, tp)),
//		authframe.WithCache(authframe.CacheConfig{Shared: authotel.WrapCache(rc, tp)}),
//		authframe.WithObserver(authotel.NewTracer(tp)))
//
// Spans are children of the span in the context the Guard is called with, so put an
// HTTP tracing middleware (otelhttp, otelgin, ...) in front of the authframe one; a
// validation outside a recording span is not recorded unless WithRootSpans says so. A
// validation's span is recorded when the Guard reports the validation, so the store and
// cache spans of that validation are its siblings rather than its children.
//
// Nothing secret is recorded: no token, refresh token, session id, CSRF token, cache key
// or user id. Attribute values come from closed sets, and error messages are stripped of
// long opaque values and URL credentials.
package authotel
