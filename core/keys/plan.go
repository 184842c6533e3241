package keys

import (
	"slices"
	"time"

	"github.com/authframe/authframe/core/store"
)

// policy is what a rotation step needs to know.
type policy struct {
	// every is how long a key signs before the next takes over; 0: no schedule (only
	// what is due by the ring's own times, as for Generate and Promote).
	every time.Duration
	// propagation is how long a key is published before it may sign, and how long an
	// instance that cannot refresh its ring keeps signing with what it has.
	propagation time.Duration
	// lifetime is the longest a token may pass after it was signed (leeway included).
	lifetime time.Duration
}

// change says what a step did to one key, for the log and the command's report.
type change struct {
	What string // "created", "published", "promoted", "retired", "removed"
	Key  store.SigningKey
}

// plan computes the ring after one rotation step at now, and what changed; the ring is
// returned unchanged (and no change) when nothing is due. newKey makes a fresh sealed key
// (only called when one is needed). The whole result is written at once, so a step is
// atomic however many keys it touches.
//
//  1. A retiring key whose ExpiresAt has passed is removed: every token it signed expired.
//  2. An empty ring (no active, no next key) gets a key that is active at once: nothing
//     was signed before it, and instances that start with it read it before they verify.
//  3. A next key due (its ActiveAt reached) and published for the propagation interval
//     becomes active; the active key becomes retiring, kept until now plus the
//     propagation interval (an instance that has not read the ring yet signs with it that
//     long) plus the token lifetime.
//  4. With a schedule, an active key due to be replaced within the propagation interval
//     gets a next key, published now and due when the active key's time is up (and never
//     before the propagation interval has passed).
func plan(ring []store.SigningKey, now time.Time, p policy, newKey func(now time.Time) (store.SigningKey, error)) ([]store.SigningKey, []change, error) {
	out := make([]store.SigningKey, 0, len(ring)+1)
	var changes []change
	for _, k := range ring {
		if k.State == store.KeyRetiring && !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
			changes = append(changes, change{"removed", k})
			continue
		}
		out = append(out, k)
	}
	active, next := -1, -1
	for i, k := range out {
		switch k.State {
		case store.KeyActive:
			// Two active keys (a ring edited by hand): the one that started last signs.
			if active < 0 || k.ActiveAt.After(out[active].ActiveAt) {
				active = i
			}
		case store.KeyNext:
			if next < 0 || k.CreatedAt.Before(out[next].CreatedAt) {
				next = i
			}
		}
	}
	retire := func(i int) {
		out[i].State, out[i].RetiredAt, out[i].ExpiresAt = store.KeyRetiring, now, now.Add(p.propagation+p.lifetime)
		changes = append(changes, change{"retired", out[i]})
	}
	for i, k := range out {
		if k.State == store.KeyActive && i != active {
			retire(i)
		}
	}
	if active < 0 && next < 0 {
		k, err := newKey(now)
		if err != nil {
			return nil, nil, err
		}
		k.State, k.CreatedAt, k.ActiveAt = store.KeyActive, now, now
		out = append(out, k)
		changes = append(changes, change{"created", k})
		return out, changes, nil
	}
	if next >= 0 && !now.Before(out[next].ActiveAt) && !now.Before(out[next].CreatedAt.Add(p.propagation)) {
		if active >= 0 {
			retire(active)
		}
		out[next].State, out[next].ActiveAt = store.KeyActive, now
		changes = append(changes, change{"promoted", out[next]})
		active, next = next, -1
	}
	if p.every > 0 && next < 0 && active >= 0 {
		due := out[active].ActiveAt.Add(p.every)
		if !now.Before(due.Add(-p.propagation)) {
			k, err := newKey(now)
			if err != nil {
				return nil, nil, err
			}
			k.State, k.CreatedAt, k.ActiveAt = store.KeyNext, now, maxTime(due, now.Add(p.propagation))
			out = append(out, k)
			changes = append(changes, change{"published", k})
		}
	}
	if len(changes) == 0 {
		return ring, nil, nil
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, changes, nil
}

// signer picks the key an instance signs with, from a ring it read at loadedAt, and until
// when it may: the active key once it has been published for the propagation interval
// (a key born active in an empty ring at once); while the active key is younger (a
// rotation done on another clock, or by hand), the key it replaced, for no longer than the
// propagation interval after it retired. An instance signs for no longer than the
// propagation interval after its last read either: removal times count on that.
func signer(ring []store.SigningKey, now, loadedAt time.Time, propagation time.Duration) (kid string, until time.Time) {
	until = loadedAt.Add(propagation)
	var fallback *store.SigningKey
	for i := range ring {
		k := &ring[i]
		switch k.State {
		case store.KeyActive:
			if k.ActiveAt.Equal(k.CreatedAt) || !now.Before(k.CreatedAt.Add(propagation)) {
				return k.ID, until
			}
		case store.KeyRetiring:
			if fallback == nil || k.RetiredAt.After(fallback.RetiredAt) {
				fallback = k
			}
		}
	}
	if fallback != nil && now.Before(fallback.RetiredAt.Add(propagation)) {
		return fallback.ID, minTime(until, fallback.RetiredAt.Add(propagation))
	}
	return "", time.Time{}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
