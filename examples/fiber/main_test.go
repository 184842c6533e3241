package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/examples/internal/app"
	"github.com/authframe/authframe/examples/internal/slowclient"
)

// newApp is the example's App with the default configuration: memory store, in-process
// cache, a fresh signing key.
func newApp(t *testing.T, tweak func(*app.Config)) *app.App {
	t.Helper()
	cfg, err := app.LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// gzipZeros is a gzip stream of mib MiB of zeros, made of one compressed MiB repeated
// (gzip readers read concatenated members as one stream), so that building a bomb costs
// the test a single MiB of compression.
func gzipZeros(t *testing.T, mib int) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(member.Bytes(), mib)
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestGzipBombIsRefusedUnread defends the 64 KiB body limit against Fiber's c.Body(),
// which decompresses every Content-Encoding, chains included, without a limit before the
// handler can measure anything: a few hundred kilobytes would allocate gigabytes.
func TestGzipBombIsRefusedUnread(t *testing.T) {
	f := App(newApp(t, nil))
	layer := gzipZeros(t, 200)
	for _, tc := range []struct {
		name     string
		encoding string
		body     []byte
	}{
		{"200 KiB of gzip that inflates to 200 MiB", "gzip", layer},
		{"gzip over gzip that inflates to 1.1 GiB", "gzip, gzip", gzipBytes(t, gzipZeros(t, 1100))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/auth/token", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", tc.encoding)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res, err := f.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("a %d-byte body allocated %d MiB", len(tc.body), alloc>>20)
			}
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if res.StatusCode != 415 || json.Unmarshal(body, &e) != nil || e.Error.Code != "invalid_request" {
				t.Fatalf("%d %s, want 415 invalid_request", res.StatusCode, body)
			}
		})
	}
}

// TestATrickledBodyIsCutOffByTheReadTimeout defends the Fiber example against a client
// that keeps a request, and its connection, alive forever by trickling the body: fasthttp
// reads the whole body before any handler runs, so only the server's deadline can end it.
func TestATrickledBodyIsCutOffByTheReadTimeout(t *testing.T) {
	const timeout = time.Second
	f := App(newApp(t, func(c *app.Config) { c.Timeouts = app.Timeouts{Read: timeout} }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.Listener(ln)
	t.Cleanup(func() { f.Shutdown() })
	took, closed := slowclient.Trickle(t, ln.Addr().String(), timeout+4*time.Second)
	if !closed {
		t.Fatalf("the connection was still open after %v", took.Round(time.Millisecond))
	}
	if took < timeout/2 || took > timeout+3*time.Second {
		t.Fatalf("the connection was closed after %v, want about %v", took.Round(time.Millisecond), timeout)
	}
}

// TestFrameworkErrorsInTheContractShape: an unknown path is Fiber's 404 and a known path
// with another method its 405, both answered by errorHandler as the contract's errors.
func TestFrameworkErrorsInTheContractShape(t *testing.T) {
	f := App(newApp(t, nil))
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/no/such/route", 404},
		{"GET", "/auth/token", 405},
		{"PUT", "/api/me", 405},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Header.Set("X-Request-ID", "rid-"+strings.ReplaceAll(tc.path, "/", "."))
			res, err := f.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var e struct {
				Error     struct{ Code, Message string } `json:"error"`
				RequestID string                         `json:"request_id"`
			}
			if res.StatusCode != tc.status || json.Unmarshal(body, &e) != nil || e.Error.Code != "invalid_request" || e.Error.Message == "" {
				t.Fatalf("%d %s, want %d invalid_request", res.StatusCode, body, tc.status)
			}
			if id := res.Header.Get("X-Request-ID"); e.RequestID != id || id != req.Header.Get("X-Request-ID") {
				t.Fatalf("request_id %q, header %q", e.RequestID, id)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

// TestMeAndHealthShapes pins the JSON the example writes itself: arrays, never null.
func TestMeAndHealthShapes(t *testing.T) {
	a := newApp(t, nil)
	f := App(a)
	res, err := f.Test(httptest.NewRequest("GET", "/healthz", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var health struct {
		Status       string `json:"status"`
		Dependencies []any  `json:"dependencies"`
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &health) != nil || health.Status != "ok" || health.Dependencies == nil {
		t.Fatalf("healthz: %d %s", res.StatusCode, body)
	}

	ctx := context.Background()
	u, err := a.Guard.Register(ctx, authframe.ClientInfo{}, "nora", "password123")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := a.Guard.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	res, err = f.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	var me map[string]any
	if res.StatusCode != 200 || json.Unmarshal(body, &me) != nil {
		t.Fatalf("me: %d %s", res.StatusCode, body)
	}
	if _, ok := me["roles"].([]any); !ok || me["username"] != "nora" || me["auth_method"] != "bearer" || me["user_id"] != u.ID {
		t.Fatalf("me %s", body)
	}
	if _, ok := me["permissions"].([]any); !ok {
		t.Fatalf("me %s: permissions is not an array", body)
	}
}
