package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

// runKeyStore runs the cases of store.KeyStore.
func runKeyStore(t *testing.T, newStore Factory) {
	t.Run("signing keys: an empty ring has version 0", func(t *testing.T) { testEmptyRing(t, newStore(t)) })
	t.Run("signing keys: the ring round trips, oldest first", func(t *testing.T) { testRingRoundTrip(t, newStore(t)) })
	t.Run("signing keys: a write on a stale version is a conflict", func(t *testing.T) { testRingConflict(t, newStore(t)) })
	t.Run("signing keys: of twenty concurrent writes on one version one wins", func(t *testing.T) { testRingConcurrentWrites(t, newStore(t)) })
	t.Run("signing keys: a bad ring is refused and nothing is written", func(t *testing.T) { testRingRefused(t, newStore(t)) })
	t.Run("signing keys: the lock has one holder", func(t *testing.T) { testKeyLock(t, newStore(t)) })
	t.Run("signing keys: the lock of a dead holder frees itself", func(t *testing.T) { testKeyLockExpires(t, newStore(t)) })
	t.Run("signing keys: of twenty concurrent lockers one wins", func(t *testing.T) { testKeyLockConcurrent(t, newStore(t)) })
}

func keyStore(t *testing.T, s store.Store) store.KeyStore {
	t.Helper()
	ks, ok := s.(store.KeyStore)
	if !ok {
		t.Skip("store does not keep signing keys")
	}
	return ks
}

// sealedBytes stands for a sealed private key: opaque bytes, every value of a byte.
func sealedBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func ring(now time.Time) []store.SigningKey {
	return []store.SigningKey{
		{ID: id("kid-"), Algorithm: "EdDSA", State: store.KeyRetiring, Sealed: sealedBytes(80), CreatedAt: now.Add(-3 * time.Hour),
			ActiveAt: now.Add(-2 * time.Hour), RetiredAt: now.Add(-time.Minute), ExpiresAt: now.Add(20 * time.Minute)},
		{ID: id("kid-"), Algorithm: "ES256", State: store.KeyActive, Sealed: sealedBytes(140), CreatedAt: now.Add(-time.Hour), ActiveAt: now.Add(-time.Minute)},
		{ID: id("kid-"), Algorithm: "EdDSA", State: store.KeyNext, Sealed: sealedBytes(80), CreatedAt: now, ActiveAt: now.Add(time.Hour)},
	}
}

func checkRing(t *testing.T, got, want []store.SigningKey) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("ring has %d keys, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Algorithm != w.Algorithm || g.State != w.State || !bytes.Equal(g.Sealed, w.Sealed) ||
			!near(g.CreatedAt, w.CreatedAt) || !sameTime(g.ActiveAt, w.ActiveAt) || !sameTime(g.RetiredAt, w.RetiredAt) || !sameTime(g.ExpiresAt, w.ExpiresAt) {
			t.Fatalf("key %d = %+v\nwant %+v", i, g, w)
		}
	}
}

func testEmptyRing(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	keys, v, err := ks.SigningKeys(ctx(t))
	if err != nil || v != 0 || len(keys) != 0 {
		t.Fatalf("SigningKeys of a new store = %v, %d, %v; want none, 0, nil", keys, v, err)
	}
}

func testRingRoundTrip(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	want := ring(now)
	// Written newest first: the store orders by creation.
	v1, err := ks.PutSigningKeys(c, []store.SigningKey{want[2], want[0], want[1]}, 0)
	if err != nil || v1 <= 0 {
		t.Fatalf("PutSigningKeys = %d, %v", v1, err)
	}
	got, v, err := ks.SigningKeys(c)
	if err != nil || v != v1 {
		t.Fatalf("SigningKeys = version %d, %v; want %d", v, err, v1)
	}
	checkRing(t, got, want)

	// A step: the next key becomes active, the active one retiring, the retiring one goes.
	step := []store.SigningKey{want[1], want[2]}
	step[0].State, step[0].RetiredAt, step[0].ExpiresAt = store.KeyRetiring, now, now.Add(16*time.Minute)
	step[1].State, step[1].ActiveAt = store.KeyActive, now
	v2, err := ks.PutSigningKeys(c, step, v1)
	if err != nil || v2 <= v1 {
		t.Fatalf("PutSigningKeys(step) = %d, %v; want a version above %d", v2, err, v1)
	}
	got, v, err = ks.SigningKeys(c)
	if err != nil || v != v2 {
		t.Fatalf("SigningKeys = version %d, %v; want %d", v, err, v2)
	}
	checkRing(t, got, step)

	// The whole ring may go.
	v3, err := ks.PutSigningKeys(c, nil, v2)
	if err != nil || v3 <= v2 {
		t.Fatalf("PutSigningKeys(nil) = %d, %v", v3, err)
	}
	if got, _, err = ks.SigningKeys(c); err != nil || len(got) != 0 {
		t.Fatalf("SigningKeys after emptying = %v, %v", got, err)
	}
}

