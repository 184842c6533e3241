package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// TestSentinelFailover promotes the replica through the Sentinel while a Store is in use:
// what was written before the failover is still there afterwards (it had reached the
// replica), the Store finds the new master by itself, and a refresh token spent before the
// failover stays spent.
func TestSentinelFailover(t *testing.T) {
	c := testSentinelClient(t)
	opt := sentinelOptions(t)
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: opt.SentinelAddrs[0]})
	t.Cleanup(func() { _ = sentinel.Close() })
	s := newTestStore(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	now := time.Now()

	se := store.Session{ID: "fo1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: "fo1", Hash: []byte("r1"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, "fo1", []byte("r1"), []byte("r2"), now); err != nil {
		t.Fatal(err)
	}
	// WAIT 1: the writes have reached the replica before it is promoted.
	if n, err := c.Wait(ctx, 1, 5000).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica = %d, %v", n, err)
	}

	before, err := sentinel.GetMasterAddrByName(ctx, opt.MasterName).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := sentinel.Failover(ctx, opt.MasterName).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		after, err := sentinel.GetMasterAddrByName(ctx, opt.MasterName).Result()
		if err == nil && after[1] != before[1] {
			t.Logf("master moved from port %s to %s", before[1], after[1])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover within 30s (master still %v)", before)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The Store keeps working on the new master: reads see the old writes, writes succeed.
	var got store.Session
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		g, ok, err := s.GetSession(cctx, "fo1")
		cancel()
		if err == nil && ok {
			if werr := s.TouchSession(ctx, "fo1", time.Now()); werr == nil {
				got = g
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Store did not recover after the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.UserID != "u1" {
		t.Fatalf("session after failover = %+v", got)
	}
	if _, err := s.RotateRefreshToken(ctx, "fo1", []byte("r1"), []byte("r3"), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("spending the spent token after the failover = %v, want ErrRefreshReused", err)
	}
	waitHealthyPair(t, sentinel, opt.MasterName)
}

// waitHealthyPair waits until the demoted master has rejoined as a replica, so that the
// next test (or run) finds the pair as .ci/redis-sentinel.sh leaves it.
func waitHealthyPair(t *testing.T, sentinel *redis.SentinelClient, master string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := sentinel.Master(ctx, master).Result()
		cancel()
		if err == nil && m["num-slaves"] == "1" && m["flags"] == "master" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the old master has not rejoined as a replica within 30s")
}
