package rediscache_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	rediscache "github.com/authframe/authframe/cache/redis"
)

// fakeRedis answers commands from a go-redis hook, so the breaker can be driven through
// every state without a server: mode says how the next commands behave.
type fakeRedis struct {
	mode  atomic.Int32
	calls atomic.Int64
}

const (
	answer int32 = iota // GET answers "v", SET and PING answer OK
	miss                // GET answers nil
	refuse              // every command fails as a refused connection would
	hang                // every command waits for its deadline
)

var errRefused = errors.New("fake: connection refused")

func (f *fakeRedis) DialHook(redis.DialHook) redis.DialHook {
	return func(context.Context, string, string) (net.Conn, error) { return nil, errRefused }
}

func (f *fakeRedis) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		f.calls.Add(1)
		var err error
		switch f.mode.Load() {
		case refuse:
			err = errRefused
		case hang:
			<-ctx.Done()
			err = ctx.Err()
		case miss:
			err = redis.Nil
		default:
			switch c := cmd.(type) {
			case *redis.StringCmd:
				c.SetVal("v")
			case *redis.StatusCmd:
				c.SetVal("OK")
			}
		}
		if err != nil {
			cmd.SetErr(err)
		}
		return err
	}
}

func (f *fakeRedis) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(context.Context, []redis.Cmder) error { return errRefused }
}

func newFake(t *testing.T, opts ...rediscache.Option) (*rediscache.Cache, *fakeRedis) {
	t.Helper()
	f := &fakeRedis{}
	client := redis.NewClient(&redis.Options{Addr: "fake:6379", ContextTimeoutEnabled: true})
	client.AddHook(f)
	t.Cleanup(func() { _ = client.Close() })
	return newCache(t, client, opts...), f
}

func get(c *rediscache.Cache) error {
	_, _, err := c.Get(context.Background(), "k")
	return err
}

func TestBreaker(t *testing.T) {
	const openFor = 60 * time.Millisecond
	tests := []struct {
		name string
		run  func(t *testing.T, c *rediscache.Cache, f *fakeRedis)
	}{
		{"a healthy Redis keeps the breaker closed", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			for range 10 {
				if err := get(c); err != nil {
					t.Fatal(err)
				}
			}
			wantState(t, c, "closed")
		}},
		{"misses are successes", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			f.mode.Store(miss)
			for range 10 {
				v, ok, err := c.Get(context.Background(), "k")
				if err != nil || ok || v != nil {
					t.Fatalf("Get = %q, %v, %v; want a plain miss", v, ok, err)
				}
			}
			wantState(t, c, "closed")
		}},
		{"it opens after three consecutive failures and then spares Redis", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			f.mode.Store(refuse)
			for i := range 3 {
				if err := get(c); !errors.Is(err, errRefused) {
					t.Fatalf("call %d: %v, want the Redis error", i, err)
				}
			}
			wantState(t, c, "open")
			if c.Available() {
				t.Fatal("Available with the breaker open")
			}
			before := f.calls.Load()
			for range 100 {
				_, err := timed(t, "Get on an open breaker", func() error { return get(c) })
				if !errors.Is(err, rediscache.ErrUnavailable) {
					t.Fatalf("got %v, want ErrUnavailable", err)
				}
			}
			if n := f.calls.Load() - before; n != 0 {
				t.Fatalf("an open breaker let %d calls reach Redis", n)
			}
		}},
		{"a success in between resets the count", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			for range 5 {
				f.mode.Store(refuse)
				_ = get(c)
				_ = get(c)
				f.mode.Store(answer)
				if err := get(c); err != nil {
					t.Fatal(err)
				}
			}
			wantState(t, c, "closed")
		}},
		{"callers that give up do not open it", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			f.mode.Store(hang)
			for range 10 {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if _, _, err := c.Get(ctx, "k"); err == nil {
					t.Fatal("a cancelled Get succeeded")
				}
			}
			wantState(t, c, "closed")
		}},
		{"every write goes through it too", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			f.mode.Store(refuse)
			for range 3 {
				_ = c.Set(context.Background(), "k", []byte("v"), time.Minute)
			}
			wantState(t, c, "open")
			if err := c.Set(context.Background(), "k", []byte("v"), time.Minute); !errors.Is(err, rediscache.ErrUnavailable) {
				t.Fatalf("Set on an open breaker: %v", err)
			}
			if err := c.Ping(context.Background()); !errors.Is(err, rediscache.ErrUnavailable) {
				t.Fatalf("Ping on an open breaker: %v", err)
			}
		}},
		{"after the open period one good probe closes it", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			trip(t, c, f)
			time.Sleep(openFor + 10*time.Millisecond)
			wantState(t, c, "half-open")
			if !c.Available() {
				t.Fatal("not Available when half-open: nothing could probe")
			}
			f.mode.Store(answer)
			if err := get(c); err != nil {
				t.Fatalf("probe: %v", err)
			}
			wantState(t, c, "closed")
		}},
		{"a failed probe opens it again", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			trip(t, c, f)
			time.Sleep(openFor + 10*time.Millisecond)
			if err := get(c); !errors.Is(err, errRefused) {
				t.Fatalf("probe: %v", err)
			}
			wantState(t, c, "open")
		}},
		{"while the probe is out every other call is refused at once", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			trip(t, c, f)
			time.Sleep(openFor + 10*time.Millisecond)
			f.mode.Store(hang)
			before := f.calls.Load()
			probe := make(chan error)
			go func() { probe <- get(c) }()
			eventually(t, time.Second, "probe in flight", func() bool { return f.calls.Load() == before+1 })
			if err := get(c); !errors.Is(err, rediscache.ErrUnavailable) {
				t.Fatalf("second call during the probe: %v", err)
			}
			<-probe
		}},
		{"a hung Redis costs each call its timeout until the breaker opens", func(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
			f.mode.Store(hang)
			for range 3 {
				d, err := timed(t, "Get on a hung Redis", func() error { return get(c) })
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("got %v, want a deadline error", err)
				}
				if d < 15*time.Millisecond {
					t.Fatalf("returned after %v, before the 20ms timeout", d)
				}
			}
			wantState(t, c, "open")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newFake(t, rediscache.WithCircuitBreaker(3, openFor), rediscache.WithTimeout(20*time.Millisecond))
			tt.run(t, c, f)
		})
	}
}

