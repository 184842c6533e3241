//go:build !race

package authfiber_test

import "testing"

// TestMiddlewareAllocations holds the hot path to its budget: a cached bearer token costs
// at most one allocation more than a bare fiber route. (The race detector adds its own
// allocations, hence the build tag.)
func TestMiddlewareAllocations(t *testing.T) {
	tok, apps := benchApps(t)
	allocs := map[string]float64{}
	for _, a := range apps {
		fctx := newRequestCtx(t, a.h, tok)
		allocs[a.name] = testing.AllocsPerRun(1000, func() { serve(a.h, fctx) })
	}
	if extra := allocs["authfiber"] - allocs["bare"]; extra > 1 {
		t.Fatalf("authfiber.Middleware costs %.1f allocations per request over bare fiber (%v)", extra, allocs)
	}
	t.Logf("allocations per request: %v", allocs)
}
