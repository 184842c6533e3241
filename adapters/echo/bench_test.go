package authecho_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	authecho "github.com/authframe/authframe/adapters/echo"
)

// nopWriter is the cheapest http.ResponseWriter, so that the figures are the router's and
// the middleware's, not a recorder's.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func ok(c echo.Context) error { return c.NoContent(http.StatusOK) }

// BenchmarkMiddleware compares bare echo with the same route behind authecho.Middleware and
// a cached token (warmed before the loop). Two reference middlewares show what any echo v4
// middleware pays before doing anything: echo builds the chain again on every request (one
// closure: "noop"), and the first c.Set of a request makes the context's map ("set").
// authecho minus set is the Guard's cached verification (BenchmarkAuthenticate).
func BenchmarkMiddleware(b *testing.B) {
	g := newGuard(b)
	tok := tokenFor(b, g, "bench")
	noop := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return next(c) }
	}
	set := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set("k", g)
			return next(c)
		}
	}
	cases := []struct {
		name string
		mw   []echo.MiddlewareFunc
	}{
		{"bare", nil},
		{"echo_noop_middleware", []echo.MiddlewareFunc{noop}},
		{"echo_set_middleware", []echo.MiddlewareFunc{set}},
		{"authecho", []echo.MiddlewareFunc{authecho.Middleware(g)}},
	}
	for _, bc := range cases {
		e := echo.New()
		e.Use(bc.mw...)
		e.GET("/api", ok)
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := &nopWriter{h: http.Header{}}
			e.ServeHTTP(w, req)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkAuthenticate is the floor under BenchmarkMiddleware: the Guard's cached
// verification of the same token through this package's request view, without echo.
func BenchmarkAuthenticate(b *testing.B) {
	g := newGuard(b)
	tok := tokenFor(b, g, "bench")
	req := httptest.NewRequest("GET", "/api", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	view := authecho.Request(echo.New().NewContext(req, nil))
	ctx := req.Context()
	if _, err := g.Authenticate(ctx, view); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Authenticate(ctx, view); err != nil {
			b.Fatal(err)
		}
	}
}
