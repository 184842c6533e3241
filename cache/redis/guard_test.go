package rediscache_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/store"

	rediscache "github.com/authframe/authframe/cache/redis"
)

func TestTwoGuardsShareVerifiedTokens(t *testing.T) {
	url := redisURL(t)
	ca, cb := newClient(t, url, ""), newClient(t, url, "")
	prefix := testPrefix(t, ca)
	st := newStore(t) // shared, so B can confirm sessions A created
	a, evA := newGuard(t, newCache(t, ca, rediscache.WithPrefix(prefix), relaxed), st)
	b, evB := newGuard(t, newCache(t, cb, rediscache.WithPrefix(prefix), relaxed), st)
	ctx := context.Background()
	tok := issue(t, a)

	steps := []struct {
		name     string
		g        *authframe.Guard
		ev       *events
		wantTier string
	}{
		{"the issuing instance verifies the token in full", a, evA, "verify"},
		{"then its in-process cache answers", a, evA, "lru"},
		{"another instance finds it in Redis", b, evB, "shared"},
		{"and then in its own in-process cache", b, evB, "lru"},
	}
	var first *authframe.Principal
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			p, err := s.g.VerifyToken(ctx, tok)
			mustNotErr(t, err, "VerifyToken")
			if e := s.ev.lastValidation(); e.Tier != s.wantTier || e.Result != "ok" {
				t.Fatalf("tier %q result %q, want tier %q result ok", e.Tier, e.Result, s.wantTier)
			}
			if first == nil {
				first = p
				return
			}
			if p.UserID != first.UserID || p.Username != first.Username || p.SessionID != first.SessionID ||
				p.TokenID != first.TokenID || !slices.Equal(p.Roles, first.Roles) || !p.Local {
				t.Fatalf("principal %+v differs from %+v", p, first)
			}
		})
	}

	t.Run("the entry expires no later than the token", func(t *testing.T) {
		n := 0
		iter := ca.Scan(ctx, 0, prefix+"v:*", 100).Iterator()
		for iter.Next(ctx) {
			n++
			ttl, _ := ca.PTTL(ctx, iter.Val()).Result()
			if ttl <= 0 || ttl > 15*time.Minute {
				t.Fatalf("entry PTTL %v, want (0, 15m]", ttl)
			}
		}
		if n != 1 {
			t.Fatalf("%d entries under the prefix, want 1", n)
		}
	})
}

// TestForgedEntriesAreIgnored plays someone who can write to this Redis but holds no key:
// an entry rewritten to grant admin, and another token's entry copied over this one, are
// both ignored (the Guard authenticates every value it reads) and the token is verified
// afresh, with the roles its own claims carry.
func TestForgedEntriesAreIgnored(t *testing.T) {
	url := redisURL(t)
	ca, cb := newClient(t, url, ""), newClient(t, url, "")
	prefix := testPrefix(t, ca)
	st := newStore(t)
	a, _ := newGuard(t, newCache(t, ca, rediscache.WithPrefix(prefix), relaxed), st)
	b, evB := newGuard(t, newCache(t, cb, rediscache.WithPrefix(prefix), relaxed), st)
	ctx := context.Background()
	entries := func() []string {
		var keys []string
		iter := ca.Scan(ctx, 0, prefix+"v:*", 100).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		return keys
	}
	entry := func(tok string) string {
		before := entries()
		_, err := a.VerifyToken(ctx, tok)
		mustNotErr(t, err, "VerifyToken")
		for _, k := range entries() {
			if !slices.Contains(before, k) {
				return k
			}
		}
		t.Fatal("no shared entry was written")
		return ""
	}
	tok, other := issue(t, a), issue(t, a)
	key, otherKey := entry(tok), entry(other)

	raw, err := ca.Get(ctx, key).Bytes()
	mustNotErr(t, err, "GET")
	forged := bytes.Replace(raw, []byte(`"member"`), []byte(`"admin"`), 1)
	if bytes.Equal(forged, raw) {
		t.Fatalf("entry %q does not carry the role", raw)
	}
	mustNotErr(t, ca.Set(ctx, key, forged, time.Minute).Err(), "SET")
	p, err := b.VerifyToken(ctx, tok)
	mustNotErr(t, err, "VerifyToken")
	if slices.Contains(p.Roles, "admin") || evB.lastValidation().Tier != "verify" {
		t.Fatalf("a rewritten entry was used: roles %v, tier %s", p.Roles, evB.lastValidation().Tier)
	}

	otherRaw, err := ca.Get(ctx, otherKey).Bytes()
	mustNotErr(t, err, "GET")
	mustNotErr(t, ca.Set(ctx, key, otherRaw, time.Minute).Err(), "SET")
	c, _ := newGuard(t, newCache(t, cb, rediscache.WithPrefix(prefix), relaxed), st)
	p, err = c.VerifyToken(ctx, tok)
	mustNotErr(t, err, "VerifyToken")
	if want, _ := a.VerifyToken(ctx, tok); p.UserID != want.UserID {
		t.Fatalf("a copied entry answered for another user: %s, want %s", p.UserID, want.UserID)
	}
}

