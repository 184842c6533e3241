package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func mfaStore(t *testing.T, s store.Store) store.MFAStore {
	t.Helper()
	ms, ok := s.(store.MFAStore)
	if !ok {
		t.Skip("store does not keep two-factor records")
	}
	return ms
}

func replayStore(t *testing.T, s store.Store) store.ReplayStore {
	t.Helper()
	rs, ok := s.(store.ReplayStore)
	if !ok {
		t.Skip("store does not remember replay keys")
	}
	return rs
}

// sealed stands for a sealed secret: opaque bytes, NUL and invalid UTF-8 included, which a
// store must keep byte for byte.
func sealed() []byte {
	b := make([]byte, 57)
	_, _ = rand.Read(b)
	b[0], b[1], b[2] = 0x00, 0xff, 0xfe
	return b
}

func recoveryHashes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = secretHash(id(fmt.Sprintf("recovery-%d-", i)))
	}
	return out
}

func newMFA(userID string, now time.Time) store.MFA {
	return store.MFA{UserID: userID, SealedSecret: sealed(), CreatedAt: now}
}

func sameHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func checkMFA(t *testing.T, what string, got, want store.MFA) {
	t.Helper()
	if got.UserID != want.UserID || !bytes.Equal(got.SealedSecret, want.SealedSecret) || got.Confirmed != want.Confirmed ||
		got.LastStep != want.LastStep || !sameHashes(got.RecoveryHashes, want.RecoveryHashes) || !near(got.CreatedAt, want.CreatedAt) {
		t.Fatalf("%s = %+v\nwant %+v", what, got, want)
	}
}

func getMFA(t *testing.T, ms store.MFAStore, userID string) store.MFA {
	t.Helper()
	got, ok, err := ms.GetMFA(ctx(t), userID)
	if err != nil || !ok {
		t.Fatalf("GetMFA = %v, %v; want a record", ok, err)
	}
	return got
}

func testMFAEnrolment(t *testing.T, s store.Store) {
	ms := mfaStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	user := id("u")

	first := newMFA(user, now)
	if err := ms.PutMFA(c, first); err != nil {
		t.Fatalf("PutMFA(pending): %v", err)
	}
	checkMFA(t, "GetMFA of the pending record", getMFA(t, ms, user), first)

	second := newMFA(user, now.Add(time.Second))
	if err := ms.PutMFA(c, second); err != nil {
		t.Fatalf("PutMFA over a pending record: %v", err)
	}
	checkMFA(t, "GetMFA after a second enrolment", getMFA(t, ms, user), second)

	if err := ms.ConfirmMFA(c, user, first.SealedSecret, 100, recoveryHashes(10)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConfirmMFA with the replaced secret = %v, want ErrNotFound", err)
	}
	checkMFA(t, "the pending record after a refused confirmation", getMFA(t, ms, user), second)

	hashes := recoveryHashes(10)
	if err := ms.ConfirmMFA(c, user, second.SealedSecret, 100, hashes); err != nil {
		t.Fatalf("ConfirmMFA: %v", err)
	}
	confirmed := second
	confirmed.Confirmed, confirmed.LastStep, confirmed.RecoveryHashes = true, 100, hashes
	checkMFA(t, "GetMFA of the confirmed record", getMFA(t, ms, user), confirmed)

	if err := ms.ConfirmMFA(c, user, second.SealedSecret, 101, recoveryHashes(10)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second ConfirmMFA = %v, want ErrConflict", err)
	}
	if err := ms.PutMFA(c, newMFA(user, now)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutMFA over a confirmed record = %v, want ErrConflict", err)
	}
	checkMFA(t, "the confirmed record after refused writes", getMFA(t, ms, user), confirmed)

	if existed, err := ms.DeleteMFA(c, user); !existed || err != nil {
		t.Fatalf("DeleteMFA = %v, %v; want true, nil", existed, err)
	}
	if _, ok, err := ms.GetMFA(c, user); ok || err != nil {
		t.Fatalf("GetMFA after DeleteMFA = %v, %v; want false, nil", ok, err)
	}
	again := newMFA(user, now.Add(2*time.Second))
	if err := ms.PutMFA(c, again); err != nil {
		t.Fatalf("PutMFA after DeleteMFA: %v", err)
	}
	checkMFA(t, "the record enrolled again", getMFA(t, ms, user), again)
}

