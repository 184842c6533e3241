package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/breaker"
)

// replyErr is an error the server sent, as go-redis types them.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

func TestOutcomes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want breaker.Outcome
	}{
		{nil, breaker.Success},
		{redis.Nil, breaker.Success},
		{replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), breaker.Success},
		{replyErr("LOADING Redis is loading the dataset in memory"), breaker.Failure},
		{io.EOF, breaker.Failure},
		{context.Canceled, breaker.Neutral},
	} {
		if got := outcome(c.err); got != c.want {
			t.Errorf("outcome(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestWhatCountsAsAFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"success is not", nil, false},
		{"a missing key is not", redis.Nil, false},
		{"a caller's cancellation is not", fmt.Errorf("get: %w", context.Canceled), false},
		{"a server's error reply is not", replyErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"a timeout is", context.DeadlineExceeded, true},
		{"a broken connection is", io.EOF, true},
		{"a loading server is", replyErr("LOADING Redis is loading the dataset in memory"), true},
		{"a cluster that is down is", replyErr("CLUSTERDOWN The cluster is down"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isFailure(tt.err); got != tt.want {
				t.Fatalf("isFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestBreakerFailsFastWhileRedisIsDownAndRecovers(t *testing.T) {
	_, s, p := feedOverProxy(t)
	s.br = breaker.New(3, time.Second)
	ctx := testCtx(t)
	p.cut()
	for i := range 3 {
		if _, _, err := s.GetSession(ctx, "s1"); err == nil || errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d with Redis down = %v, want a network error", i+1, err)
		}
	}
	start := time.Now()
	_, _, err := s.GetSession(ctx, "s1")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call with the circuit open = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 150*time.Millisecond { // under the 200ms dial timeout: no dial was tried
		t.Errorf("a refused call took %v", d)
	}
	if s.BreakerState() != "open" {
		t.Fatalf("BreakerState = %s, want open", s.BreakerState())
	}

	p.restore()
	// Ping always reaches Redis, so a health check closes the circuit at once.
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after restore: %v", err)
	}
	if s.BreakerState() != "closed" {
		t.Fatalf("BreakerState after a good Ping = %s", s.BreakerState())
	}
	if _, ok, err := s.GetSession(ctx, "s1"); ok || err != nil {
		t.Fatalf("GetSession after recovery = %v, %v", ok, err)
	}

	// Without a Ping, the first call after the cooldown is the probe.
	p.cut()
	for range 3 {
		_, _, _ = s.GetSession(ctx, "s1")
	}
	p.restore()
	if _, _, err := s.GetSession(ctx, "s1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call within the cooldown = %v, want ErrUnavailable", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, ok, err := s.GetSession(ctx, "s1"); ok || err != nil {
		t.Fatalf("probe after the cooldown = %v, %v", ok, err)
	}
	if s.BreakerState() != "closed" {
		t.Fatalf("BreakerState after a good probe = %s", s.BreakerState())
	}
}
