package rediscache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"

	rediscache "github.com/authframe/authframe/cache/redis"
)

const redisHelp = "set AUTHFRAME_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the Redis integration tests; make test sets it"

// skipOrFail skips with msg, or fails under AUTHFRAME_REQUIRE_INTEGRATION=1 (as in CI),
// where a missing server must not pass as a skipped test.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + "\n(AUTHFRAME_REQUIRE_INTEGRATION=1 forbids skipping)")
	}
	t.Skip(msg)
}

// redisURL is the shared test server, or a skip.
func redisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("AUTHFRAME_TEST_REDIS_URL")
	if u == "" {
		skipOrFail(t, redisHelp)
	}
	return u
}

// newClient connects to url with deadlines honoured, as rediscache requires.
func newClient(t testing.TB, url string, name string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("AUTHFRAME_TEST_REDIS_URL: %v", err)
	}
	opt.ContextTimeoutEnabled = true
	opt.ClientName = name
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s does not answer: %v", opt.Addr, err)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testPrefix gives each test its own key space and removes it afterwards (never FLUSH).
func testPrefix(t testing.TB, client redis.UniversalClient) string {
	t.Helper()
	p := "authframe-test:" + randomHex(6) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var keys []string
		iter := client.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			_ = client.Del(ctx, keys[:n]...).Err()
			keys = keys[n:]
		}
	})
	return p
}

// relaxed replaces the 50 ms default in tests and benchmarks on the shared server, which
// other suites load with their own Lua scripts: there a deadline now and then is expected
// and harmless (the Guard verifies locally), but it would fail a test that checks another
// property. The outage tests, which are about deadlines, keep the default on a private
// server.
var relaxed = rediscache.WithTimeout(time.Second)

func newCache(t testing.TB, client redis.UniversalClient, opts ...rediscache.Option) *rediscache.Cache {
	t.Helper()
	c, err := rediscache.New(context.Background(), client, opts...)
	if err != nil {
		t.Fatalf("rediscache.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// recorder is a store.RevocationWatcher that remembers what it was told.
type recorder struct {
	mu     sync.Mutex
	revs   []store.Revocation
	syncs  []bool
	synced bool
	at     map[string]time.Time // key -> first delivery
}

func (r *recorder) Revoked(rev store.Revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revs = append(r.revs, rev)
	if r.at == nil {
		r.at = map[string]time.Time{}
	}
	if _, ok := r.at[rev.Key]; !ok {
		r.at[rev.Key] = time.Now()
	}
}

func (r *recorder) Synced(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncs = append(r.syncs, ok)
	r.synced = ok
}

func (r *recorder) isSynced() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced
}

func (r *recorder) deliveredAt(key string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.at[key]
	return at, ok
}

func (r *recorder) syncHistory() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.syncs)
}

// watch runs c.WatchRevocations until the test ends.
func watch(t testing.TB, c *rediscache.Cache) *recorder {
	t.Helper()
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.WatchRevocations(ctx, rec) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("WatchRevocations returned %v after its context ended", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("WatchRevocations did not return within 5s of its context ending")
		}
	})
	return rec
}

// eventually polls cond every few milliseconds and reports how long it took to hold.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Guards.

var testSecret = []byte("rediscache-test-secret-0123456789abcdef")

// cheapArgon keeps registration fast; these tests are not about password hashing.
var cheapArgon = authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}

// feedless hides the memory store's own revocation feed, so that revocations reach
// other Guards only through the Redis cache: the path under test.
type feedless struct{ store.Store }

// events records what a Guard reports.
type events struct {
	mu  sync.Mutex
	all []audit.Event
}

func (e *events) Observe(_ context.Context, ev audit.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

// lastValidation is the last EventTokenValidated.
func (e *events) lastValidation() audit.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.all) - 1; i >= 0; i-- {
		if e.all[i].Type == audit.TokenValidated {
			return e.all[i]
		}
	}
	return audit.Event{}
}

func (e *events) count(typ audit.Type) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func newStore(t testing.TB) store.Store {
	s := memstore.New()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newGuard(t testing.TB, cache store.Cache, st store.Store, extra ...authframe.Option) (*authframe.Guard, *events) {
	t.Helper()
	ev := &events{}
	return newQuietGuard(t, cache, st, append(extra, authframe.WithObserver(ev))...), ev
}

// newQuietGuard has no observer, for benchmarks.
func newQuietGuard(t testing.TB, cache store.Cache, st store.Store, extra ...authframe.Option) *authframe.Guard {
	t.Helper()
	opts := []authframe.Option{
		authframe.WithHMACSecret(testSecret),
		authframe.WithIssuer("https://authframe.test"),
		authframe.WithAudience("rediscache-test"),
		authframe.WithStore(st),
		authframe.WithPasswords(cheapArgon),
		authframe.WithRateLimits(authframe.RateLimits{Login: 1_000_000, Window: time.Minute, Address: -1, Account: -1, Refresh: -1}),
	}
	if cache != nil {
		opts = append(opts, authframe.WithCache(authframe.CacheConfig{Shared: cache}))
	}
	g, err := authframe.New(append(opts, extra...)...)
	if err != nil {
		t.Fatalf("authframe.New: %v", err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// issue registers a fresh user on g and returns an access token of a new session.
func issue(t testing.TB, g *authframe.Guard) string {
	t.Helper()
	ctx := context.Background()
	name := "user-" + randomHex(6)
	if _, err := g.Register(ctx, authframe.ClientInfo{}, name, "correct horse battery", "member"); err != nil {
		t.Fatalf("Register: %v", err)
	}
	u, err := g.VerifyPassword(ctx, authframe.ClientInfo{IP: "192.0.2.1"}, name, "correct horse battery")
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	pair, err := g.IssueTokens(ctx, u, authframe.ClientInfo{IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	return pair.AccessToken
}

// Private redis-server, for tests that kill it.

type redisServer struct {
	t    testing.TB
	port int
	cmd  *exec.Cmd
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// startRedisServer runs a throwaway redis-server on a free port.
func startRedisServer(t testing.TB) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		skipOrFail(t, "redis-server is not on PATH; install it to run the outage tests")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &redisServer{t: t, port: port}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on port %d did not start: %v", s.port, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *redisServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // in case it was stopped
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func (s *redisServer) signal(sig syscall.Signal) {
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

func (s *redisServer) client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// timed runs f and fails the test if it stalls: a dead or hung Redis must never hold a
// request for long. The bound is deliberately loose (the real figure is tens of
// milliseconds at most); it separates "fails fast" from "waits on a socket timeout".
func timed(t testing.TB, what string, f func() error) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	err := f()
	d := time.Since(start)
	if d > stallBound {
		t.Errorf("%s took %v, want well under a second", what, d)
	}
	return d, err
}

const stallBound = 500 * time.Millisecond

func mustNotErr(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
