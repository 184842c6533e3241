//go:build !race

package authgin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
)

// TestMiddlewareAllocations holds the hot path to its budget: a cached bearer token costs
// one allocation over a bare gin route, the copy of c.Request that carries the Principal.
// (The race detector adds allocations of its own, hence the build tag.)
func TestMiddlewareAllocations(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "alloc")
	allocs := func(mw ...gin.HandlerFunc) float64 {
		r := gin.New()
		r.Use(mw...)
		r.GET("/api", func(c *gin.Context) { c.Status(http.StatusOK) })
		req := httptest.NewRequest("GET", "/api", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if rec := serve(r, req); rec.Code != http.StatusOK {
			t.Fatalf("warm-up answered %d: %s", rec.Code, rec.Body)
		}
		w := &nopWriter{h: http.Header{}}
		return testing.AllocsPerRun(1000, func() { r.ServeHTTP(w, req) })
	}
	bare, auth := allocs(), allocs(authgin.Middleware(g))
	if auth-bare > 1 {
		t.Fatalf("authgin.Middleware costs %.1f allocations per request over bare gin (%.1f)", auth-bare, bare)
	}
}
