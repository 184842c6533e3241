// Package rotationtest is the automatic signing-key rotation scenario that every store
// implementing store.KeyStore passes with real Guards. A store module runs it from its own
// tests:
//
//	func TestKeyRotation(t *testing.T) {
//		prefix := freshPrefix(t)
//		rotationtest.Run(t, func(t *testing.T) store.Store { return openStore(t, prefix) })
//	}
//
// open returns a handle on one and the same empty, isolated store each time it is called
// (a new client on the same key prefix or schema, as another instance would have), and
// arranges its cleanup with t.Cleanup.
//
// Three Guards run keys.WithRotation on a fast schedule (several rotations in a few
// seconds) while each issues tokens and every live Guard verifies every unexpired token;
// one Guard is killed in the middle of a rotation step, holding the rotation lock. The
// scenario fails on any refused token, on a token signed with a key that another live
// Guard did not hold yet, on the lock held by two at once, and unless keys were
// published, promoted and removed, before and after the kill.
package rotationtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/keys"
	"github.com/authframe/authframe/core/store"
)

// The schedule: a key signs for Every; it is published Propagation before; each Guard
// reads the ring every Refresh; tokens live AccessTTL plus Leeway.
const (
	refresh     = 150 * time.Millisecond
	propagation = time.Second
	every       = 2500 * time.Millisecond
	lockTTL     = time.Second
	accessTTL   = 2 * time.Second
	leeway      = time.Second
	runFor      = 10 * time.Second
	killAfter   = 3 * time.Second
)

// errKilled is what a killed instance's key store answers: the process is gone, and its
// calls never reach the store.
var errKilled = errors.New("rotationtest: this instance was killed")

// ledger checks that the rotation lock never has two holders: a lease taken by a call that
// ended before the previous lease's earliest possible end, with no release between, would
// overlap it whatever the clocks.
type ledger struct {
	mu         sync.Mutex
	holder     string
	earliest   time.Time // the current lease cannot end before this
	violations []string
	grants     int
}

func (l *ledger) acquired(owner string, start, end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.grants++
	if l.holder != "" && l.holder != owner && end.Before(l.earliest) {
		l.violations = append(l.violations, fmt.Sprintf("%s got the lock at %s while %s held it until at least %s",
			owner, end.Format("15:04:05.000"), l.holder, l.earliest.Format("15:04:05.000")))
	}
	l.holder, l.earliest = owner, start.Add(lockTTL)
}

func (l *ledger) released(owner string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == owner {
		l.holder = ""
	}
}

// probe is one instance's view of the key store: it reports lock grants to the ledger, and
// once killed (at the moment it is granted the lock, so in the middle of a step) never
// reaches the store again: the lock stays held until its TTL frees it.
type probe struct {
	inner  store.KeyStore
	name   string
	ledger *ledger
	kill   *atomic.Bool // shared: the next instance granted the lock dies
	dead   atomic.Bool
	diedAt atomic.Int64
}

func (p *probe) SigningKeys(ctx context.Context) ([]store.SigningKey, int64, error) {
	if p.dead.Load() {
		return nil, 0, errKilled
	}
	return p.inner.SigningKeys(ctx)
}

func (p *probe) PutSigningKeys(ctx context.Context, ks []store.SigningKey, version int64) (int64, error) {
	if p.dead.Load() {
		return 0, errKilled
	}
	return p.inner.PutSigningKeys(ctx, ks, version)
}

func (p *probe) AcquireKeyLock(ctx context.Context, owner string, ttl time.Duration) (bool, error) {
	if p.dead.Load() {
		return false, errKilled
	}
	start := time.Now()
	ok, err := p.inner.AcquireKeyLock(ctx, owner, ttl)
	if ok && err == nil {
		p.ledger.acquired(owner, start, time.Now())
		if p.kill.CompareAndSwap(true, false) {
			p.diedAt.Store(time.Now().UnixNano())
			p.dead.Store(true)
		}
	}
	return ok, err
}

func (p *probe) ReleaseKeyLock(ctx context.Context, owner string) error {
	if p.dead.Load() {
		return errKilled
	}
	// The release is recorded before it is sent: once sent, another may be granted the
	// lock before this call returns.
	p.ledger.released(owner)
	return p.inner.ReleaseKeyLock(ctx, owner)
}