func trip(t *testing.T, c *rediscache.Cache, f *fakeRedis) {
	t.Helper()
	f.mode.Store(refuse)
	for range 3 {
		_ = get(c)
	}
	wantState(t, c, "open")
}

func wantState(t *testing.T, c *rediscache.Cache, want string) {
	t.Helper()
	if got := c.BreakerState(); got != want {
		t.Fatalf("breaker is %q, want %q", got, want)
	}
}

func TestNew(t *testing.T) {
	good := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = good.Close() })
	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    []rediscache.Option
		wantErr string
		is      error
	}{
		{name: "the defaults are valid", client: good},
		{name: "every option together is valid", client: good, opts: []rediscache.Option{
			rediscache.WithPrefix("app:"), rediscache.WithTimeout(10 * time.Millisecond),
			rediscache.WithCircuitBreaker(3, 500*time.Millisecond), rediscache.WithLogger(nil),
		}},
		{name: "a nil client is refused", wantErr: "nil client"},
		{name: "a client that ignores deadlines is refused", client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), is: rediscache.ErrContextTimeout},
		{name: "a cluster client that ignores deadlines is refused", client: redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), is: rediscache.ErrContextTimeout},
		{name: "an empty prefix is refused", client: good, opts: []rediscache.Option{rediscache.WithPrefix("")}, wantErr: "WithPrefix"},
		{name: "a timeout given as a bare number is refused", client: good, opts: []rediscache.Option{rediscache.WithTimeout(50)}, wantErr: "WithTimeout"},
		{name: "negative failures are refused", client: good, opts: []rediscache.Option{rediscache.WithCircuitBreaker(-1, time.Second)}, wantErr: "WithCircuitBreaker"},
		{name: "a breaker that never closes is refused", client: good, opts: []rediscache.Option{rediscache.WithCircuitBreaker(5, 0)}, wantErr: "WithCircuitBreaker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := rediscache.New(context.Background(), tt.client, tt.opts...)
			if tt.wantErr == "" && tt.is == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = c.Close()
				return
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("New: %v, want %v", err, tt.is)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: %v, want it to name %s", err, tt.wantErr)
			}
		})
	}
}

func TestClose(t *testing.T) {
	c, _ := newFake(t)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := get(c); !errors.Is(err, rediscache.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := c.WatchRevocations(context.Background(), &recorder{}); !errors.Is(err, rediscache.ErrClosed) {
		t.Fatalf("WatchRevocations after Close: %v", err)
	}
}

// TestBreakerCountsOnlyCallsThatReachedRedis checks that a call whose deadline passes
// while it waits for a connection of a full pool is not counted by the breaker (it says
// nothing about Redis: 256 callers on a healthy Redis and a pool of 20 opened it), while
// the calls that held a connection still are, so a hung Redis still opens it.
func TestBreakerCountsOnlyCallsThatReachedRedis(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "fake:6379", ContextTimeoutEnabled: true, PoolSize: 1})
	t.Cleanup(func() { _ = client.Close() })
	c := newCache(t, client, rediscache.WithCircuitBreaker(3, time.Minute), rediscache.WithTimeout(50*time.Millisecond))
	h := &holdHook{release: make(chan struct{})}
	client.AddHook(h) // after New, whose ping must not wait for release
	// One call holds the only connection, past its deadline, until release is closed.
	held := make(chan error, 1)
	go func() { held <- get(c) }()
	eventually(t, 5*time.Second, "the first call reaches Redis", func() bool { return h.calls.Load() == 1 })
	// Ten more wait for it, and give up at their deadline.
	errs := make(chan error, 10)
	for range 10 {
		go func() { errs <- get(c) }()
	}
	for range 10 {
		if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a deadline error", err)
		}
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("%d calls reached Redis, want 1: the others were to wait for the connection", n)
	}
	wantState(t, c, "closed")
	close(h.release)
	if err := <-held; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the call holding the connection got %v, want a deadline error", err)
	}
	// The calls that reach Redis count (these two find no server): with the first, they
	// open the breaker.
	for range 2 {
		_ = get(c)
	}
	wantState(t, c, "open")
}

// holdHook makes every command wait until release is closed, past its deadline, and then
// fail with the deadline: a call that holds its connection for as long as a test needs.
// Once release is closed, commands go on to the (absent) server. calls counts the
// commands that reached it.
type holdHook struct {
	release chan struct{}
	calls   atomic.Int64
}

func (*holdHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *holdHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.calls.Add(1)
		select {
		case <-h.release:
			return next(ctx, cmd)
		default:
		}
		<-h.release
		cmd.SetErr(ctx.Err())
		return ctx.Err()
	}
}

func (*holdHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
