package keys

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/store"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	every       = 24 * time.Hour
	propagation = 10 * time.Minute
	lifetime    = 15 * time.Minute
)

var testPolicy = policy{every: every, propagation: propagation, lifetime: lifetime}

// counter makes placeholder keys k1, k2, ... in the order plan asks for them.
type counter struct{ n int }

func (c *counter) newKey(time.Time) (store.SigningKey, error) {
	c.n++
	return store.SigningKey{ID: fmt.Sprintf("k%d", c.n), Algorithm: "EdDSA", Sealed: []byte{1}}, nil
}

func states(ring []store.SigningKey) string {
	var b bytes.Buffer
	for _, k := range ring {
		fmt.Fprintf(&b, "%s:%s ", k.ID, k.State)
	}
	return b.String()
}

func TestPlanRunsTheScheduleStepByStep(t *testing.T) {
	c := &counter{}
	step := func(ring []store.SigningKey, now time.Time) []store.SigningKey {
		t.Helper()
		out, _, err := plan(ring, now, testPolicy, c.newKey)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ring := step(nil, t0)
	if got := states(ring); got != "k1:active " || !ring[0].ActiveAt.Equal(t0) || !ring[0].CreatedAt.Equal(t0) {
		t.Fatalf("an empty ring gets an active key at once: %s %+v", got, ring)
	}
	if out, changes, _ := plan(ring, t0.Add(every-propagation-time.Second), testPolicy, c.newKey); len(changes) != 0 || states(out) != "k1:active " {
		t.Fatalf("a step before anything is due changed %v", changes)
	}
	publish := t0.Add(every - propagation)
	ring = step(ring, publish)
	if got := states(ring); got != "k1:active k2:next " {
		t.Fatalf("propagation before the active key's time is up: %s", got)
	}
	if due := t0.Add(every); !ring[1].ActiveAt.Equal(due) || !ring[1].CreatedAt.Equal(publish) {
		t.Fatalf("the next key is due when the active key's time is up: %+v", ring[1])
	}
	if got := states(step(ring, t0.Add(every-time.Millisecond))); got != "k1:active k2:next " {
		t.Fatalf("promoted before its time: %s", got)
	}
	swap := t0.Add(every)
	ring = step(ring, swap)
	if got := states(ring); got != "k1:retiring k2:active " {
		t.Fatalf("the swap: %s", got)
	}
	if !ring[0].RetiredAt.Equal(swap) || !ring[0].ExpiresAt.Equal(swap.Add(propagation+lifetime)) || !ring[1].ActiveAt.Equal(swap) {
		t.Fatalf("the swap's times: %+v", ring)
	}
	if got := states(step(ring, swap.Add(propagation+lifetime-time.Millisecond))); got != "k1:retiring k2:active " {
		t.Fatalf("a retiring key removed before the last token it signed expired: %s", got)
	}
	ring = step(ring, swap.Add(propagation+lifetime))
	if got := states(ring); got != "k2:active " {
		t.Fatalf("the retiring key outlived its time: %s", got)
	}
}

func TestPlanNeverPromotesAKeyPublishedForLessThanThePropagationInterval(t *testing.T) {
	c := &counter{}
	// A next key due already (set by hand, or the schedule of a long pause) but published
	// a moment ago.
	now := t0.Add(every * 3)
	ring := []store.SigningKey{
		{ID: "old", State: store.KeyActive, CreatedAt: t0, ActiveAt: t0, Sealed: []byte{1}},
		{ID: "new", State: store.KeyNext, CreatedAt: now.Add(-time.Minute), ActiveAt: now.Add(-time.Minute), Sealed: []byte{1}},
	}
	out, changes, err := plan(ring, now, testPolicy, c.newKey)
	if err != nil || len(changes) != 0 || states(out) != "old:active new:next " {
		t.Fatalf("plan = %s %v %v", states(out), changes, err)
	}
	out, _, _ = plan(ring, now.Add(propagation-time.Minute), testPolicy, c.newKey)
	if states(out) != "old:retiring new:active " {
		t.Fatalf("after the propagation interval: %s", states(out))
	}
}

func TestPlanKeepsOneActiveKey(t *testing.T) {
	c := &counter{}
	ring := []store.SigningKey{
		{ID: "a", State: store.KeyActive, CreatedAt: t0, ActiveAt: t0, Sealed: []byte{1}},
		{ID: "b", State: store.KeyActive, CreatedAt: t0, ActiveAt: t0.Add(time.Hour), Sealed: []byte{1}},
	}
	out, _, err := plan(ring, t0.Add(2*time.Hour), testPolicy, c.newKey)
	if err != nil || states(out) != "a:retiring b:active " {
		t.Fatalf("two active keys: %s %v", states(out), err)
	}
}

func TestPlanReportsAFailedKeyGeneration(t *testing.T) {
	boom := errors.New("no entropy")
	if _, _, err := plan(nil, t0, testPolicy, func(time.Time) (store.SigningKey, error) { return store.SigningKey{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("plan = %v", err)
	}
}

func TestSignerWaitsForThePropagationInterval(t *testing.T) {
	loaded := t0.Add(every)
	young := []store.SigningKey{
		{ID: "old", State: store.KeyRetiring, CreatedAt: t0, ActiveAt: t0, RetiredAt: loaded.Add(-time.Minute), ExpiresAt: loaded.Add(time.Hour)},
		{ID: "new", State: store.KeyActive, CreatedAt: loaded.Add(-2 * time.Minute), ActiveAt: loaded.Add(-time.Minute)},
	}
	cases := []struct {
		name      string
		ring      []store.SigningKey
		now       time.Time
		kid       string
		signUntil time.Time
	}{
		{"a key born active in an empty ring signs at once", []store.SigningKey{{ID: "first", State: store.KeyActive, CreatedAt: loaded, ActiveAt: loaded}}, loaded, "first", loaded.Add(propagation)},
		{"an active key published for the propagation interval signs", young, loaded.Add(8 * time.Minute), "new", loaded.Add(propagation)},
		{"a younger active key leaves the signing to the key it replaced", young, loaded, "old", loaded.Add(propagation - time.Minute)},
		{"the key it replaced signs no later than the propagation interval after it retired", []store.SigningKey{
			{ID: "old", State: store.KeyRetiring, CreatedAt: t0, ActiveAt: t0, RetiredAt: loaded.Add(-propagation), ExpiresAt: loaded.Add(time.Hour)},
			{ID: "new", State: store.KeyActive, CreatedAt: loaded.Add(-time.Minute), ActiveAt: loaded.Add(-30 * time.Second)},
		}, loaded, "", time.Time{}},
		{"a ring with nothing that may sign has no signer", []store.SigningKey{{ID: "n", State: store.KeyNext, CreatedAt: loaded, ActiveAt: loaded.Add(time.Hour)}}, loaded, "", time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kid, until := signer(tc.ring, tc.now, loaded, propagation)
			if kid != tc.kid || !until.Equal(tc.signUntil) {
				t.Fatalf("signer = %q until %v, want %q until %v", kid, until, tc.kid, tc.signUntil)
			}
		})
	}
}

func TestSealedKeysOpenOnlyUnderTheirKEKAndKid(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	s, err := newSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	k, err := newSealedKey(s, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.open(k.ID, k.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(k.Sealed, p[30:60]) {
		t.Fatal("the sealed key holds its PEM in the clear")
	}
	other, _ := newSealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.open(k.ID, k.Sealed); !errors.Is(err, errOpen) {
		t.Fatalf("another KEK opened it: %v", err)
	}
	if _, err := s.open("another-kid", k.Sealed); !errors.Is(err, errOpen) {
		t.Fatalf("a sealed key moved to another kid opened: %v", err)
	}
	altered := bytes.Clone(k.Sealed)
	altered[len(altered)-1] ^= 1
	if _, err := s.open(k.ID, altered); !errors.Is(err, errOpen) {
		t.Fatalf("an altered sealed key opened: %v", err)
	}
	if _, err := newSealer(kek[:31]); err == nil {
		t.Fatal("a 31-byte KEK was accepted")
	}
}

func TestKidsAreTheGuardsThumbprints(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "ES384", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			kid, _, p, err := newPrivateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			g, err := authframe.New(authframe.WithKey(authframe.Key{PEM: p}), authframe.WithIssuer("i"), authframe.WithAudience("a"))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if held := Held(g); len(held) != 1 || held[0].ID != kid || !held[0].Signing {
				t.Fatalf("the Guard holds %+v, want kid %s", held, kid)
			}
			block, _ := pem.Decode(p)
			if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
				t.Fatal(err)
			}
		})
	}
}