func testRingConflict(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	r := ring(now)
	v1, err := ks.PutSigningKeys(c, r[:1], 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.PutSigningKeys(c, r, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutSigningKeys on version 0 after a write = %v, want ErrConflict", err)
	}
	if _, err := ks.PutSigningKeys(c, r, v1+1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutSigningKeys on a version never written = %v, want ErrConflict", err)
	}
	got, v, err := ks.SigningKeys(c)
	if err != nil || v != v1 {
		t.Fatalf("SigningKeys = version %d, %v; want %d", v, err, v1)
	}
	checkRing(t, got, r[:1])
}

func testRingConcurrentWrites(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	v0, err := ks.PutSigningKeys(c, ring(now)[:1], 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wins atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r := ring(now)
			r[1].Algorithm = fmt.Sprintf("writer-%d", i)
			_, err := ks.PutSigningKeys(c, r, v0)
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(r)
			case !errors.Is(err, store.ErrConflict):
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("PutSigningKeys: %v", err)
	}
	if wins.Load() != 1 {
		t.Fatalf("%d writes on one version succeeded, want exactly 1", wins.Load())
	}
	got, _, err := ks.SigningKeys(c)
	if err != nil {
		t.Fatal(err)
	}
	checkRing(t, got, winner.Load().([]store.SigningKey))
}

func testRingRefused(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	good := ring(now)
	v1, err := ks.PutSigningKeys(c, good, 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(r []store.SigningKey) []store.SigningKey{
		"two keys with one id": func(r []store.SigningKey) []store.SigningKey { r[1].ID = r[0].ID; return r },
		"an unknown state":     func(r []store.SigningKey) []store.SigningKey { r[0].State = "standby"; return r },
		"no id":                func(r []store.SigningKey) []store.SigningKey { r[2].ID = ""; return r },
		"no sealed material":   func(r []store.SigningKey) []store.SigningKey { r[2].Sealed = nil; return r },
	}
	for name, mutate := range bad {
		if _, err := ks.PutSigningKeys(c, mutate(ring(now)), v1); err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("a ring with %s: PutSigningKeys = %v, want a validation error", name, err)
		}
	}
	got, v, err := ks.SigningKeys(c)
	if err != nil || v != v1 {
		t.Fatalf("SigningKeys = version %d, %v; want %d", v, err, v1)
	}
	checkRing(t, got, good)
}

func testKeyLock(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	c := ctx(t)
	a, b := id("owner-a-"), id("owner-b-")
	if ok, err := ks.AcquireKeyLock(c, a, time.Minute); err != nil || !ok {
		t.Fatalf("first AcquireKeyLock = %v, %v", ok, err)
	}
	if ok, err := ks.AcquireKeyLock(c, b, time.Minute); err != nil || ok {
		t.Fatalf("AcquireKeyLock of a held lock = %v, %v; want false", ok, err)
	}
	if ok, err := ks.AcquireKeyLock(c, a, time.Minute); err != nil || !ok {
		t.Fatalf("AcquireKeyLock by its holder (extending it) = %v, %v", ok, err)
	}
	if err := ks.ReleaseKeyLock(c, b); err != nil {
		t.Fatalf("ReleaseKeyLock by another owner: %v", err)
	}
	if ok, err := ks.AcquireKeyLock(c, b, time.Minute); err != nil || ok {
		t.Fatalf("another owner's release freed the lock: AcquireKeyLock = %v, %v", ok, err)
	}
	if err := ks.ReleaseKeyLock(c, a); err != nil {
		t.Fatalf("ReleaseKeyLock: %v", err)
	}
	if ok, err := ks.AcquireKeyLock(c, b, time.Minute); err != nil || !ok {
		t.Fatalf("AcquireKeyLock after the release = %v, %v", ok, err)
	}
	if ok, err := ks.AcquireKeyLock(c, a, time.Minute); err != nil || ok {
		t.Fatalf("AcquireKeyLock of the new holder's lock = %v, %v; want false", ok, err)
	}
}

func testKeyLockExpires(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	c := ctx(t)
	a, b := id("owner-a-"), id("owner-b-")
	const ttl = 300 * time.Millisecond
	if ok, err := ks.AcquireKeyLock(c, a, ttl); err != nil || !ok {
		t.Fatalf("AcquireKeyLock = %v, %v", ok, err)
	}
	// a dies without releasing: b waits for the ttl.
	if ok, err := ks.AcquireKeyLock(c, b, time.Minute); err != nil || ok {
		t.Fatalf("AcquireKeyLock within the ttl = %v, %v; want false", ok, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := ks.AcquireKeyLock(c, b, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lock of a holder that died was never freed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ok, err := ks.AcquireKeyLock(c, a, time.Minute); err != nil || ok {
		t.Fatalf("the dead holder took the lock back from the new one: %v, %v", ok, err)
	}
}

func testKeyLockConcurrent(t *testing.T, s store.Store) {
	ks := keyStore(t, s)
	c := ctx(t)
	const n = 20
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ok, err := ks.AcquireKeyLock(c, fmt.Sprintf("owner-%d", i), time.Minute)
			if err != nil {
				errs <- err
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AcquireKeyLock: %v", err)
	}
	if wins.Load() != 1 {
		t.Fatalf("%d of %d concurrent lockers got the lock, want exactly 1", wins.Load(), n)
	}
}
