package keys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/keys"
	"github.com/authframe/authframe/core/memstore"
)

// fakeClock is the time every Guard and the store of a test see.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// memCache is a shared validation cache tier in memory, as Redis would be between
// instances.
type memCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return bytes.Clone(v), ok, nil
}

func (c *memCache) Set(_ context.Context, key string, val []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = bytes.Clone(val)
	return nil
}

// issued is a token some Guard signed, and when it expires.
type issued struct {
	tok, by, kid string
	exp          time.Time
}

// kidOf reads the kid from a token's header.
func kidOf(t testing.TB, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(h, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Kid
}

// jwksKids lists the kids a Guard publishes.
func jwksKids(t testing.TB, g *authframe.Guard) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(g.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	slices.Sort(out)
	return out
}

// TestBlueGreenRotationRefusesNoToken rolls a signing-key rotation through a blue-green
// deployment in its three phases: publish the new key (next), switch (the new key signs,
// the old one retires), remove the old key once every token it signed has expired. At
// each step one color runs the new phase while the other still runs the previous one;
// both issue tokens concurrently, and every unexpired token issued so far, by either
// color in any phase, must pass on both: not one refusal.
func TestBlueGreenRotationRefusesNoToken(t *testing.T) {
	oldPEM, err := keys.GeneratePEM("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	newPEM, err := keys.GeneratePEM("ES256")
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{now: time.Now().Truncate(time.Second)}
	st := memstore.New(memstore.WithClock(clk.Now))
	defer st.Close()
	shared := &memCache{m: map[string][]byte{}}
	sharedKey := bytes.Repeat([]byte("k"), 32)
	const accessTTL = 5 * time.Minute
	const leeway = 10 * time.Second

	// The phases, as the keys each instance is configured with.
	phases := [][]authframe.Key{
		{{PEM: oldPEM}}, // 0: before the rotation
		{{PEM: oldPEM}, {PEM: newPEM, State: keys.Next}},                         // 1: publish
		{{PEM: oldPEM, State: keys.Retiring}, {PEM: newPEM, State: keys.Active}}, // 2: switch
		{{PEM: newPEM}}, // 3: remove
	}
	newGuard := func(color string, phase int) *authframe.Guard {
		t.Helper()
		opts := []authframe.Option{
			authframe.WithIssuer("https://auth.example"), authframe.WithAudience("api"), authframe.WithStore(st),
			authframe.WithClock(clk.Now), authframe.WithTokens(authframe.TokenConfig{AccessTTL: accessTTL, Leeway: leeway}),
			authframe.WithCache(authframe.CacheConfig{Shared: shared, SharedKey: sharedKey}),
		}
		for _, k := range phases[phase] {
			opts = append(opts, authframe.WithKey(k))
		}
		g, err := authframe.New(opts...)
		if err != nil {
			t.Fatalf("%s in phase %d: %v", color, phase, err)
		}
		return g
	}

	var all []issued
	var mu sync.Mutex
	refusals := 0
	guards := map[string]*authframe.Guard{"blue": newGuard("blue", 0), "green": newGuard("green", 0)}
	phase := map[string]int{"blue": 0, "green": 0}
	defer func() {
		for _, g := range guards {
			g.Close()
		}
	}()
	oldKid := keys.Held(guards["blue"])[0].ID

	// round runs both colors side by side: each issues tokens while the other verifies
	// them, and both verify every unexpired token issued so far.
	round := func() {
		t.Helper()
		now := clk.Now()
		mu.Lock()
		live := slices.DeleteFunc(slices.Clone(all), func(i issued) bool { return !now.Before(i.exp) })
		mu.Unlock()
		var wg sync.WaitGroup
		for color, g := range guards {
			other := guards[map[string]string{"blue": "green", "green": "blue"}[color]]
			wg.Go(func() {
				for i := range 20 {
					pair, err := g.IssueTokens(context.Background(), authframe.User{ID: fmt.Sprintf("%s-%d", color, i), Username: "u"}, authframe.ClientInfo{})
					if err != nil {
						t.Errorf("%s (phase %d) could not issue: %v", color, phase[color], err)
						return
					}
					tok := issued{tok: pair.AccessToken, by: fmt.Sprintf("%s in phase %d", color, phase[color]), kid: kidOf(t, pair.AccessToken), exp: now.Add(accessTTL)}
					for _, v := range []*authframe.Guard{other, g} {
						if _, err := v.VerifyToken(context.Background(), tok.tok); err != nil {
							mu.Lock()
							refusals++
							mu.Unlock()
							t.Errorf("a token of %s (kid %s) was refused: %v", tok.by, tok.kid, err)
						}
					}
					mu.Lock()
					all = append(all, tok)
					mu.Unlock()
				}
			})
			wg.Go(func() {
				for _, tok := range live {
					if _, err := g.VerifyToken(context.Background(), tok.tok); err != nil {
						mu.Lock()
						refusals++
						mu.Unlock()
						t.Errorf("%s (phase %d) refused an unexpired token of %s (kid %s): %v", color, phase[color], tok.by, tok.kid, err)
					}
				}
			})
		}
		wg.Wait()
	}
	deploy := func(color string, p int) {
		t.Helper()
		guards[color].Close()
		guards[color], phase[color] = newGuard(color, p), p
		round()
	}

	round()
	for p := 1; p < len(phases); p++ {
		if p == 3 {
			// Phase 3 waits until the last token the old key signed has expired.
			clk.Advance(accessTTL + leeway + time.Second)
		} else {
			clk.Advance(time.Minute)
		}
		deploy("green", p) // one color goes first: the two run different phases
		deploy("blue", p)  // then the other follows
		round()
	}
	if refusals != 0 {
		t.Fatalf("%d refusals", refusals)
	}

	// Every phase did what it says: who signed with which key, what was published.
	newKid := keys.Held(guards["blue"])[0].ID
	signedBy := map[string]map[string]bool{}
	for _, i := range all {
		if signedBy[i.by] == nil {
			signedBy[i.by] = map[string]bool{}
		}
		signedBy[i.by][i.kid] = true
	}
	for by, kids := range signedBy {
		want := oldKid
		if strings.HasSuffix(by, "phase 2") || strings.HasSuffix(by, "phase 3") {
			want = newKid
		}
		if len(kids) != 1 || !kids[want] {
			t.Errorf("%s signed with %v, want %s only", by, kids, want)
		}
	}
	if got := jwksKids(t, guards["blue"]); !slices.Equal(got, []string{newKid}) {
		t.Errorf("after phase 3 the JWKS lists %v, want the new key only", got)
	}
}

// TestStatesArePublishedAndOnlyTheActiveKeySigns checks the static states one by one.
func TestStatesArePublishedAndOnlyTheActiveKeySigns(t *testing.T) {
	a, _ := keys.GeneratePEM("EdDSA")
	b, _ := keys.GeneratePEM("EdDSA")
	c, _ := keys.GeneratePEM("ES256")
	g, err := authframe.New(authframe.WithIssuer("i"), authframe.WithAudience("a"),
		authframe.WithKey(authframe.Key{PEM: a, State: keys.Retiring}),
		authframe.WithKey(authframe.Key{PEM: b, State: keys.Active}),
		authframe.WithKey(authframe.Key{PEM: c, State: keys.Next}))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	held := keys.Held(g)
	var signing []string
	var all []string
	for _, k := range held {
		all = append(all, k.ID)
		if k.Signing {
			signing = append(signing, k.ID)
		}
	}
	slices.Sort(all)
	if got := jwksKids(t, g); !slices.Equal(got, all) || len(all) != 3 {
		t.Fatalf("the JWKS lists %v, want every key %v", got, all)
	}
	pair, err := g.IssueTokens(context.Background(), authframe.User{ID: "u"}, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if len(signing) != 1 || kidOf(t, pair.AccessToken) != signing[0] || held[1].State != keys.Active || !held[1].Signing {
		t.Fatalf("signing keys %v, the token's kid %s, held %+v", signing, kidOf(t, pair.AccessToken), held)
	}
}

func TestNewRefusesAmbiguousKeyStates(t *testing.T) {
	a, _ := keys.GeneratePEM("EdDSA")
	b, _ := keys.GeneratePEM("EdDSA")
	pub := publicPEM(t, a)
	base := []authframe.Option{authframe.WithIssuer("i"), authframe.WithAudience("a")}
	cases := []struct {
		name string
		opts []authframe.Option
		want string
	}{
		{"two keys that sign, both active by default", []authframe.Option{authframe.WithKey(authframe.Key{PEM: a}), authframe.WithKey(authframe.Key{PEM: b})}, "both active"},
		{"two keys explicitly active", []authframe.Option{authframe.WithKey(authframe.Key{PEM: a, State: keys.Active}), authframe.WithKey(authframe.Key{PEM: b, State: keys.Active})}, "both active"},
		{"a next key and no active one", []authframe.Option{authframe.WithKey(authframe.Key{PEM: a, State: keys.Next})}, "no key is active"},
		{"a public key made active", []authframe.Option{authframe.WithKey(authframe.Key{PEM: pub, State: keys.Active})}, "State active needs a private"},
		{"a VerifyOnly key made active", []authframe.Option{authframe.WithKey(authframe.Key{PEM: a, VerifyOnly: true, State: keys.Active})}, "VerifyOnly"},
		{"an unknown state", []authframe.Option{authframe.WithKey(authframe.Key{PEM: a, State: "standby"})}, `"standby" is not next, active or retiring`},
		{"keys in rotation with a shared cache and no SharedKey", []authframe.Option{authframe.WithKey(authframe.Key{PEM: a}), authframe.WithKey(authframe.Key{PEM: b, State: keys.Next}),
			authframe.WithCache(authframe.CacheConfig{Shared: &memCache{m: map[string][]byte{}}})}, "SharedKey"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := authframe.New(append(slices.Clone(base), tc.opts...)...)
			if err == nil {
				g.Close()
				t.Fatal("New accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v; want it to say %q", err, tc.want)
			}
		})
	}
	// A verifying Guard with the next key's public half only is fine: it signs nothing.
	g, err := authframe.New(append(slices.Clone(base), authframe.WithKey(authframe.Key{PEM: pub, State: keys.Next}))...)
	if err != nil {
		t.Fatalf("a verify-only Guard with a next public key: %v", err)
	}
	g.Close()
}
