package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/examples/internal/app"
)

// seen is what reached the upstream: the request target exactly as it arrived, and the
// header lines.
type seen struct {
	Method     string
	RequestURI string
	Header     http.Header
	Body       string
}

// upstream is the service behind the gateway in the tests. It records every request and
// answers with handle, or, without one, reads the body and answers 200 "ok".
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newUpstream(t testing.TB, handle http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone()}
		if handle == nil {
			b, _ := io.ReadAll(r.Body)
			s.Body = string(b)
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, s)
		u.mu.Unlock()
		if handle != nil {
			handle(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// last returns the one request the upstream has seen since the previous call.
func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) != 1 {
		t.Fatalf("the upstream saw %d requests, want 1", len(u.reqs))
	}
	s := u.reqs[0]
	u.reqs = nil
	return s
}

// gw is a running gateway in front of an upstream.
type gw struct {
	app  *app.App
	base string
	addr string
	up   *upstream
}

// testTimeouts keep a dead upstream's 502 quick.
var testTimeouts = upstreamTimeouts{dial: time.Second, header: time.Second}

// startGateway runs the gateway on a real listener, configured from env ("NAME=value";
// AUTHFRAME_UPSTREAM is up's URL unless env gives it) as the binary would be.
func startGateway(t testing.TB, up *upstream, env ...string) *gw {
	t.Helper()
	if up != nil {
		env = append([]string{"AUTHFRAME_UPSTREAM=" + up.URL}, env...)
	}
	a := newApp(t, app.LoadGatewayConfig, env...)
	srv := httptest.NewServer(newGateway(a, testTimeouts))
	t.Cleanup(srv.Close)
	return &gw{app: a, base: srv.URL, addr: srv.Listener.Addr().String(), up: up}
}

// newApp builds an App from env read by load; later entries win.
func newApp(t testing.TB, load func(func(string) string) (app.Config, error), env ...string) *app.App {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	cfg, err := load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// login registers a fresh user with roles on a's Guard and returns it with an access
// token.
func login(t testing.TB, a *app.App, roles ...string) (authframe.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := a.Guard.Register(ctx, authframe.ClientInfo{}, uniqueName("gw"), "correct-horse-battery", roles...)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := a.Guard.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return u, pair.AccessToken
}

// do sends method path with the headers (name, value pairs) through the gateway.
func (g *gw) do(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// raw sends a request written line by line, exactly as given (header names in any case,
// repeated lines, unclean targets), and reads the answer.
func raw(t *testing.T, addr string, lines ...string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	lines = append(lines, "Host: gateway.test", "Connection: close")
	if _, err := io.WriteString(conn, strings.Join(lines, "\r\n")+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// expectError checks the contract's error answer: status, code, and a request_id that is
// the response's X-Request-ID.
func expectError(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d %s, want %d", resp.StatusCode, body, status)
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not the contract's JSON: %v", body, err)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %s with a message", e.Error, code)
	}
	if id := resp.Header.Get("X-Request-ID"); e.RequestID == "" || e.RequestID != id {
		t.Fatalf("request_id %q, X-Request-ID %q", e.RequestID, id)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// keyFile writes a fresh P-256 key, so that two instances can share it.
func keyFile(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
