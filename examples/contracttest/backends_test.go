package contracttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authframe/authframe/examples/internal/testenv"
)

// backendEnv returns the environment for a shared store or cache, or skips when the
// integration variables are unset (CI sets them).
func backendEnv(t *testing.T, storeName, cacheName string) []string {
	t.Helper()
	env := []string{"AUTHFRAME_STORE=" + storeName, "AUTHFRAME_CACHE=" + cacheName}
	// Every test gets a key prefix and a schema of its own, removed when it ends: the
	// servers are shared with every other test and every earlier run.
	if storeName == "redis" || cacheName == "redis" {
		u := os.Getenv("AUTHFRAME_TEST_REDIS_URL")
		if u == "" {
			skipOrFail(t, "AUTHFRAME_TEST_REDIS_URL is unset; run with AUTHFRAME_TEST_REDIS_URL=redis://127.0.0.1:6379/0")
		}
		env = append(env, "REDIS_URL="+u, testenv.RedisPrefix(t, u))
	}
	if storeName == "postgres" {
		u := os.Getenv("AUTHFRAME_TEST_DATABASE_URL")
		if u == "" {
			skipOrFail(t, "AUTHFRAME_TEST_DATABASE_URL is unset; run with AUTHFRAME_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'")
		}
		env = append(env, "DATABASE_URL="+u, testenv.DBSchema(t, u))
	}
	return env
}

func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// keyFile writes a fresh P-256 key so that restarted and sibling instances share it.
func keyFile(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	p := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var backendCases = []struct{ store, cache string }{
	{"redis", "lru"},
	{"postgres", "lru"},
	{"memory", "redis"},
	{"redis", "redis"},
	{"postgres", "redis"},
}

// TestContractOnSharedBackends runs the contract on each store and cache combination.
func TestContractOnSharedBackends(t *testing.T) {
	for _, bc := range backendCases {
		t.Run(bc.store+"+"+bc.cache, func(t *testing.T) {
			env := backendEnv(t, bc.store, bc.cache)
			adminPass := "admin-pass-backends-0123"
			env = append(env, "AUTHFRAME_ADMIN_USER=root", "AUTHFRAME_ADMIN_PASSWORD="+adminPass)
			proc := Start(t, "nethttp", env...)
			Run(t, Target{Base: proc.Base, AdminUser: "root", AdminPassword: adminPass, CookieName: "__Host-session", Secrets: &Secrets{}})
		})
	}
}

// TestRestartSurvival: on a persistent store, tokens, refresh tokens and sessions survive
// a restart of the process with the same key file.
func TestRestartSurvival(t *testing.T) {
	for _, storeName := range []string{"redis", "postgres"} {
		t.Run(storeName, func(t *testing.T) {
			env := append(backendEnv(t, storeName, "lru"), "AUTHFRAME_KEY_FILE="+keyFile(t), "AUTHFRAME_ISSUER=http://authframe.restart.test")
			proc := Start(t, "nethttp", env...)
			tg := Target{Base: proc.Base, CookieName: "__Host-session", Secrets: &Secrets{}}
			name, pass := tg.Register(t, "restart")
			pair := tg.Token(t, name, pass)
			cookie, csrf, _ := tg.Session(t, name, pass)
			proc.Restart(t)
			Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken}), 200, "")
			Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Cookie: cookie}), 200, "")
			Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/echo", Cookie: cookie, CSRF: csrf, Raw: "{}", ContentType: "application/json"}), 200, "")
			Expect(t, refresh(t, tg, pair.RefreshToken), 200, "")
			tg.Token(t, name, pass)
		})
	}
}

// TestRevocationAcrossInstances: two instances sharing a store (and optionally the Redis
// cache) form one service; a logout or session deletion on one is enforced by the other
// within one second.
func TestRevocationAcrossInstances(t *testing.T) {
	for _, bc := range backendCases {
		if bc.store == "memory" {
			continue
		}
		t.Run(bc.store+"+"+bc.cache, func(t *testing.T) {
			env := append(backendEnv(t, bc.store, bc.cache), "AUTHFRAME_KEY_FILE="+keyFile(t), "AUTHFRAME_ISSUER=http://authframe.cluster.test")
			a := Start(t, "nethttp", env...)
			b := Start(t, "nethttp", env...)
			ta := Target{Base: a.Base, CookieName: "__Host-session", Secrets: &Secrets{}}
			tb := Target{Base: b.Base, CookieName: "__Host-session", Secrets: &Secrets{}}
			name, pass := ta.Register(t, "twin")
			pair := ta.Token(t, name, pass)
			// B has verified (and cached) the token before the revocation.
			Expect(t, tb.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken}), 200, "")
			Expect(t, tb.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken}), 200, "")
			Expect(t, ta.Do(t, Req{Method: "POST", Path: "/auth/logout", Bearer: pair.AccessToken}), 204, "")
			start := time.Now()
			waitStatus(t, tb, Req{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken}, 401, time.Second)
			t.Logf("logout on A enforced on B after %v", time.Since(start))

			// Session deletion on B stops a token cached on A.
			p2 := ta.Token(t, name, pass)
			Expect(t, ta.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: p2.AccessToken}), 200, "")
			var sid string
			for _, s := range listSessions(t, tb, Req{Bearer: p2.AccessToken}).Sessions {
				if s.Current {
					sid = s.ID
				}
			}
			other := tb.Token(t, name, pass)
			Expect(t, tb.Do(t, Req{Method: "DELETE", Path: "/api/sessions/" + url.PathEscape(sid), Bearer: other.AccessToken}), 204, "")
			start = time.Now()
			waitStatus(t, ta, Req{Method: "GET", Path: "/api/me", Bearer: p2.AccessToken}, 401, time.Second)
			t.Logf("session deletion on B enforced on A after %v", time.Since(start))
		})
	}
}