// TestRevocationReachesOtherGuard revokes on A and measures how long B, holding the token
// in its in-process cache, keeps accepting it. The store is shared but its own feed is
// hidden, so the only way B can learn is Redis pub/sub; the session check cannot help
// either, since an LRU hit does not consult the store.
func TestRevocationReachesOtherGuard(t *testing.T) {
	url := redisURL(t)
	ca, cb := newClient(t, url, ""), newClient(t, url, "")
	prefix := testPrefix(t, ca)
	st := feedless{newStore(t)}
	a, _ := newGuard(t, newCache(t, ca, rediscache.WithPrefix(prefix), relaxed), st)
	b, evB := newGuard(t, newCache(t, cb, rediscache.WithPrefix(prefix), relaxed), st)
	ctx := context.Background()

	var lat []time.Duration
	for range 20 {
		tok := issue(t, a)
		p, err := a.VerifyToken(ctx, tok)
		mustNotErr(t, err, "VerifyToken on A")
		for range 2 { // shared tier, then LRU
			_, err := b.VerifyToken(ctx, tok)
			mustNotErr(t, err, "VerifyToken on B")
		}
		if e := evB.lastValidation(); e.Tier != "lru" {
			t.Fatalf("B answered from tier %q, want lru", e.Tier)
		}

		start := time.Now()
		mustNotErr(t, a.Logout(ctx, p), "Logout on A")
		for {
			_, err := b.VerifyToken(ctx, tok)
			if err != nil {
				if !errors.Is(err, authframe.ErrTokenRevoked) {
					t.Fatalf("B refused with %v, want ErrTokenRevoked", err)
				}
				break
			}
			if time.Since(start) > time.Second {
				t.Fatal("B still accepts the token a second after A revoked it")
			}
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		if e := evB.lastValidation(); e.Result != "revoked" || e.Tier != "lru" {
			t.Fatalf("B's refusal: result %q tier %q, want revoked from lru", e.Result, e.Tier)
		}
	}
	slices.Sort(lat)
	t.Logf("Logout on A until B refuses, over %d revocations (Redis pub/sub only): p50 %v, p95 %v, max %v",
		len(lat), lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1])
	if p50 := lat[len(lat)/2]; p50 > 100*time.Millisecond {
		t.Errorf("median latency %v, want at most 100ms on loopback", p50)
	}
	if n := evB.count(audit.RevocationReceived); n < len(lat) {
		t.Errorf("B reported %d revocations received, want at least %d", n, len(lat))
	}
}

