package authfiber_test

import (
	"context"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	authfiber "github.com/authframe/authframe/adapters/fiber"
	authframe "github.com/authframe/authframe/core"
)

func ok(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusOK) }

// benchApps returns the same GET route on a bare app and behind authfiber.Middleware.
func benchApps(tb testing.TB) (tok string, apps []benchApp) {
	_, tok, apps = benchGuardApps(tb)
	return tok, apps
}

func benchGuardApps(tb testing.TB) (g *authframe.Guard, tok string, apps []benchApp) {
	g = newGuard(tb)
	tok = tokenFor(tb, g, "bench")
	bare := fiber.New()
	bare.Get("/api", ok)
	guarded := fiber.New()
	guarded.Get("/api", authfiber.Middleware(g), ok)
	return g, tok, []benchApp{{"bare", bare.Handler()}, {"authfiber", guarded.Handler()}}
}

type benchApp struct {
	name string
	h    fasthttp.RequestHandler
}

// newRequestCtx builds the request once, as fiber's own benchmarks do, and runs it once
// so that the token is in the Guard's cache.
func newRequestCtx(tb testing.TB, h fasthttp.RequestHandler, tok string) *fasthttp.RequestCtx {
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetMethod(fiber.MethodGet)
	fctx.Request.SetRequestURI("/api")
	fctx.Request.Header.Set(fiber.HeaderAuthorization, "Bearer "+tok)
	serve(h, fctx)
	if s := fctx.Response.StatusCode(); s != fiber.StatusOK {
		tb.Fatalf("status %d: %s", s, fctx.Response.Body())
	}
	return fctx
}

// serve is one request on a kept-alive fasthttp connection: fasthttp's server drops the
// user values after each request (keeping their storage), so the benchmark does too.
func serve(h fasthttp.RequestHandler, fctx *fasthttp.RequestCtx) {
	fctx.ResetUserValues()
	h(fctx)
}

// BenchmarkMiddleware compares a bare fiber route with the same route behind
// authfiber.Middleware and a cached token, on the fasthttp handler directly. The
// guard.VerifyToken case is the floor: the Guard's cache hit alone, which the middleware
// cannot avoid; what authfiber adds of its own is (authfiber - bare) - floor.
func BenchmarkMiddleware(b *testing.B) {
	g, tok, apps := benchGuardApps(b)
	for _, a := range apps {
		b.Run(a.name, func(b *testing.B) {
			fctx := newRequestCtx(b, a.h, tok)
			b.ReportAllocs()
			for b.Loop() {
				serve(a.h, fctx)
			}
		})
	}
	b.Run("guard.VerifyToken", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.VerifyToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMiddlewareParallel is BenchmarkMiddleware on every core, one RequestCtx per
// goroutine, which is where lock contention in the cache would show.
func BenchmarkMiddlewareParallel(b *testing.B) {
	tok, apps := benchApps(b)
	for _, a := range apps {
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				fctx := newRequestCtx(b, a.h, tok)
				for pb.Next() {
					serve(a.h, fctx)
				}
			})
		})
	}
}