func waitStatus(t *testing.T, tg Target, r Req, status int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp := tg.Do(t, r)
		if resp.StatusCode == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still %d after %v, want %d", r.Method, r.Path, resp.StatusCode, within, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDependencyOutage starts a private redis-server, runs an app on it, kills the server:
// requests get 503 (never 500) within a second and /healthz says 503; when the server
// returns, every route works again by itself within two seconds and nothing is lost.
func TestDependencyOutage(t *testing.T) {
	if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
		skipOrFail(t, "redis-server is not installed")
	}
	srv := startRedis(t)
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail_open=%v", failOpen), func(t *testing.T) {
			env := []string{"AUTHFRAME_STORE=redis", "AUTHFRAME_CACHE=redis", "REDIS_URL=" + srv.url}
			if failOpen {
				env = append(env, "AUTHFRAME_FAIL_OPEN=1")
			}
			proc := Start(t, "nethttp", env...)
			tg := Target{Base: proc.Base, CookieName: "__Host-session", Secrets: &Secrets{}}
			name, pass := tg.Register(t, "outage")
			pair := tg.Token(t, name, pass)
			cookie, _, _ := tg.Session(t, name, pass)
			Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken}), 200, "")

			srv.stop(t)
			// The app learns of the outage when its subscriptions drop, a moment after the
			// server goes: until then a cached token's revocation status is still known.
			// Within a second every request must answer as below.
			want := 503
			if failOpen {
				want = 200
			}
			waitStatus(t, tg, Req{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken}, want, time.Second)
			for i := 0; i < 5; i++ {
				for _, r := range []Req{
					{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken},
					{Method: "GET", Path: "/api/me", Cookie: cookie},
					{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": name, "password": pass}},
					{Method: "GET", Path: "/healthz"},
				} {
					start := time.Now()
					resp := tg.Do(t, r)
					took := time.Since(start)
					if took > time.Second {
						t.Fatalf("%s %s took %v with Redis down", r.Method, r.Path, took)
					}
					want := 503
					if failOpen && r.Bearer != "" {
						want = 200
					}
					if resp.StatusCode != want {
						t.Fatalf("%s %s with Redis down = %d %s, want %d", r.Method, r.Path, resp.StatusCode, resp.Body, want)
					}
					if r.Path != "/healthz" && want == 503 {
						Expect(t, resp, 503, "unavailable")
					}
				}
			}
			if body := string(tg.Do(t, Req{Method: "GET", Path: "/healthz"}).Body); !strings.Contains(body, `"ok":false`) {
				t.Fatalf("healthz does not say which dependency is down: %s", body)
			}
			srv.start(t)
			back := time.Now()
			waitStatus(t, tg, Req{Method: "GET", Path: "/healthz"}, 200, 2*time.Second)
			waitStatus(t, tg, Req{Method: "GET", Path: "/api/me", Cookie: cookie}, 200, 2*time.Second)
			waitStatus(t, tg, Req{Method: "GET", Path: "/api/me", Bearer: pair.AccessToken}, 200, 2*time.Second)
			t.Logf("recovered %v after Redis came back", time.Since(back))
			tg.Token(t, name, pass)
		})
	}
}

type redisServer struct {
	port int
	url  string
	dir  string
	pid  string
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	addr := freeAddr(t)
	var port int
	fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &port)
	s := &redisServer{port: port, url: fmt.Sprintf("redis://127.0.0.1:%d/0", port), dir: t.TempDir()}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *redisServer) start(t *testing.T) {
	t.Helper()
	s.pid = filepath.Join(s.dir, "redis.pid")
	// Append-only with fsync on every write: a killed server comes back with everything it
	// had acknowledged, as a production Redis used as a store would.
	cmd := execCommand("redis-server", "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--daemonize", "yes", "--pidfile", s.pid, "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("redis-server: %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if out, err := execCommand("redis-cli", "-p", fmt.Sprint(s.port), "ping").Output(); err == nil && strings.TrimSpace(string(out)) == "PONG" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
}

func (s *redisServer) stop(t *testing.T) {
	t.Helper()
	// A crash, not a clean shutdown.
	if b, err := os.ReadFile(s.pid); err == nil {
		var pid int
		fmt.Sscanf(strings.TrimSpace(string(b)), "%d", &pid)
		if p, err := os.FindProcess(pid); err == nil && pid > 0 {
			_ = p.Signal(syscall.SIGKILL)
		}
	}
	for i := 0; i < 100; i++ {
		if execCommand("redis-cli", "-p", fmt.Sprint(s.port), "ping").Run() != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var execCommand = exec.Command
