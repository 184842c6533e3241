package authframe_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
)

type otherKey struct{}

func TestRequestWithPrincipal(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "kept"))
	r := httptest.NewRequest("GET", "/x", nil).WithContext(parent)
	p := &authframe.Principal{UserID: "u1"}
	r2 := authframe.RequestWithPrincipal(r, p)
	if r2 == r || r2.URL != r.URL || r.Context() != parent {
		t.Fatal("RequestWithPrincipal must return a shallow copy and leave r alone")
	}
	if got, ok := authframe.PrincipalFromContext(r2.Context()); !ok || got != p {
		t.Fatalf("PrincipalFromContext = %v, %v", got, ok)
	}
	if _, ok := authframe.PrincipalFromContext(r.Context()); ok {
		t.Fatal("the original request carries a principal")
	}
	if r2.Context().Value(otherKey{}) != "kept" {
		t.Fatal("the parent's values are lost")
	}
	// Contexts derived from it still find the principal, and cancellation flows through.
	child, stop := context.WithTimeout(r2.Context(), time.Minute)
	defer stop()
	if got, ok := authframe.PrincipalFromContext(child); !ok || got != p {
		t.Fatal("a derived context lost the principal")
	}
	cancel()
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatal("cancelling the parent did not reach the derived context")
	}
	if allocs := testing.AllocsPerRun(100, func() { authframe.RequestWithPrincipal(r, p) }); allocs != 1 {
		t.Fatalf("RequestWithPrincipal allocates %v times, want 1", allocs)
	}
}
