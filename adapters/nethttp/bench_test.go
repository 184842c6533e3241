package authhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
)

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func ok(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// BenchmarkMiddleware compares the bare standard mux with the same route behind
// authhttp.Middleware and a cached token. "with-value" is the least any net/http
// middleware does to hand a value to the handler, r.WithContext(context.WithValue(...)),
// without authenticating anything: authhttp builds its request and context in one
// allocation where that pattern makes two.
func BenchmarkMiddleware(b *testing.B) {
	g := newGuard(b)
	tok := tokenFor(b, g, "bench")
	bare := http.NewServeMux()
	bare.HandleFunc("GET /api", ok)
	guarded := http.NewServeMux()
	guarded.Handle("GET /api", authhttp.Middleware(g)(http.HandlerFunc(ok)))
	type key struct{}
	var next http.Handler = http.HandlerFunc(ok)
	withValue := http.NewServeMux()
	withValue.Handle("GET /api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, g)))
	}))
	for name, h := range map[string]http.Handler{"bare": bare, "with-value": withValue, "authhttp": guarded} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := &nopWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