func testMFANotFound(t *testing.T, s store.Store) {
	ms := mfaStore(t, s)
	c := ctx(t)
	nobody := id("nobody")
	if _, ok, err := ms.GetMFA(c, nobody); ok || err != nil {
		t.Fatalf("GetMFA(missing) = %v, %v; want false, nil", ok, err)
	}
	if existed, err := ms.DeleteMFA(c, nobody); existed || err != nil {
		t.Fatalf("DeleteMFA(missing) = %v, %v; want false, nil", existed, err)
	}
	if err := ms.ConfirmMFA(c, nobody, sealed(), 1, recoveryHashes(1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConfirmMFA(missing) = %v, want ErrNotFound", err)
	}
	if ok, err := ms.UseTOTPStep(c, nobody, 1); ok || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UseTOTPStep(missing) = %v, %v; want false, ErrNotFound", ok, err)
	}
	if ok, err := ms.UseRecoveryCode(c, nobody, secretHash("x")); ok || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UseRecoveryCode(missing) = %v, %v; want false, ErrNotFound", ok, err)
	}
	// A pending record does not log anyone in.
	pending := newMFA(id("u"), time.Now())
	pending.RecoveryHashes = recoveryHashes(2)
	if err := ms.PutMFA(c, pending); err != nil {
		t.Fatal(err)
	}
	if ok, err := ms.UseTOTPStep(c, pending.UserID, 1); ok || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UseTOTPStep(pending) = %v, %v; want false, ErrNotFound", ok, err)
	}
	if ok, err := ms.UseRecoveryCode(c, pending.UserID, pending.RecoveryHashes[0]); ok || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UseRecoveryCode(pending) = %v, %v; want false, ErrNotFound", ok, err)
	}
}

func testTOTPSteps(t *testing.T, s store.Store) {
	ms := mfaStore(t, s)
	c := ctx(t)
	for _, base := range []int64{0, 59_000_000, 1 << 60} {
		m := newMFA(id("u"), time.Now().UTC().Truncate(time.Millisecond))
		m.Confirmed, m.LastStep = true, base
		if err := ms.PutMFA(c, m); err != nil {
			t.Fatalf("PutMFA(confirmed): %v", err)
		}
		checkMFA(t, "GetMFA of a record put confirmed", getMFA(t, ms, m.UserID), m)
		for _, tc := range []struct {
			step int64
			ok   bool
		}{
			{base, false}, {base - 1, false}, {base + 1, true}, {base + 1, false}, {base, false},
			{base + 3, true}, {base + 2, false}, {base + 4, true},
		} {
			ok, err := ms.UseTOTPStep(c, m.UserID, tc.step)
			if err != nil || ok != tc.ok {
				t.Fatalf("UseTOTPStep(base %d%+d) = %v, %v; want %v", base, tc.step-base, ok, err, tc.ok)
			}
		}
		if got := getMFA(t, ms, m.UserID).LastStep; got != base+4 {
			t.Fatalf("LastStep = base%+d, want base+4", got-base)
		}
	}
}

func testConcurrentTOTPStep(t *testing.T, s store.Store) {
	ms := mfaStore(t, s)
	c := ctx(t)
	m := newMFA(id("u"), time.Now())
	m.Confirmed, m.LastStep = true, 1000
	if err := ms.PutMFA(c, m); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int64{1001, 1002, 1005} {
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-start
				ok, err := ms.UseTOTPStep(c, m.UserID, step)
				if err != nil {
					t.Errorf("UseTOTPStep: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d of 50 concurrent uses of step %d were accepted, want exactly 1", wins.Load(), step)
		}
	}
}

