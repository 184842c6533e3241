package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/authframe/authframe/examples/internal/app"
)

// newEcho is the example with the default configuration: memory store, in-process cache,
// a fresh signing key.
func newEcho(t *testing.T) *echo.Echo {
	t.Helper()
	cfg, err := app.LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return Echo(a)
}

func do(e *echo.Echo, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// expectError checks the contract's error shape.
func expectError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, status, code)
	}
	if body.RequestID == "" || body.RequestID != rec.Header().Get("X-Request-ID") {
		t.Fatalf("request_id %q, X-Request-ID %q", body.RequestID, rec.Header().Get("X-Request-ID"))
	}
}

// TestUnknownRoutesAreContractErrors: echo's own 404 and 405 come in the contract's shape,
// and an unknown path under /api is a 404, not the 401 of an /api group's middleware.
func TestUnknownRoutesAreContractErrors(t *testing.T) {
	e := newEcho(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/no/such/route", http.StatusNotFound},
		{"GET", "/api/no-such-route", http.StatusNotFound},
		{"DELETE", "/api/me", http.StatusMethodNotAllowed},
		{"GET", "/auth/token", http.StatusMethodNotAllowed},
	} {
		expectError(t, do(e, httptest.NewRequest(tc.method, tc.path, nil)), tc.status, "invalid_request")
	}
}

type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the body of an encoded request was read")
	return 0, errors.New("must not be read")
}

// TestAnEncodedEchoBodyIsRefusedUnread covers the app's own body reader, as the adapter's
// tests cover its handlers': a gzip body could inflate to gigabytes before its size was
// known.
func TestAnEncodedEchoBodyIsRefusedUnread(t *testing.T) {
	e := newEcho(t)
	post := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(e, req)
	}
	creds := `{"username":"echo-user","password":"password123"}`
	if rec := post("/auth/register", creds); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if rec := post("/auth/token", creds); rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &pair) != nil {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}

	req := httptest.NewRequest("POST", "/api/echo", unreadable{t})
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	rec := do(e, req)
	expectError(t, rec, http.StatusUnsupportedMediaType, "invalid_request")
	if rec.Header().Get("Accept-Encoding") != "identity" {
		t.Fatalf("Accept-Encoding %q", rec.Header().Get("Accept-Encoding"))
	}
}
