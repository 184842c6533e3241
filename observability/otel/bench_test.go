package authotel_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	authotel "github.com/authframe/authframe/observability/otel"
)

// BenchmarkCachedValidation is the Guard's hot path (a cached bearer token) with the
// Tracer attached, under a request span: of a provider that records nothing, of a request
// the SDK did not sample, of a sampled request, and of one with WithoutCachedHitSpans.
func BenchmarkCachedValidation(b *testing.B) {
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	for _, bc := range []struct {
		name string
		tp   trace.TracerProvider
		obs  audit.Observer
	}{
		{"noop_provider", noop.NewTracerProvider(), authotel.NewTracer(noop.NewTracerProvider())},
		{"sdk_unsampled_request", unsampled, authotel.NewTracer(unsampled)},
		{"sdk_sampled", sdk, authotel.NewTracer(sdk)},
		{"sdk_without_cached_hit_spans", sdk, authotel.NewTracer(sdk, authotel.WithoutCachedHitSpans())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g, err := authframe.New(
				authframe.WithHMACSecret(testSecret),
				authframe.WithPasswords(testArgon),
				authframe.WithObserver(bc.obs),
			)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			// The request span an HTTP tracing middleware would have started.
			ctx, span := bc.tp.Tracer("bench").Start(context.Background(), "request")
			defer span.End()
			pair, err := g.IssueTokens(ctx, authframe.User{ID: "u1", Username: "bench"}, testClient)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
