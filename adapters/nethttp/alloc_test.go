//go:build !race

package authhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
)

// TestMiddlewareAllocations holds the hot path to its budget: a cached bearer token costs
// at most one allocation more than the bare standard mux (the request carrying the
// Principal), and the Guard's header lookups none. (The race detector adds allocations of
// its own, hence the build tag.)
func TestMiddlewareAllocations(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "alloc-user")
	bare := http.NewServeMux()
	bare.HandleFunc("GET /api", ok)
	guarded := http.NewServeMux()
	guarded.Handle("GET /api", authhttp.Middleware(g)(http.HandlerFunc(ok)))
	req := httptest.NewRequest("GET", "/api", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := &nopWriter{h: http.Header{}}
	guarded.ServeHTTP(w, req)
	allocs := map[string]float64{}
	for name, h := range map[string]http.Handler{"bare": bare, "authhttp": guarded} {
		allocs[name] = testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, req) })
	}
	if extra := allocs["authhttp"] - allocs["bare"]; extra > 1 {
		t.Fatalf("authhttp.Middleware costs %.1f allocations per request over the bare mux (%v)", extra, allocs)
	}
	q := authhttp.Request(req)
	if n := testing.AllocsPerRun(100, func() { q.Header("Authorization") }); n != 0 {
		t.Errorf("reading a single-line header costs %.0f allocations", n)
	}
}