// token is one issued token.
type token struct {
	tok, kid, by string
	at, exp      time.Time
}

// header reads the kid and the exp of a token.
func header(tok string) (kid string, exp time.Time, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", time.Time{}, errors.New("not a JWS")
	}
	var h struct {
		Kid string `json:"kid"`
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	for i, v := range []any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return "", time.Time{}, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return "", time.Time{}, err
		}
	}
	return h.Kid, time.Unix(c.Exp, 0), nil
}

// instance is one of the three Guards.
type instance struct {
	name  string
	g     *authframe.Guard
	probe *probe
}

func (in *instance) alive() bool { return !in.probe.dead.Load() }

// Run runs the scenario on the store that open returns handles on.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	led := &ledger{}
	var kill atomic.Bool
	var instances []*instance
	for i := range 3 {
		st := open(t)
		ks, ok := st.(store.KeyStore)
		if !ok {
			t.Fatalf("%T does not keep signing keys (store.KeyStore)", st)
		}
		p := &probe{inner: ks, name: fmt.Sprintf("guard-%d", i+1), ledger: led, kill: &kill}
		g, err := authframe.New(
			authframe.WithStore(st), authframe.WithIssuer("https://auth.example"), authframe.WithAudience("api"),
			authframe.WithTokens(authframe.TokenConfig{AccessTTL: accessTTL, Leeway: leeway}),
			keys.WithRotation(keys.Rotation{KEK: kek, Store: p, Every: every, Propagation: propagation, Refresh: refresh, LockTTL: lockTTL}),
		)
		if err != nil {
			t.Fatalf("New %s: %v", p.name, err)
		}
		t.Cleanup(func() { g.Close() })
		instances = append(instances, &instance{name: p.name, g: g, probe: p})
	}
	// The store as an outside observer sees it.
	observer := instances[0].probe.inner

	var (
		mu        sync.Mutex
		all       []token
		refusals  atomic.Int64
		unknown   atomic.Int64
		issueErrs atomic.Int64
		issuedN   atomic.Int64
	)
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	var wg sync.WaitGroup
	live := func() []*instance {
		return slices.DeleteFunc(slices.Clone(instances), func(in *instance) bool { return !in.alive() })
	}
	verify := func(in *instance, tk token) {
		if time.Now().After(tk.exp) {
			return // expired meanwhile: its refusal is no refusal
		}
		if _, err := in.g.VerifyToken(context.Background(), tk.tok); err != nil && time.Now().Before(tk.exp) {
			refusals.Add(1)
			t.Errorf("%s refused a token of %s (kid %s, %v before its exp): %v", in.name, tk.by, tk.kid, time.Until(tk.exp).Round(time.Millisecond), err)
		}
	}
	for _, in := range instances {
		// Issue, and have every live Guard verify at once.
		wg.Go(func() {
			for n := 0; ctx.Err() == nil && in.alive(); n++ {
				others := map[string][]string{}
				for _, o := range live() {
					for _, k := range keys.Held(o.g) {
						others[o.name] = append(others[o.name], k.ID)
					}
				}
				pair, err := in.g.IssueTokens(context.Background(), authframe.User{ID: fmt.Sprintf("%s-%d", in.name, n), Username: "u"}, authframe.ClientInfo{})
				if !in.alive() {
					return
				}
				if err != nil {
					issueErrs.Add(1)
					t.Errorf("%s could not issue: %v", in.name, err)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				issuedN.Add(1)
				kid, exp, err := header(pair.AccessToken)
				if err != nil {
					t.Errorf("%s issued an unreadable token: %v", in.name, err)
					continue
				}
				for name, held := range others {
					if !slices.Contains(held, kid) {
						unknown.Add(1)
						t.Errorf("%s signed with key %s, which %s did not hold yet (it held %v)", in.name, kid, name, held)
					}
				}
				tk := token{tok: pair.AccessToken, kid: kid, by: in.name, at: time.Now(), exp: exp}
				mu.Lock()
				all = append(all, tk)
				mu.Unlock()
				for _, o := range live() {
					verify(o, tk)
				}
				time.Sleep(15 * time.Millisecond)
			}
		})
		// Verify every unexpired token issued so far, by anyone.
		wg.Go(func() {
			for ctx.Err() == nil && in.alive() {
				mu.Lock()
				toks := slices.Clone(all)
				mu.Unlock()
				for _, tk := range toks {
					if !in.alive() {
						return
					}
					verify(in, tk)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}

	// Watch the ring in the store; kill one Guard in the middle of a step after a while.
	// seen: the states each key went through, in order, and when each was first seen.
	seen := map[string][]keys.State{}
	seenAt := map[string]map[keys.State]time.Time{}
	var killedAt time.Time
	record := func(ks []keys.Info) {
		for _, k := range ks {
			if s := seen[k.ID]; len(s) == 0 || s[len(s)-1] != k.State {
				seen[k.ID] = append(seen[k.ID], k.State)
				if seenAt[k.ID] == nil {
					seenAt[k.ID] = map[keys.State]time.Time{}
				}
				seenAt[k.ID][k.State] = time.Now()
			}
		}
	}
	var present [][]string
	armed := false
	start := time.Now()
	for ctx.Err() == nil {
		ks, err := keys.List(context.Background(), observer)
		if err != nil {
			t.Errorf("List: %v", err)
		} else {
			record(ks)
			var ids []string
			for _, k := range ks {
				ids = append(ids, k.ID)
			}
			present = append(present, ids)
		}
		if !armed && time.Since(start) > killAfter {
			kill.Store(true)
			armed = true
		}
		for _, in := range instances {
			if !in.alive() && killedAt.IsZero() {
				killedAt = time.Unix(0, in.probe.diedAt.Load())
				t.Logf("%s was killed holding the rotation lock, %v into the run", in.name, killedAt.Sub(start).Round(time.Millisecond))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()

	// The verdict.
	// The Guards still rotate in the background until they close: the ledger is read under
	// its lock.
	led.mu.Lock()
	grants, violations := led.grants, slices.Clone(led.violations)
	led.mu.Unlock()
	t.Logf("%d tokens issued, %d lock grants, keys seen: %v", issuedN.Load(), grants, seen)
	for _, v := range violations {
		t.Errorf("the lock had two holders: %s", v)
	}
	if refusals.Load()+unknown.Load()+issueErrs.Load() > 0 {
		t.Errorf("%d refusals, %d tokens signed with keys not yet held by every instance, %d failed issues", refusals.Load(), unknown.Load(), issueErrs.Load())
	}
	if killedAt.IsZero() {
		t.Fatal("no Guard was killed: none took the rotation lock after the kill was armed")
	}
	var promoted, removed int
	var promotedAfterKill bool
	for kid, states := range seen {
		if slices.Index(states, keys.Next) == 0 && slices.Contains(states, keys.Active) {
			promoted++
			if seenAt[kid][keys.Active].After(killedAt) {
				promotedAfterKill = true
			}
		}
		for i := 1; i < len(states); i++ {
			if !validStep(states[i-1], states[i]) {
				t.Errorf("key %s went from %s to %s", kid, states[i-1], states[i])
			}
		}
		if !slices.ContainsFunc(present[len(present)-1], func(id string) bool { return id == kid }) {
			if states[len(states)-1] != keys.Retiring {
				t.Errorf("key %s left the ring as %s, not retiring", kid, states[len(states)-1])
			}
			removed++
		}
	}
	if promoted < 3 || removed < 1 || !promotedAfterKill {
		t.Errorf("the schedule did not run: %d keys went from next to active (after the kill: %v), %d were removed (states seen %v)", promoted, promotedAfterKill, removed, seen)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(all, func(tk token) bool { return tk.at.After(killedAt.Add(lockTTL)) }) {
		t.Error("no token was issued after the kill")
	}
	signedWith := map[string]bool{}
	for _, tk := range all {
		signedWith[tk.kid] = true
	}
	if len(signedWith) < 3 {
		t.Errorf("tokens were signed with %d keys, want at least 3", len(signedWith))
	}
}

// validStep reports whether a key may go from one state to the next: next → active →
// retiring, never back.
func validStep(from, to keys.State) bool {
	return (from == keys.Next && to == keys.Active) || (from == keys.Active && to == keys.Retiring)
}
