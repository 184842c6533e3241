package authframe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// keyRing is what the Guard verifies and signs with at one moment: an immutable snapshot,
// replaced whole (see Guard.ring) when a rotating key source brings a new one, so a
// request sees one consistent set of keys from start to end.
type keyRing struct {
	keys  []*key
	byKid map[string]*key
	// byAlg holds, for a token without a kid, the only key of its algorithm.
	byAlg  map[string]*key
	signer *key
	// signUntil is when this ring may no longer sign (zero: no limit); see engine.Ring.
	signUntil time.Time
	jwks      []byte
}

func newKeyRing(keys []*key, signer *key, signUntil time.Time) *keyRing {
	r := &keyRing{keys: keys, byKid: map[string]*key{}, byAlg: map[string]*key{}, signer: signer, signUntil: signUntil}
	algCount := map[string]int{}
	for _, k := range keys {
		if k.kid != "" {
			r.byKid[k.kid] = k
		}
		algCount[k.alg]++
	}
	for _, k := range keys {
		if algCount[k.alg] == 1 {
			r.byAlg[k.alg] = k
		}
	}
	r.jwks = jwksJSON(keys)
	return r
}

// ring returns the key ring in force.
func (g *Guard) ring() *keyRing { return g.keyring.Load() }

var (
	errStaleRing  = errors.New("the signing-key ring could not be refreshed from the key store in time: signing waits for it")
	errNoRingKey  = errors.New("no key of the signing-key ring may sign yet")
	errKeyOptions = errors.New("a Guard whose keys rotate from a store signs with the ring's keys only: give WithKey keys that only verify (VerifyOnly, or public keys)")
)

// signingKey returns the key that signs now, or why none may.
func (g *Guard) signingKey(now time.Time) (*key, error) {
	r := g.ring()
	if r.signer == nil {
		if g.cfg.keySource != nil {
			return nil, ErrUnavailable.with(errNoRingKey)
		}
		return nil, ErrInternal.with(errNoSigningKey)
	}
	if !r.signUntil.IsZero() && !now.Before(r.signUntil) {
		g.depError(g.ctx, "key_store", "stale_ring", errStaleRing)
		return nil, ErrUnavailable.with(errStaleRing)
	}
	return r.signer, nil
}

// localKeyOrRefresh is localKey, asking a rotating key source to refresh the ring first
// when the token names a kid the ring does not hold: a key published while this instance
// could not reach the store is learnt on its first token instead of being refused until
// the next poll.
func (g *Guard) localKeyOrRefresh(ctx context.Context, t *jwt.Token) *key {
	k := g.localKey(t)
	if k != nil || g.cfg.keySource == nil {
		return k
	}
	if kid, _ := t.Header["kid"].(string); kid == "" {
		return nil
	}
	g.cfg.keySource.Refresh(ctx)
	return g.localKey(t)
}

// validateKeys checks the key states of New's configuration and picks the signing key:
// exactly one key that can sign is active (the default state); next and retiring keys
// verify and are published, and never sign.
func (c *config) validateKeys() error {
	c.signer = nil
	var rotating bool
	for _, k := range c.keys {
		switch k.state {
		case "":
			if k.sign != nil {
				k.state = store.KeyActive
			}
		case store.KeyActive:
			if k.sign == nil {
				return fmt.Errorf("authframe: WithKey: %s: State active needs a private or HMAC key that may sign (not a public key, not VerifyOnly)", k.name())
			}
		case store.KeyNext, store.KeyRetiring:
			rotating = true
		}
		if k.state != store.KeyActive {
			continue
		}
		if c.keySource != nil {
			return fmt.Errorf("authframe: WithKey: %s: %w", k.name(), errKeyOptions)
		}
		if c.signer != nil {
			return fmt.Errorf("authframe: WithKey: %s and %s are both active: exactly one key signs; give the others State next or retiring", c.signer.name(), k.name())
		}
		c.signer = k
	}
	if c.signer == nil && c.keySource == nil {
		for _, k := range c.keys {
			if k.sign != nil && k.state == store.KeyNext {
				return fmt.Errorf("authframe: WithKey: %s is next and no key is active: one key that can sign must be active", k.name())
			}
		}
	}
	if rotating && c.l2 != nil && c.l2Key == nil {
		return errors.New("authframe: WithCache: keys in rotation (State next or retiring) need CacheConfig.SharedKey, the same on every instance: the key otherwise derived from the signing keys changes from one phase of the rotation to the next, and instances in different phases would drop each other's cache entries and revocations")
	}
	return nil
}

// name names k in an error: its kid, or its algorithm for an HMAC key without an ID.
func (k *key) name() string {
	if k.kid == "" {
		return "the " + k.alg + " key without ID"
	}
	return "key " + k.kid
}

// defaultCacheKey is the shared cache's MAC key when CacheConfig.SharedKey is not set:
// derived from the key-encryption key of a rotating ring, which every instance shares
// through every rotation, or else from the signing keys (nil when the Guard signs nothing).
func (g *Guard) defaultCacheKey() []byte {
	if g.cfg.keySource != nil {
		m := hmac.New(sha256.New, g.cfg.ringSecret)
		m.Write([]byte("authframe shared cache integrity v1"))
		return m.Sum(nil)
	}
	return deriveCacheKey(g.cfg.keys)
}

