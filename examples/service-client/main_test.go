package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// runMainEnv makes the test binary run main instead of the tests, so that the exit status
// of the command itself is tested without a separate build.
const runMainEnv = "AUTHFRAME_SERVICE_CLIENT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// appBinary builds the net/http example app once per test run.
func appBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "service-client-test-"); buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "nethttp"), "../nethttp").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ../nethttp: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "nethttp")
}

func TestConfigFromEnv(t *testing.T) {
	full := map[string]string{
		"AUTHFRAME_URL": "http://127.0.0.1:8080/", "AUTHFRAME_CLIENT_ID": "cl_abc", "AUTHFRAME_CLIENT_SECRET": "s3cret",
		"AUTHFRAME_SCOPES": "read:reports, write:notes",
	}
	with := func(k, v string) func(string) string {
		return func(name string) string {
			if name == k {
				return v
			}
			return full[name]
		}
	}
	cfg, err := ConfigFromEnv(with("", ""))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "http://127.0.0.1:8080" || cfg.ClientID != "cl_abc" || cfg.ClientSecret != "s3cret" || !slices.Equal(cfg.Scopes, []string{"read:reports", "write:notes"}) {
		t.Fatalf("ConfigFromEnv = %+v", cfg)
	}
	if cfg, _ := ConfigFromEnv(with("AUTHFRAME_SCOPES", "")); len(cfg.Scopes) != 0 {
		t.Fatalf("no AUTHFRAME_SCOPES gave scopes %q, want none (all of the client's)", cfg.Scopes)
	}
	for _, c := range []struct{ name, value string }{
		{"AUTHFRAME_URL", ""},
		{"AUTHFRAME_URL", "127.0.0.1:8080"},
		{"AUTHFRAME_URL", "ftp://host"},
		{"AUTHFRAME_URL", "http://host/?q=1"},
		{"AUTHFRAME_CLIENT_ID", ""},
		{"AUTHFRAME_CLIENT_SECRET", ""},
	} {
		if _, err := ConfigFromEnv(with(c.name, c.value)); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", c.name, c.value, err)
		}
	}
}

// app is an example app running as its own process.
type app struct {
	base  string
	admin string
}

// startApp builds the net/http example app and runs it with env until the test ends.
func startApp(t *testing.T, env ...string) app {
	t.Helper()
	bin := appBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	adminPass := "service-client-admin-0123"
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append(env, "ADDR="+addr, "AUTHFRAME_ADMIN_USER=root", "AUTHFRAME_ADMIN_PASSWORD="+adminPass)...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	a := app{base: "http://" + addr}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(a.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("the app exited at start:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the app did not start")
		}
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	a.post(t, "/auth/token", "", map[string]string{"username": "root", "password": adminPass}, &tok)
	a.admin = tok.AccessToken
	return a
}

func (a app) post(t *testing.T, path, bearer string, body, dst any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", a.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 || json.NewDecoder(resp.Body).Decode(dst) != nil {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

// client registers a service client with scopes.
func (a app) client(t *testing.T, scopes ...string) (id, secret string) {
	t.Helper()
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	a.post(t, "/admin/clients", a.admin, map[string]any{"name": "service-client test", "scopes": scopes}, &c)
	return c.ID, c.Secret
}

// The client keeps getting 200 across its tokens' expiry: with two-second tokens replaced
// half a second early, a run of about four seconds needs a new token at least twice, and
// reuses each token for several calls.
func TestRunFetchesANewTokenWhenItExpires(t *testing.T) {
	a := startApp(t, "AUTHFRAME_ACCESS_TTL=2s")
	id, secret := a.client(t, "read:reports", "write:notes")
	var out bytes.Buffer
	cfg := Config{URL: a.base, ClientID: id, ClientSecret: secret, Scopes: []string{"read:reports"}, Every: 300 * time.Millisecond, Calls: 15, EarlyExpiry: 500 * time.Millisecond}
	if err := Run(t.Context(), cfg, &out); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	calls := regexp.MustCompile(`(?m) GET /api/reports: 200 OK$`).FindAllString(out.String(), -1)
	tokens := regexp.MustCompile(`(?m) new token: scope "read:reports", expires in 2s$`).FindAllString(out.String(), -1)
	if len(calls) != 15 || len(tokens) < 3 || len(tokens) > 5 {
		t.Fatalf("%d calls answered 200 with %d tokens, want 15 with 3 to 5:\n%s", len(calls), len(tokens), out.String())
	}
	if strings.Contains(out.String(), secret) {
		t.Fatal("the output shows the client secret")
	}
}

func TestRunStopsAtTheFirstFailure(t *testing.T) {
	a := startApp(t)
	id, secret := a.client(t, "write:notes")
	ctx := t.Context()
	var out bytes.Buffer
	err := Run(ctx, Config{URL: a.base, ClientID: id, ClientSecret: secret, Every: 10 * time.Millisecond, Calls: 5}, &out)
	if err == nil || !strings.Contains(err.Error(), "403") || strings.Count(out.String(), "GET /api/reports") != 1 {
		t.Fatalf("a client without read:reports: %v\n%s", err, out.String())
	}
	out.Reset()
	err = Run(ctx, Config{URL: a.base, ClientID: id, ClientSecret: "wrong-secret", Calls: 1}, &out)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(out.String(), "GET") {
		t.Fatalf("a wrong secret: %v\n%s", err, out.String())
	}
	// A cancelled context ends the run without an error.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(cctx, Config{URL: a.base, ClientID: id, ClientSecret: secret, Path: "/api/me", Every: time.Hour}, &bytes.Buffer{})
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after its context ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

// The command's exit status: 0 after its calls, 1 on a refused call or a missing variable.
func TestCommandExitStatus(t *testing.T) {
	a := startApp(t)
	id, secret := a.client(t, "read:reports")
	run := func(env []string, args ...string) (int, string) {
		cmd := exec.Command(os.Args[0], args...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AUTHFRAME_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, append(env, runMainEnv+"=1")...)
		out, err := cmd.CombinedOutput()
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	env := []string{"AUTHFRAME_URL=" + a.base, "AUTHFRAME_CLIENT_ID=" + id, "AUTHFRAME_CLIENT_SECRET=" + secret, "AUTHFRAME_SCOPES=read:reports"}
	if code, out := run(env, "-every", "50ms", "-n", "3"); code != 0 || strings.Count(out, ": 200 OK") != 3 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if code, out := run(env, "-n", "1", "-path", "/api/admin"); code != 1 || !strings.Contains(out, "403") {
		t.Fatalf("a refused call: exit %d:\n%s", code, out)
	}
	if code, out := run(env[:2], "-n", "1"); code != 1 || !strings.Contains(out, "AUTHFRAME_CLIENT_SECRET") {
		t.Fatalf("a missing secret: exit %d:\n%s", code, out)
	}
	if code, _ := run(env, "-every", "0s"); code != 2 {
		t.Fatalf("a zero interval: exit %d, want 2", code)
	}
}
