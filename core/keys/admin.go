package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// Info describes a key of a ring, without its key material.
type Info struct {
	// ID is the key's kid.
	ID        string
	Algorithm string
	// State is empty for a key given to authframe.WithKey without a state that cannot
	// sign: it only verifies.
	State State
	// Signing says that this key signs what the Guard issues now (Held only).
	Signing bool
	// CreatedAt, ActiveAt, RetiredAt and ExpiresAt are a rotating ring's times (see
	// store.SigningKey); zero for keys given to authframe.WithKey.
	CreatedAt time.Time
	ActiveAt  time.Time
	RetiredAt time.Time
	ExpiresAt time.Time
}

func infoOf(k store.SigningKey) Info {
	return Info{ID: k.ID, Algorithm: k.Algorithm, State: k.State, CreatedAt: k.CreatedAt, ActiveAt: k.ActiveAt, RetiredAt: k.RetiredAt, ExpiresAt: k.ExpiresAt}
}

// Held lists the keys g verifies with (its JWKS, and its HMAC keys) and says which one
// signs: what this instance holds now, which during a rotation may be a step behind the
// store.
func Held(g *authframe.Guard) []Info {
	r := engine.Of(g).(interface{ Ring() engine.Ring }).Ring()
	out := make([]Info, 0, len(r.Keys))
	for _, k := range r.Keys {
		out = append(out, Info{ID: k.ID, Algorithm: k.Algorithm, State: k.State, Signing: k.ID == r.Signer && r.Signer != "",
			CreatedAt: k.CreatedAt, ActiveAt: k.ActiveAt, RetiredAt: k.RetiredAt, ExpiresAt: k.ExpiresAt})
	}
	return out
}

// List returns the ring kept in ks, oldest key first. It needs no KEK: it opens no key.
func List(ctx context.Context, ks store.KeyStore) ([]Info, error) {
	if ks == nil {
		return nil, errors.New("keys: no key store")
	}
	ring, _, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ring))
	for _, k := range ring {
		out = append(out, infoOf(k))
	}
	return out, nil
}

// Generate adds a fresh key to the ring in r.Store, by hand. In an empty ring it is active
// at once (provision the ring before the first instance starts, say); otherwise it is
// published as next and signs once r.Propagation has passed: the instances running
// WithRotation promote it then, or Promote does. A ring that has a next key already is
// refused. Retired keys whose time is up are removed in the same write.
func Generate(ctx context.Context, r Rotation) (Info, error) {
	rr, seal, err := adminSetup(r)
	if err != nil {
		return Info{}, err
	}
	newKey := func(time.Time) (store.SigningKey, error) { return newSealedKey(seal, rr.Algorithm) }
	edit := func(ring []store.SigningKey, now time.Time) ([]store.SigningKey, []change, error) {
		for _, k := range ring {
			if k.State == store.KeyNext {
				return nil, nil, fmt.Errorf("keys: key %s is next already (due to sign from %s): promote it, or wait", k.ID, k.ActiveAt.Format(time.RFC3339))
			}
		}
		if !hasKeys(ring) {
			return ring, nil, nil // the step creates the first key, active at once
		}
		k, err := newKey(now)
		if err != nil {
			return nil, nil, err
		}
		k.State, k.CreatedAt, k.ActiveAt = store.KeyNext, now, now.Add(rr.Propagation)
		return append(ring, k), []change{{"published", k}}, nil
	}
	changes, err := runAdmin(ctx, rr, newKey, edit)
	if err != nil {
		return Info{}, err
	}
	for _, c := range changes {
		if c.What == "published" || c.What == "created" {
			return infoOf(c.Key), nil
		}
	}
	return Info{}, errors.New("keys: no key was made")
}

// Promote makes the next key of the ring in r.Store active now, by hand, and the active
// one retiring. It refuses while the next key has been published for less than
// r.Propagation: instances that have not read the ring yet would refuse its tokens.
// Retired keys whose time is up are removed in the same write.
func Promote(ctx context.Context, r Rotation) (Info, error) {
	rr, seal, err := adminSetup(r)
	if err != nil {
		return Info{}, err
	}
	var promoted string
	edit := func(ring []store.SigningKey, now time.Time) ([]store.SigningKey, []change, error) {
		next := -1
		for i, k := range ring {
			if k.State == store.KeyNext && (next < 0 || k.CreatedAt.Before(ring[next].CreatedAt)) {
				next = i
			}
		}
		if next < 0 {
			return nil, nil, errors.New("keys: the ring has no next key: generate one, and wait for the propagation interval")
		}
		k := &ring[next]
		if ready := k.CreatedAt.Add(rr.Propagation); now.Before(ready) {
			return nil, nil, fmt.Errorf("keys: key %s has been published for %v; it may sign from %s (after the propagation interval, %v)",
				k.ID, now.Sub(k.CreatedAt).Round(time.Second), ready.Format(time.RFC3339), rr.Propagation)
		}
		k.ActiveAt, promoted = now, k.ID
		return ring, nil, nil
	}
	changes, err := runAdmin(ctx, rr, func(time.Time) (store.SigningKey, error) { return newSealedKey(seal, rr.Algorithm) }, edit)
	if err != nil {
		return Info{}, err
	}
	for _, c := range changes {
		if c.What == "promoted" && c.Key.ID == promoted {
			return infoOf(c.Key), nil
		}
	}
	return Info{}, fmt.Errorf("keys: key %s was not promoted", promoted)
}

func adminSetup(r Rotation) (Rotation, *sealer, error) {
	if r.Store == nil {
		return r, nil, errors.New("keys: Rotation.Store is required")
	}
	rr, err := r.withDefaults(false)
	if err != nil {
		return rr, nil, err
	}
	seal, err := newSealer(rr.KEK)
	if err != nil {
		return rr, nil, err
	}
	return rr, seal, nil
}

// runAdmin runs one step by hand, without a schedule: edit checks and adjusts the ring,
// then whatever is due by the ring's own times is done in the same write. A lock held by
// an instance in the middle of its own step is waited for, up to the lock's TTL.
func runAdmin(ctx context.Context, r Rotation, newKey func(time.Time) (store.SigningKey, error),
	edit func([]store.SigningKey, time.Time) ([]store.SigningKey, []change, error)) ([]change, error) {
	p := policy{propagation: r.Propagation, lifetime: r.TokenLifetime}
	owner := newOwner("admin")
	deadline := time.Now().Add(r.LockTTL + time.Second)
	for {
		changes, err := runStep(ctx, r.Store, owner, r.LockTTL, func() time.Time { return time.Now().Truncate(time.Millisecond) },
			p, newKey, edit, slog.New(slog.DiscardHandler))
		if !errors.Is(err, errLocked) || time.Now().After(deadline) {
			return changes, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
