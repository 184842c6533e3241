package authgin_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
)

// nopWriter is the cheapest http.ResponseWriter: the benchmark measures routing and
// authentication, not response buffering.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkMiddleware compares a bare gin router with the same route behind
// authgin.Middleware and a cached token (the first request warms the Guard's cache).
//
// authgin's one allocation is the copy of c.Request that carries the Principal
// (authframe.RequestWithPrincipal, 352 B). The "keys" pairs put a middleware that sets a
// key first on both sides, as many real chains have (loggers, sessions): gin allocates
// c.Keys (a map header and its first group: 2 allocations, 336 B) on the first c.Set of
// each request, whoever makes it. "gin.BasicAuth" is gin's own auth middleware, which
// stores its user with c.Set.
func BenchmarkMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	g := newGuard(b)
	tok := tokenFor(b, g, "bench")
	ok := func(c *gin.Context) { c.Status(http.StatusOK) }
	setKey := func(c *gin.Context) { c.Set("tenant", "t1"); c.Next() }
	router := func(mw ...gin.HandlerFunc) *gin.Engine {
		r := gin.New()
		r.Use(mw...)
		r.GET("/api", ok)
		return r
	}

	bearer := "Bearer " + tok
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pass"))

	for _, bc := range []struct {
		name, authz string
		h           http.Handler
	}{
		{"bare", bearer, router()},
		{"authgin", bearer, router(authgin.Middleware(g))},
		{"keys/bare", bearer, router(setKey)},
		{"keys/authgin", bearer, router(setKey, authgin.Middleware(g))},
		{"gin.BasicAuth", basic, router(gin.BasicAuth(gin.Accounts{"user": "pass"}))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api", nil)
			req.Header.Set("Authorization", bc.authz)
			w := &nopWriter{h: http.Header{}}
			rec := httptest.NewRecorder()
			bc.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("warm-up answered %d: %s", rec.Code, rec.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(w, req)
			}
		})
	}
}
