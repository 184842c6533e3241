package authotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/authframe/authframe/core/store"
)

// WrapCache returns a shared cache tier that records a span ("authframe.cache.get",
// "authframe.cache.set", "authframe.cache.publish_revocation", "authframe.cache.ping")
// around every call of c. Keys and values, which derive from tokens, are never recorded;
// a get says whether it found the entry (authframe.found).
//
// The wrapper is an store.RevocationPublisher or a store.RevocationFeed exactly when c
// is. It always has Ping (nil, without a span, when c cannot ping: that is how the Guard's
// health report treats a cache without Ping), BreakerState ("" without a breaker), Close
// (closing c if it can be closed) and Unwrap, which returns c. WatchRevocations is
// forwarded without a span: it lasts as long as the subscription.
//
// WrapCache(nil, tp) is nil; tp nil means the global tracer provider.
func WrapCache(c store.Cache, tp trace.TracerProvider) store.Cache {
	if c == nil {
		return nil
	}
	t := &tracedCache{inner: c, tracer: tracerOf(tp)}
	pub, hasPub := c.(store.RevocationPublisher)
	feed, hasFeed := c.(store.RevocationFeed)
	p := publishAbility{t, pub}
	f := feedAbility{feed}
	switch {
	case hasPub && hasFeed:
		return struct {
			*tracedCache
			publishAbility
			feedAbility
		}{t, p, f}
	case hasPub:
		return struct {
			*tracedCache
			publishAbility
		}{t, p}
	case hasFeed:
		return struct {
			*tracedCache
			feedAbility
		}{t, f}
	}
	return t
}

type tracedCache struct {
	inner  store.Cache
	tracer trace.Tracer
}

func (c *tracedCache) start(ctx context.Context, op string) (context.Context, trace.Span) {
	return startSpan(ctx, c.tracer, "authframe.cache."+op)
}

// Unwrap returns the wrapped cache.
func (c *tracedCache) Unwrap() store.Cache { return c.inner }

func (c *tracedCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, span := c.start(ctx, "get")
	v, ok, err := c.inner.Get(ctx, key)
	endLookup(span, ok, err)
	return v, ok, err
}

func (c *tracedCache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	ctx, span := c.start(ctx, "set")
	err := c.inner.Set(ctx, key, val, ttl)
	endSpan(span, err)
	return err
}

// Ping checks the wrapped cache when it can be pinged.
func (c *tracedCache) Ping(ctx context.Context) error {
	p, ok := c.inner.(store.Pinger)
	if !ok {
		return nil
	}
	ctx, span := c.start(ctx, "ping")
	err := p.Ping(ctx)
	endSpan(span, err)
	return err
}

// BreakerState reports the wrapped cache's circuit breaker ("" without one).
func (c *tracedCache) BreakerState() string {
	if b, ok := c.inner.(store.BreakerStater); ok {
		return b.BreakerState()
	}
	return ""
}

// Close closes the wrapped cache when it can be closed.
func (c *tracedCache) Close() error {
	if cl, ok := c.inner.(interface{ Close() error }); ok {
		return cl.Close()
	}
	return nil
}

type publishAbility struct {
	c *tracedCache
	p store.RevocationPublisher
}

func (a publishAbility) PublishRevocation(ctx context.Context, r store.Revocation) error {
	ctx, span := a.c.start(ctx, "publish_revocation")
	span.SetAttributes(AttrKind.String(bounded(string(r.Kind), kinds)))
	err := a.p.PublishRevocation(ctx, r)
	endSpan(span, err)
	return err
}

var (
	_ store.Pinger        = (*tracedCache)(nil)
	_ store.BreakerStater = (*tracedCache)(nil)
	_ store.BreakerStater = (*tracedStore)(nil)
)
