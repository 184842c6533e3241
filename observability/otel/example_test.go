package authotel_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	authotel "github.com/authframe/authframe/observability/otel"
)

func Example() {
	// In production: sdktrace.WithBatcher(exporter). The recorder lets the example print.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	st := memstore.New()
	defer st.Close()
	guard, err := authframe.New(
		authframe.WithIssuer("https://auth.example"),
		authframe.WithAudience("api.example"),
		authframe.WithHMACSecret([]byte("an example secret of 32 bytes or more")),
		authframe.WithStore(authotel.WrapStore(st, tp)),
		authframe.WithObserver(authotel.NewTracer(tp)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer guard.Close()

	// An HTTP tracing middleware would have started this span.
	ctx, request := tp.Tracer("app").Start(context.Background(), "GET /api/me")
	pair, _ := guard.IssueTokens(ctx, authframe.User{ID: "u1", Username: "alice"}, authframe.ClientInfo{})
	_, _ = guard.VerifyToken(ctx, pair.AccessToken) // verified, its session confirmed in the store
	_, _ = guard.VerifyToken(ctx, pair.AccessToken) // from the in-process cache
	request.End()

	for _, s := range rec.Ended() {
		fmt.Print(s.Name())
		for _, a := range s.Attributes() {
			fmt.Printf(" %s=%s", a.Key, a.Value.Emit())
		}
		fmt.Println()
	}
	// Output:
	// authframe.store.revocations_since
	// authframe.store.create_session
	// authframe.store.add_refresh_token
	// authframe.store.get_session authframe.found=true
	// authframe.validate_token authframe.result=ok authframe.tier=verify authframe.method=bearer
	// authframe.validate_token authframe.result=ok authframe.tier=lru authframe.method=bearer
	// GET /api/me
}
