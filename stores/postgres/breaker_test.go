package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authframe/authframe/core/store"
)

func TestIsFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"success is not a failure", nil, false},
		{"no rows is an answer", pgx.ErrNoRows, false},
		{"a wrapped no rows is an answer", fmt.Errorf("x: %w", pgx.ErrNoRows), false},
		{"a unique violation is an answer", &pgconn.PgError{Code: "23505"}, false},
		{"a conflict made of a unique violation is an answer", store.ErrConflict, false},
		{"a syntax error is an answer", &pgconn.PgError{Code: "42601"}, false},
		{"a connection exception is a failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections is a failure", &pgconn.PgError{Code: "53300"}, true},
		{"an administrator shutdown is a failure", &pgconn.PgError{Code: "57P01"}, true},
		{"a server starting up is a failure", &pgconn.PgError{Code: "57P03"}, true},
		{"a timeout is a failure", context.DeadlineExceeded, true},
		{"a network error is a failure", &net.OpError{Op: "dial", Err: errors.New("refused")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isFailure(tt.err); got != tt.want {
				t.Fatalf("isFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// silentServer accepts TCP connections and never answers, like a paused or partitioned
// PostgreSQL.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestAnUnansweringServerFailsFastOnceTheBreakerOpens(t *testing.T) {
	addr := silentServer(t)
	p, err := pgxpool.New(context.Background(), "postgres://nobody@"+addr+"/none?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st, err := New(context.Background(), p, WithMigrate(false), WithCleanupInterval(0),
		WithTimeout(100*time.Millisecond), WithCircuitBreaker(3, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	ctx := context.Background()
	for i := range 3 {
		start := time.Now()
		_, _, err := st.GetSession(ctx, "s")
		if err == nil || errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d: GetSession = %v, want a timeout", i, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("call %d took %v despite the 100 ms timeout", i, d)
		}
	}
	if got := st.BreakerState(); got != "open" {
		t.Fatalf("BreakerState after 3 timeouts = %q, want open", got)
	}
	start := time.Now()
	_, err = st.RotateRefreshToken(ctx, "s", []byte("a"), []byte("b"), time.Now())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("with the breaker open, RotateRefreshToken = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 90*time.Millisecond { // well under the 100 ms timeout: no call was made
		t.Fatalf("an open breaker took %v to answer", d)
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Fatal("an unavailable store must not say not found")
	}
}

func TestACallerGivingUpIsNotAFailure(t *testing.T) {
	addr := silentServer(t)
	p, err := pgxpool.New(context.Background(), "postgres://nobody@"+addr+"/none?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st, err := New(context.Background(), p, WithMigrate(false), WithCleanupInterval(0), WithCircuitBreaker(1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := st.GetSession(ctx, "s"); err == nil {
		t.Fatal("GetSession on a silent server succeeded")
	}
	if got := st.BreakerState(); got != "closed" {
		t.Fatalf("BreakerState after the caller's own deadline = %q, want closed", got)
	}
}

func TestPingClosesTheBreakerWhenPostgresAnswers(t *testing.T) {
	st := newTestStore(t, WithCircuitBreaker(1, time.Hour))
	st.br.Record(outcome(errors.New("boom")), false)
	if st.BreakerState() != "open" {
		t.Fatal("the breaker did not open")
	}
	if _, _, err := st.GetSession(testCtx(t), "s"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GetSession with the breaker open = %v", err)
	}
	if err := st.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st.BreakerState() != "closed" {
		t.Fatal("a successful Ping did not close the breaker")
	}
	if _, ok, err := st.GetSession(testCtx(t), "s"); ok || err != nil {
		t.Fatalf("GetSession after recovery = %v, %v", ok, err)
	}
}

func TestConflictsAreAnswersNotFailures(t *testing.T) {
	st := newTestStore(t, WithCircuitBreaker(1, time.Hour))
	ctx := testCtx(t)
	now := time.Now()
	se := store.Session{ID: "s1", UserID: "u1", Kind: "cookie", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	k := store.APIKey{ID: "k1", UserID: "u1", Hash: []byte("h1"), CreatedAt: now}
	cl := store.Client{ID: "c1", SecretHash: []byte("sh1"), CreatedAt: now}
	u := store.User{ID: "u1", Username: "alice", CreatedAt: now, UpdatedAt: now}
	for _, tc := range []struct {
		name   string
		create func() error
	}{
		{"a taken session id", func() error { return st.CreateSession(ctx, se) }},
		{"a taken API key id", func() error { return st.CreateAPIKey(ctx, k) }},
		{"a taken API key hash", func() error {
			other := k
			other.ID = "k2"
			return st.CreateAPIKey(ctx, other)
		}},
		{"a taken client id", func() error { return st.CreateClient(ctx, cl) }},
		{"a taken username", func() error { return st.CreateUser(ctx, u) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.create(); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Fatal(err)
			}
			if err := tc.create(); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second creation = %v, want ErrConflict", err)
			}
			if got := st.BreakerState(); got != "closed" {
				t.Fatalf("BreakerState after a conflict = %q, want closed: a conflict is PostgreSQL's answer", got)
			}
		})
	}
}