func testRecoveryCodes(t *testing.T, s store.Store) {
	ms := mfaStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	m := newMFA(id("u"), now)
	if err := ms.PutMFA(c, m); err != nil {
		t.Fatal(err)
	}
	hashes := recoveryHashes(10)
	if err := ms.ConfirmMFA(c, m.UserID, m.SealedSecret, 7, hashes); err != nil {
		t.Fatal(err)
	}
	if ok, err := ms.UseRecoveryCode(c, m.UserID, secretHash("not a code of theirs")); ok || err != nil {
		t.Fatalf("UseRecoveryCode(unknown hash) = %v, %v; want false, nil", ok, err)
	}
	if ok, err := ms.UseRecoveryCode(c, m.UserID, nil); ok || err != nil {
		t.Fatalf("UseRecoveryCode(nil) = %v, %v; want false, nil", ok, err)
	}
	if ok, err := ms.UseRecoveryCode(c, m.UserID, hashes[3]); !ok || err != nil {
		t.Fatalf("UseRecoveryCode = %v, %v; want true, nil", ok, err)
	}
	if ok, err := ms.UseRecoveryCode(c, m.UserID, hashes[3]); ok || err != nil {
		t.Fatalf("a second UseRecoveryCode of one code = %v, %v; want false, nil", ok, err)
	}
	left := append(append([][]byte{}, hashes[:3]...), hashes[4:]...)
	got := getMFA(t, ms, m.UserID)
	if !sameHashes(got.RecoveryHashes, left) {
		t.Fatalf("RecoveryHashes after one use: %d hashes, want the other %d in order", len(got.RecoveryHashes), len(left))
	}
	if got.LastStep != 7 || !got.Confirmed {
		t.Fatalf("using a recovery code changed the record: %+v", got)
	}

	// Of concurrent uses of one code exactly one succeeds; uses of distinct codes all do.
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 30 {
		wg.Go(func() {
			<-start
			ok, err := ms.UseRecoveryCode(c, m.UserID, hashes[0])
			if err != nil {
				t.Errorf("UseRecoveryCode: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	for _, h := range hashes[4:] {
		wg.Go(func() {
			<-start
			if ok, err := ms.UseRecoveryCode(c, m.UserID, h); !ok || err != nil {
				t.Errorf("UseRecoveryCode of a distinct code = %v, %v; want true, nil", ok, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of 30 concurrent uses of one recovery code succeeded, want exactly 1", wins.Load())
	}
	if got := getMFA(t, ms, m.UserID).RecoveryHashes; !sameHashes(got, hashes[1:3]) {
		t.Fatalf("RecoveryHashes after the uses: %d hashes, want 2", len(got))
	}
}

func testMFAIsolation(t *testing.T, a, b store.Store) {
	ma, mb := mfaStore(t, a), mfaStore(t, b)
	c := ctx(t)
	m := newMFA(id("u"), time.Now())
	if err := ma.PutMFA(c, m); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := mb.GetMFA(c, m.UserID); ok || err != nil {
		t.Fatalf("a record of one store is seen by another: %v, %v", ok, err)
	}
	ra, rb := replayStore(t, a), replayStore(t, b)
	key := id("jti")
	until := time.Now().Add(time.Minute)
	if fresh, err := ra.Remember(c, key, until); !fresh || err != nil {
		t.Fatalf("Remember = %v, %v", fresh, err)
	}
	if fresh, err := rb.Remember(c, key, until); !fresh || err != nil {
		t.Fatalf("a key remembered by one store is known to another: %v, %v", fresh, err)
	}
}

func testReplay(t *testing.T, s store.Store) {
	rs := replayStore(t, s)
	c := ctx(t)
	until := time.Now().Add(time.Minute)
	key := id("jkt:") + ":" + id("jti")
	if fresh, err := rs.Remember(c, key, until); !fresh || err != nil {
		t.Fatalf("first Remember = %v, %v; want true, nil", fresh, err)
	}
	for i := range 3 {
		if fresh, err := rs.Remember(c, key, until.Add(time.Duration(i)*time.Hour)); fresh || err != nil {
			t.Fatalf("Remember of a known key = %v, %v; want false, nil", fresh, err)
		}
	}
	if fresh, err := rs.Remember(c, key+"x", until); !fresh || err != nil {
		t.Fatalf("Remember of another key = %v, %v; want true, nil", fresh, err)
	}
	// Keys are compared whole: neither a prefix nor odd bytes make two keys one.
	odd := key + "\x00{tag}\xff"
	if fresh, err := rs.Remember(c, odd, until); !fresh || err != nil {
		t.Fatalf("Remember of a key with odd bytes = %v, %v; want true, nil", fresh, err)
	}
	if fresh, err := rs.Remember(c, odd, until); fresh || err != nil {
		t.Fatalf("a second Remember of a key with odd bytes = %v, %v; want false, nil", fresh, err)
	}
	past := id("past")
	for range 2 {
		if fresh, err := rs.Remember(c, past, time.Now().Add(-time.Second)); !fresh || err != nil {
			t.Fatalf("Remember until the past = %v, %v; want true, nil (nothing to remember)", fresh, err)
		}
	}
}

func testConcurrentReplay(t *testing.T, s store.Store) {
	rs := replayStore(t, s)
	c := ctx(t)
	key := id("jti")
	until := time.Now().Add(time.Minute)
	var fresh atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			ok, err := rs.Remember(c, key, until)
			if err != nil {
				t.Errorf("Remember: %v", err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d of 50 concurrent Remember calls saw the key fresh, want exactly 1", fresh.Load())
	}
}

func testReplayExpiry(t *testing.T, s store.Store) {
	rs := replayStore(t, s)
	c := ctx(t)
	key := id("jti")
	until := time.Now().Add(300 * time.Millisecond)
	if fresh, err := rs.Remember(c, key, until); !fresh || err != nil {
		t.Fatalf("Remember = %v, %v", fresh, err)
	}
	if fresh, err := rs.Remember(c, key, until); fresh || err != nil {
		t.Fatalf("Remember before until = %v, %v; want false, nil", fresh, err)
	}
	time.Sleep(time.Until(until) + 200*time.Millisecond)
	if fresh, err := rs.Remember(c, key, time.Now().Add(time.Minute)); !fresh || err != nil {
		t.Fatalf("Remember after until = %v, %v; want true, nil (the entry expired)", fresh, err)
	}
	if fresh, err := rs.Remember(c, key, time.Now().Add(time.Minute)); fresh || err != nil {
		t.Fatalf("Remember of the key remembered again = %v, %v; want false, nil", fresh, err)
	}
}
