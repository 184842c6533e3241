package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/examples/internal/app"
)

// newRouter is the example's router on the default configuration: memory store,
// in-process cache, a fresh signing key.
func newRouter(t *testing.T) (*app.App, *gin.Engine) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	cfg, err := app.LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, Router(a)
}

func do(r http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("not the contract's error shape: %v %s", rec.Header(), rec.Body)
	}
	if b.RequestID == "" || b.RequestID != rec.Header().Get("X-Request-ID") {
		t.Fatalf("request_id %q, X-Request-ID %q", b.RequestID, rec.Header().Get("X-Request-ID"))
	}
	return b.Error.Code
}

// The contract test accepts 404 or 405 for a wrong route; gin answers each in the
// contract's shape, the 405 with its Allow header.
func TestUnknownRoutesAndMethods(t *testing.T) {
	_, r := newRouter(t)
	rec := do(r, httptest.NewRequest("GET", "/no/such/route", nil))
	if rec.Code != 404 || errorCode(t, rec) != "invalid_request" {
		t.Fatalf("unknown route: %d %s", rec.Code, rec.Body)
	}
	rec = do(r, httptest.NewRequest("PUT", "/auth/token", nil))
	if rec.Code != 405 || errorCode(t, rec) != "invalid_request" || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("wrong method: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

func TestAPanicIsAnInternalError(t *testing.T) {
	_, r := newRouter(t)
	r.GET("/boom", func(*gin.Context) { panic("boom") })
	rec := do(r, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 || errorCode(t, rec) != "internal" {
		t.Fatalf("panic: %d %s", rec.Code, rec.Body)
	}
}

func TestRequestsHaveADeadline(t *testing.T) {
	_, r := newRouter(t)
	var left time.Duration
	r.GET("/deadline", func(c *gin.Context) {
		if d, ok := c.Request.Context().Deadline(); ok {
			left = time.Until(d)
		}
	})
	do(r, httptest.NewRequest("GET", "/deadline", nil))
	if left <= 0 || left > app.RequestTimeout {
		t.Fatalf("time left %v, want at most %v", left, app.RequestTimeout)
	}
}

func TestPublicRoutes(t *testing.T) {
	_, r := newRouter(t)
	rec := do(r, httptest.NewRequest("GET", "/healthz", nil))
	var health struct {
		Status       string `json:"status"`
		Dependencies []struct {
			Name string `json:"name"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &health); err != nil || rec.Code != 200 || health.Status != "ok" || len(health.Dependencies) == 0 {
		t.Fatalf("healthz: %d %s", rec.Code, rec.Body)
	}
	rec = do(r, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Header().Get("Content-Security-Policy") == "" {
		t.Fatalf("page: %d %v", rec.Code, rec.Header())
	}
}

// A user with no roles and no permissions gets [] for both, never null.
func TestMeListsAreNeverNull(t *testing.T) {
	a, r := newRouter(t)
	ctx := context.Background()
	u, err := a.Guard.Register(ctx, authframe.ClientInfo{}, "plain", "password123")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := a.Guard.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	rec := do(r, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"roles":[]`) || !strings.Contains(rec.Body.String(), `"permissions":[]`) {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
}