// keySource is a ring of signing keys that changes while the Guard runs (core/keys's
// automatic rotation). Its methods are exported so that core/keys can implement it.
type keySource interface {
	// Load reads (or creates) the ring and installs it through host (the Guard's
	// internals) before New returns.
	Load(ctx context.Context, host any) error
	// Run keeps the ring fresh, and rotates it on its schedule, until ctx ends.
	Run(ctx context.Context)
	// Refresh reads the ring again now, if it was not just read, when a token names a
	// kid the ring does not hold.
	Refresh(ctx context.Context)
}

// SetKeySource makes src the Guard's ring of signing keys; secret (at least 32 bytes,
// the same on every instance sharing the ring) keys the shared cache's MAC, and id names
// the ring in shared-cache keys. For core/keys's WithRotation.
func (c *config) SetKeySource(src any, secret []byte, id string) {
	ks, ok := src.(keySource)
	switch {
	case !ok:
		optErr(c, "keys.WithRotation", fmt.Errorf("%T is not a key source", src))
	case len(secret) < 32:
		optErr(c, "keys.WithRotation", errors.New("ring secret shorter than 32 bytes"))
	case c.keySource != nil:
		optErr(c, "keys.WithRotation", errors.New("given twice"))
	default:
		c.keySource, c.ringSecret, c.ringID = ks, secret, id
	}
}

// OptionError records err against the option named opt, for New to report. For the
// options built by authframe's subpackages.
func (c *config) OptionError(opt string, err error) { optErr(c, opt, err) }

// startKeys loads a rotating ring before New returns and keeps it fresh in the background.
func (g *Guard) startKeys() error {
	src := g.cfg.keySource
	if src == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(g.ctx, 30*time.Second)
	defer cancel()
	if err := src.Load(ctx, internals{g}); err != nil {
		return fmt.Errorf("authframe: keys.WithRotation: %w", err)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		src.Run(g.ctx)
	}()
	return nil
}

// InstallRing replaces the Guard's key ring with r. Keys the ring held already are kept
// as parsed; a key whose PEM does not parse, or whose kid is not its own, fails the whole
// ring, which is then not installed.
func (in internals) InstallRing(r engine.Ring) error {
	g := in.g
	old := g.ring()
	keys := make([]*key, 0, len(r.Keys)+len(g.cfg.keys))
	var signer *key
	for _, rk := range r.Keys {
		k, ok := old.byKid[rk.ID]
		if !ok || k.sign == nil {
			parsed, err := parsePEMKey(rk.PEM, rk.Algorithm)
			if err != nil {
				return fmt.Errorf("key %s: %w", rk.ID, err)
			}
			if parsed.kid != rk.ID {
				return fmt.Errorf("key %s: its thumbprint is %s", rk.ID, parsed.kid)
			}
			if parsed.sign == nil {
				return fmt.Errorf("key %s: not a private key", rk.ID)
			}
			k = parsed
		}
		nk := *k
		nk.state, nk.info = rk.State, rk
		nk.info.PEM = nil
		keys = append(keys, &nk)
		if rk.ID == r.Signer {
			signer = &nk
		}
	}
	if r.Signer != "" && signer == nil {
		return fmt.Errorf("signer %s is not in the ring", r.Signer)
	}
	// Keys given to WithKey (which only verify) stay, unless the ring holds them itself.
	inRing := len(keys)
	for _, k := range g.cfg.keys {
		if !slices.ContainsFunc(keys[:inRing], func(rk *key) bool { return rk.kid == k.kid }) {
			keys = append(keys, k)
		}
	}
	g.keyring.Store(newKeyRing(keys, signer, r.SignUntil))
	return nil
}

// Ring reports the ring in force, without key material.
func (in internals) Ring() engine.Ring {
	r := in.g.ring()
	out := engine.Ring{SignUntil: r.signUntil}
	if r.signer != nil {
		out.Signer = r.signer.kid
	}
	for _, k := range r.keys {
		info := k.info
		info.ID, info.Algorithm, info.State, info.PEM = k.kid, k.alg, k.state, nil
		out.Keys = append(out.Keys, info)
	}
	return out
}

// Now is the Guard's clock.
func (in internals) Now() time.Time { return in.g.cfg.now() }

// TokenLifetime is how long a token the Guard signs can pass: the access-token lifetime
// plus the leeway.
func (in internals) TokenLifetime() time.Duration { return in.g.cfg.accessTTL + in.g.cfg.leeway }

// Logger is the Guard's operational logger.
func (in internals) Logger() *slog.Logger { return in.g.log }

// Store is the Guard's store.
func (in internals) Store() any { return in.g.store }

// DependencyError reports a failed key-store call as the Guard reports its store's: an
// audit event each time, a throttled log line.
func (in internals) DependencyError(op string, err error) {
	in.g.depError(in.g.ctx, "key_store", op, err)
}