// TestRedisOutage kills (and, in a second run, freezes) a private redis-server under two
// Guards, one failing closed (the default) and one failing open. During the outage no call
// stalls and no error other than 503 appears; after the server returns everything
// recovers by itself within two seconds.
func TestRedisOutage(t *testing.T) {
	for _, mode := range []struct {
		name   string
		down   func(*redisServer)
		up     func(*redisServer)
		outage time.Duration
	}{
		{"killed", (*redisServer).kill, (*redisServer).start, 2500 * time.Millisecond},
		{"frozen", func(s *redisServer) { s.signal(syscall.SIGSTOP) }, func(s *redisServer) { s.signal(syscall.SIGCONT) }, 2500 * time.Millisecond},
	} {
		t.Run("a "+mode.name+" Redis", func(t *testing.T) {
			srv := startRedisServer(t)
			prefix := "authframe-test:" + randomHex(4) + ":"
			st := feedless{newStore(t)}
			cacheC := newCache(t, srv.client(t), rediscache.WithPrefix(prefix))
			cacheO := newCache(t, srv.client(t), rediscache.WithPrefix(prefix))
			closed, _ := newGuard(t, cacheC, st)
			open, evO := newGuard(t, cacheO, st, authframe.WithFailOpen(true))
			ctx := context.Background()

			warm := issue(t, closed)
			for _, g := range []*authframe.Guard{closed, open} {
				_, err := g.VerifyToken(ctx, warm)
				mustNotErr(t, err, "VerifyToken before the outage")
			}
			if h := closed.Health(ctx); !h.OK {
				t.Fatalf("health before the outage: %+v", h)
			}

			mode.down(srv)
			var (
				slowest      time.Duration
				calls, n503  int
				sawOpen      bool
				sawUnhealthy bool
			)
			check := func(g *authframe.Guard, failOpen bool, tok string) {
				d, err := timed(t, "VerifyToken during the outage", func() error {
					_, err := g.VerifyToken(ctx, tok)
					return err
				})
				slowest = max(slowest, d)
				calls++
				switch {
				case err == nil:
				case !failOpen && errors.Is(err, authframe.ErrUnavailable):
					n503++
				default:
					t.Fatalf("fail-open=%v: VerifyToken during the outage: %v", failOpen, err)
				}
			}
			end := time.Now().Add(mode.outage)
			for time.Now().Before(end) {
				fresh := issue(t, closed) // the store is up; only Redis is down
				for _, tok := range []string{warm, fresh} {
					check(closed, false, tok)
					check(open, true, tok)
				}
				sawOpen = sawOpen || cacheC.BreakerState() == "open"
				if !sawUnhealthy {
					hd, _ := timed(t, "Health during the outage", func() error {
						sawUnhealthy = !closed.Health(ctx).OK
						return nil
					})
					slowest = max(slowest, hd)
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("during the outage: %d calls, %d answered 503 (fail closed), slowest %v", calls, n503, slowest)
			if !sawOpen {
				t.Error("the breaker never opened")
			}
			if n503 == 0 {
				t.Error("the fail-closed Guard never answered 503 although its revocation feed was down")
			}
			if !sawUnhealthy {
				t.Error("Health never reported the outage")
			}
			if evO.count(audit.DependencyError) == 0 {
				t.Error("no dependency error was reported")
			}

			mode.up(srv)
			back := time.Now()
			// Recovered means: the fail-closed Guard accepts tokens again, both breakers
			// are closed, Health is OK, and a token verified on one Guard is a shared hit
			// on the other.
			var fresh string
			recovered := func() bool {
				if _, err := closed.VerifyToken(ctx, warm); err != nil {
					return false
				}
				if fresh == "" {
					fresh = issue(t, closed)
				}
				if _, err := closed.VerifyToken(ctx, fresh); err != nil {
					return false
				}
				if _, err := open.VerifyToken(ctx, fresh); err != nil {
					t.Fatalf("fail-open Guard after the outage: %v", err)
				}
				if evO.lastValidation().Tier != "shared" {
					fresh = "" // Redis was still out of reach for one of them: try a new token
					return false
				}
				return cacheC.BreakerState() == "closed" && cacheO.BreakerState() == "closed" && closed.Health(ctx).OK
			}
			for !recovered() {
				if time.Since(back) > 2*time.Second {
					t.Fatalf("not recovered 2s after Redis came back: breakers %s/%s, health %+v",
						cacheC.BreakerState(), cacheO.BreakerState(), closed.Health(ctx))
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("recovered %v after Redis came back", time.Since(back))
		})
	}
}

// Whoever can write to the cache's Redis can publish revocations, but not with the MAC that
// only holders of the Guards' keys can make: such a revocation reaches every watcher and is
// ignored by every Guard.
func TestForgedRevocationsAreIgnored(t *testing.T) {
	url := redisURL(t)
	cb, cx, cw := newClient(t, url, ""), newClient(t, url, ""), newClient(t, url, "")
	prefix := testPrefix(t, cb)
	st := feedless{newStore(t)}
	b, evB := newGuard(t, newCache(t, cb, rediscache.WithPrefix(prefix), relaxed), st)
	attacker := newCache(t, cx, rediscache.WithPrefix(prefix), relaxed)
	witness := watch(t, newCache(t, cw, rediscache.WithPrefix(prefix), relaxed))
	ctx := context.Background()
	tok := issue(t, b)
	p, err := b.VerifyToken(ctx, tok)
	mustNotErr(t, err, "VerifyToken")
	now := time.Now()
	for _, r := range []store.Revocation{
		{Kind: store.RevokeSession, Key: p.SessionID, At: now, ExpiresAt: now.Add(time.Hour)},
		{Kind: store.RevokeUser, Key: p.UserID, At: now.Add(24 * time.Hour), ExpiresAt: now.Add(48 * time.Hour)},
		{Kind: store.RevokeSession, Key: p.SessionID, At: now, ExpiresAt: now.Add(time.Hour), MAC: []byte("0123456789abcdef0123456789abcdef")},
	} {
		mustNotErr(t, attacker.PublishRevocation(ctx, r), "publish a forged revocation")
	}
	eventually(t, 2*time.Second, "the forged revocations reach a watcher", func() bool {
		_, ok := witness.deliveredAt(p.UserID)
		return ok
	})
	time.Sleep(100 * time.Millisecond) // B's subscription gets the same messages
	if _, err := b.VerifyToken(ctx, tok); err != nil {
		t.Fatalf("a revocation without a valid MAC was honoured: %v", err)
	}
	if n := evB.count(audit.RevocationReceived); n != 0 {
		t.Fatalf("B took %d forged revocations", n)
	}
	// A genuine one, through the Guard, still works.
	mustNotErr(t, b.Logout(ctx, p), "Logout")
	if _, err := b.VerifyToken(ctx, tok); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("after a genuine logout: %v", err)
	}
}
