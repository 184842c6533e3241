// Package storetest is the conformance suite every authframe store passes. A store module
// runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newStoreWithFreshPrefix(t) })
//	}
//
// The factory must return an empty store isolated from every other store it returns (its
// own key prefix or schema) and arrange its cleanup with t.Cleanup.
//
// The cases of an optional ability (store.RevocationFeed, store.StatsReporter,
// store.Exporter, store.ClientStore, store.APIKeyStore, store.MFAStore, store.ReplayStore,
// store.KeyStore) run when the store has it and skip otherwise.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

// Factory returns a fresh, empty, isolated store.
type Factory func(t *testing.T) store.Store

func id(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func hash(s string) []byte {
	b := make([]byte, 32)
	copy(b, s)
	return b
}

// near reports whether two times are equal to the millisecond, which every store keeps.
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d < time.Millisecond && d > -time.Millisecond
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func newSession(userID string, now time.Time, kind string) store.Session {
	return store.Session{
		ID: id("s"), UserID: userID, Username: "user-" + userID, Roles: []string{"member"}, Kind: kind,
		CSRFHash: hash("csrf"), UserAgent: "storetest/1.0", IP: "192.0.2.7",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
	}
}

// Run runs the whole suite.
func Run(t *testing.T, newStore Factory) {
	t.Run("users round trip and lookups", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("users not found is false, nil", func(t *testing.T) { testUsersNotFound(t, newStore(t)) })
	t.Run("users keep their disabled flag", func(t *testing.T) { testUserDisabled(t, newStore(t)) })
	t.Run("usernames are unique", func(t *testing.T) { testUserConflict(t, newStore(t)) })
	t.Run("sessions round trip", func(t *testing.T) { testSessions(t, newStore(t)) })
	t.Run("sessions keep the methods and time of their login", func(t *testing.T) { testSessionAMR(t, newStore(t)) })
	t.Run("sessions listed per user", func(t *testing.T) { testListSessions(t, newStore(t)) })
	t.Run("sessions keep the DPoP key of their family", func(t *testing.T) { testSessionJKT(t, newStore(t)) })
	t.Run("sessions touch moves the idle deadline", func(t *testing.T) { testTouch(t, newStore(t)) })
	t.Run("sessions expire by absolute and idle deadline", func(t *testing.T) { testSessionExpiry(t, newStore(t)) })
	t.Run("refresh tokens rotate within their family", func(t *testing.T) { testRefreshRotate(t, newStore(t)) })
	t.Run("refresh reuse revokes the family", func(t *testing.T) { testRefreshReuse(t, newStore(t)) })
	t.Run("refresh of a deleted session is not found", func(t *testing.T) { testRefreshDeleted(t, newStore(t)) })
	t.Run("fifty concurrent spends of one token give one success", func(t *testing.T) { testConcurrentSpend(t, newStore(t)) })
	t.Run("refresh family storage is bounded", func(t *testing.T) { testRefreshFamilyStorageIsBounded(t, newStore(t)) })
	t.Run("refresh reuse of the last spent tokens revokes the family", func(t *testing.T) { testRefreshReuseOfKept(t, newStore(t)) })
	t.Run("refresh tokens spent long ago are not found", func(t *testing.T) { testRefreshSpentLongAgo(t, newStore(t)) })
	t.Run("refresh tokens added as spent count as spends", func(t *testing.T) { testRefreshAddedSpent(t, newStore(t)) })
	t.Run("revocations are listed since a time and expire", func(t *testing.T) { testRevocations(t, newStore(t)) })
	t.Run("rate limit counts in windows", func(t *testing.T) { testRateLimit(t, newStore(t)) })
	t.Run("rate limit peek reads without counting", func(t *testing.T) { testRatePeek(t, newStore(t)) })
	t.Run("fifty concurrent hits add up exactly", func(t *testing.T) { testConcurrentHits(t, newStore(t)) })
	t.Run("two stores are isolated", func(t *testing.T) { testIsolation(t, newStore(t), newStore(t)) })
	t.Run("ping answers", func(t *testing.T) {
		if err := newStore(t).Ping(ctx(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("stats count live records", func(t *testing.T) { testStats(t, newStore(t)) })
	t.Run("export pages through every record", func(t *testing.T) { testExport(t, newStore(t)) })
	t.Run("revocations of every kind are stored and replayed", func(t *testing.T) { testRevocationKinds(t, newStore(t)) })
	t.Run("the revocation feed delivers every kind", func(t *testing.T) { testFeedKinds(t, newStore(t)) })
	t.Run("clients round trip and are listed oldest first", func(t *testing.T) { testClients(t, newStore(t)) })
	t.Run("client ids are unique", func(t *testing.T) { testClientConflict(t, newStore(t)) })
	t.Run("clients not found is false, nil", func(t *testing.T) { testClientsNotFound(t, newStore(t)) })
	t.Run("deleted clients are gone", func(t *testing.T) { testDeleteClient(t, newStore(t)) })
	t.Run("API keys round trip and are found by hash", func(t *testing.T) { testAPIKeys(t, newStore(t)) })
	t.Run("API keys are listed per user, oldest first", func(t *testing.T) { testListAPIKeys(t, newStore(t)) })
	t.Run("API key ids and hashes are unique", func(t *testing.T) { testAPIKeyConflict(t, newStore(t)) })
	t.Run("API keys expire", func(t *testing.T) { testAPIKeyExpiry(t, newStore(t)) })
	t.Run("API keys are deleted by their owner only", func(t *testing.T) { testDeleteAPIKey(t, newStore(t)) })
	t.Run("API key touch moves LastUsedAt forward", func(t *testing.T) { testTouchAPIKey(t, newStore(t)) })
	t.Run("clients and keys keep the caller's hashes byte for byte", func(t *testing.T) { testHashesOnly(t, newStore(t)) })
	t.Run("MFA enrolment replaces a pending record, never a confirmed one", func(t *testing.T) { testMFAEnrolment(t, newStore(t)) })
	t.Run("MFA records not found", func(t *testing.T) { testMFANotFound(t, newStore(t)) })
	t.Run("TOTP steps are accepted only moving forward", func(t *testing.T) { testTOTPSteps(t, newStore(t)) })
	t.Run("fifty concurrent uses of one TOTP step give one success", func(t *testing.T) { testConcurrentTOTPStep(t, newStore(t)) })
	t.Run("recovery codes work once", func(t *testing.T) { testRecoveryCodes(t, newStore(t)) })
	t.Run("two stores keep MFA records and replay keys apart", func(t *testing.T) { testMFAIsolation(t, newStore(t), newStore(t)) })
	t.Run("replay keys are fresh once", func(t *testing.T) { testReplay(t, newStore(t)) })
	t.Run("fifty concurrent Remember calls give one fresh", func(t *testing.T) { testConcurrentReplay(t, newStore(t)) })
	t.Run("replay keys expire by themselves", func(t *testing.T) { testReplayExpiry(t, newStore(t)) })
	runKeyStore(t, newStore)
}

func testUsers(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: id("u"), Username: id("alice."), PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Roles: []string{"admin", "member"}, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(c, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, ok, err := s.GetUser(c, u.ID)
	if err != nil || !ok {
		t.Fatalf("GetUser = %v, %v", ok, err)
	}
	if got.ID != u.ID || got.Username != u.Username || got.PasswordHash != u.PasswordHash || !slices.Equal(got.Roles, u.Roles) || !near(got.CreatedAt, u.CreatedAt) {
		t.Fatalf("GetUser = %+v, want %+v", got, u)
	}
	got, ok, err = s.GetUserByUsername(c, u.Username)
	if err != nil || !ok || got.ID != u.ID {
		t.Fatalf("GetUserByUsername = %+v, %v, %v", got, ok, err)
	}
	u.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$bmV3"
	u.Roles = []string{"member"}
	u.UpdatedAt = now.Add(time.Second)
	if err := s.UpdateUser(c, u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, _, _ = s.GetUser(c, u.ID)
	if got.PasswordHash != u.PasswordHash || !slices.Equal(got.Roles, []string{"member"}) {
		t.Fatalf("after UpdateUser = %+v", got)
	}
	if err := s.UpdateUser(c, store.User{ID: id("missing")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUser of a missing user = %v, want ErrNotFound", err)
	}
}

func testUserDisabled(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: id("u"), Username: id("carol."), PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Roles: []string{"member"}, CreatedAt: now, UpdatedAt: now, Disabled: true}
	if err := s.CreateUser(c, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if got, ok, err := s.GetUser(c, u.ID); err != nil || !ok || !got.Disabled {
		t.Fatalf("GetUser of a user created disabled = %+v, %v, %v; want Disabled", got, ok, err)
	}
	u.Disabled = false
	u.UpdatedAt = now.Add(time.Second)
	if err := s.UpdateUser(c, u); err != nil {
		t.Fatalf("UpdateUser (enable): %v", err)
	}
	if got, _, err := s.GetUserByUsername(c, u.Username); err != nil || got.Disabled {
		t.Fatalf("GetUserByUsername after enabling = %+v, %v; want not Disabled", got, err)
	}
	u.Disabled = true
	u.Roles = []string{"member", "auditor"}
	u.UpdatedAt = now.Add(2 * time.Second)
	if err := s.UpdateUser(c, u); err != nil {
		t.Fatalf("UpdateUser (disable): %v", err)
	}
	got, _, err := s.GetUser(c, u.ID)
	if err != nil || !got.Disabled || !slices.Equal(got.Roles, u.Roles) || got.PasswordHash != u.PasswordHash {
		t.Fatalf("GetUser after disabling = %+v, %v; want Disabled with the new roles", got, err)
	}
	if ex, ok := s.(store.Exporter); ok {
		var found bool
		for cursor := ""; ; {
			users, next, err := ex.ExportUsers(c, cursor, 100)
			if err != nil {
				t.Fatalf("ExportUsers: %v", err)
			}
			for _, e := range users {
				if e.ID == u.ID {
					found = true
					if !e.Disabled {
						t.Fatalf("ExportUsers lost the disabled flag: %+v", e)
					}
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !found {
			t.Fatal("ExportUsers did not return the disabled user")
		}
	}
}

func testUsersNotFound(t *testing.T, s store.Store) {
	c := ctx(t)
	if _, ok, err := s.GetUser(c, id("nobody")); ok || err != nil {
		t.Fatalf("GetUser(missing) = %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := s.GetUserByUsername(c, id("nobody")); ok || err != nil {
		t.Fatalf("GetUserByUsername(missing) = %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := s.GetSession(c, id("nosession")); ok || err != nil {
		t.Fatalf("GetSession(missing) = %v, %v; want false, nil", ok, err)
	}
	if err := s.TouchSession(c, id("nosession"), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchSession(missing) = %v; want ErrNotFound", err)
	}
	if existed, err := s.DeleteSession(c, id("nosession")); existed || err != nil {
		t.Fatalf("DeleteSession(missing) = %v, %v; want false, nil", existed, err)
	}
	if ss, err := s.ListSessions(c, id("nobody")); err != nil || len(ss) != 0 {
		t.Fatalf("ListSessions(nobody) = %v, %v", ss, err)
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: id("nosession"), Hash: hash("x"), CreatedAt: time.Now()}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AddRefreshToken(missing session) = %v; want ErrNotFound", err)
	}
	if _, err := s.RotateRefreshToken(c, id("nosession"), hash("a"), hash("b"), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RotateRefreshToken(missing) = %v; want ErrNotFound", err)
	}
}

func testUserConflict(t *testing.T, s store.Store) {
	c := ctx(t)
	name := id("bob.")
	now := time.Now()
	if err := s.CreateUser(c, store.User{ID: id("u"), Username: name, PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateUser(c, store.User{ID: id("u"), Username: name, PasswordHash: "h", CreatedAt: now, UpdatedAt: now})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateUser with the same username = %v, want ErrConflict", err)
	}
	// Concurrent registrations of one name: exactly one wins.
	name2 := id("carol.")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.CreateUser(c, store.User{ID: id("u"), Username: name2, PasswordHash: "h", CreatedAt: now, UpdatedAt: now})
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("CreateUser: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent registrations of one username succeeded, want 1", wins.Load())
	}
}

func testSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	se := newSession(id("u"), now, "cookie")
	se.IdleTimeout = 30 * time.Minute
	if err := s.CreateSession(c, se); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	got, ok, err := s.GetSession(c, se.ID)
	if err != nil || !ok {
		t.Fatalf("GetSession = %v, %v", ok, err)
	}
	if got.ID != se.ID || got.UserID != se.UserID || got.Username != se.Username || got.Kind != se.Kind ||
		!slices.Equal(got.Roles, se.Roles) || !bytes.Equal(got.CSRFHash, se.CSRFHash) || got.UserAgent != se.UserAgent ||
		got.IP != se.IP || got.IdleTimeout != se.IdleTimeout || !near(got.CreatedAt, se.CreatedAt) ||
		!near(got.LastSeenAt, se.LastSeenAt) || !near(got.ExpiresAt, se.ExpiresAt) {
		t.Fatalf("GetSession = %+v\nwant %+v", got, se)
	}
	if err := s.CreateSession(c, se); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateSession with a live id = %v, want ErrConflict", err)
	}
	existed, err := s.DeleteSession(c, se.ID)
	if err != nil || !existed {
		t.Fatalf("DeleteSession = %v, %v", existed, err)
	}
	if _, ok, _ := s.GetSession(c, se.ID); ok {
		t.Fatal("session still found after DeleteSession")
	}
}

func testListSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	user, other := id("u"), id("u")
	var ids []string
	for i := 0; i < 3; i++ {
		se := newSession(user, now.Add(time.Duration(i)*time.Second), "token")
		if err := s.CreateSession(c, se); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, se.ID)
	}
	if err := s.CreateSession(c, newSession(other, now, "cookie")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSessions(c, user)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, se := range list {
		got = append(got, se.ID)
		if se.UserID != user {
			t.Fatalf("ListSessions returned a session of %s", se.UserID)
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("ListSessions = %v, want %v (oldest first)", got, ids)
	}
	if _, err := s.DeleteSession(c, ids[1]); err != nil {
		t.Fatal(err)
	}
	list, _ = s.ListSessions(c, user)
	if len(list) != 2 || list[0].ID != ids[0] || list[1].ID != ids[2] {
		t.Fatalf("after deleting one, ListSessions = %+v", list)
	}
}

func testTouch(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	se := newSession(id("u"), now, "cookie")
	se.IdleTimeout = 2 * time.Second
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	later := now.Add(1500 * time.Millisecond)
	if err := s.TouchSession(c, se.ID, later); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	got, ok, err := s.GetSession(c, se.ID)
	if err != nil || !ok {
		t.Fatalf("GetSession after touch = %v, %v", ok, err)
	}
	if !near(got.LastSeenAt, later) {
		t.Fatalf("LastSeenAt = %v, want %v", got.LastSeenAt, later)
	}
	if !near(got.Deadline(), later.Add(2*time.Second)) {
		t.Fatalf("Deadline = %v, want %v", got.Deadline(), later.Add(2*time.Second))
	}
}

func testSessionExpiry(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now()
	absolute := newSession(id("u"), now, "token")
	absolute.ExpiresAt = now.Add(800 * time.Millisecond)
	idle := newSession(id("u"), now, "cookie")
	idle.IdleTimeout = 800 * time.Millisecond
	touched := newSession(id("u"), now, "cookie")
	touched.IdleTimeout = 1200 * time.Millisecond
	for _, se := range []store.Session{absolute, idle, touched} {
		if err := s.CreateSession(c, se); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: absolute.ID, Hash: hash("exp-rt"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if err := s.TouchSession(c, touched.ID, time.Now()); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	for name, se := range map[string]store.Session{"absolute": absolute, "idle": idle} {
		if _, ok, err := s.GetSession(c, se.ID); ok || err != nil {
			t.Fatalf("%s-expired session: GetSession = %v, %v; want false, nil", name, ok, err)
		}
		if list, _ := s.ListSessions(c, se.UserID); len(list) != 0 {
			t.Fatalf("%s-expired session still listed", name)
		}
	}
	if _, err := s.RotateRefreshToken(c, absolute.ID, hash("exp-rt"), hash("exp-rt2"), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotating a token of an expired family = %v, want ErrNotFound", err)
	}
	if _, ok, err := s.GetSession(c, touched.ID); !ok || err != nil {
		t.Fatalf("touched session expired early: %v, %v", ok, err)
	}
}

func testRefreshRotate(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	se := newSession(id("u"), now, "token")
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: hash("rt1"), CreatedAt: now}); err != nil {
		t.Fatalf("AddRefreshToken: %v", err)
	}
	later := now.Add(time.Minute)
	got, err := s.RotateRefreshToken(c, se.ID, hash("rt1"), hash("rt2"), later)
	if err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	if got.ID != se.ID || got.UserID != se.UserID || !near(got.LastSeenAt, later) || !near(got.ExpiresAt, se.ExpiresAt) {
		t.Fatalf("RotateRefreshToken returned %+v", got)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("rt2"), hash("rt3"), later); err != nil {
		t.Fatalf("second rotation: %v", err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("unknown"), hash("rt9"), later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotating an unknown token = %v, want ErrNotFound", err)
	}
	if _, ok, _ := s.GetSession(c, se.ID); !ok {
		t.Fatal("an unknown token must not revoke the family")
	}
}

func testRefreshReuse(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now()
	se := newSession(id("u"), now, "token")
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: hash("a"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("a"), hash("b"), now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("a"), hash("c"), now); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("replaying a spent token = %v, want ErrRefreshReused", err)
	}
	if _, ok, _ := s.GetSession(c, se.ID); ok {
		t.Fatal("session survived refresh reuse")
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("b"), hash("d"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the newest token after reuse = %v, want ErrNotFound", err)
	}
}

func testRefreshDeleted(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now()
	se := newSession(id("u"), now, "token")
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: hash("a"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSession(c, se.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("a"), hash("b"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotating after DeleteSession = %v, want ErrNotFound", err)
	}
	// A session recreated under the same id does not inherit the old family.
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("a"), hash("b"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old family survived DeleteSession: %v", err)
	}
}

func testConcurrentSpend(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now()
	se := newSession(id("u"), now, "token")
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: hash("one"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var ok, reused, notFound atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, err := s.RotateRefreshToken(c, se.ID, hash("one"), hash(fmt.Sprintf("new-%d", i)), now)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrRefreshReused):
				reused.Add(1)
			case errors.Is(err, store.ErrNotFound):
				notFound.Add(1)
			default:
				t.Errorf("RotateRefreshToken: %v", err)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d of 50 concurrent spends succeeded (reused %d, not found %d), want exactly 1", ok.Load(), reused.Load(), notFound.Load())
	}
	if reused.Load() == 0 {
		t.Fatalf("no concurrent spend saw the reuse")
	}
}

// familyHash is the hash of the i-th token of a test family.
func familyHash(i int) []byte { return hash(fmt.Sprintf("family-%d", i)) }

// newFamily creates a token session whose family has spent tokens 0 to rotations-1
// (familyHash) and holds token rotations unspent.
func newFamily(t *testing.T, c context.Context, s store.Store, rotations int) store.Session {
	t.Helper()
	now := time.Now()
	se := newSession(id("u"), now, "token")
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: familyHash(0), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rotations; i++ {
		if _, err := s.RotateRefreshToken(c, se.ID, familyHash(i), familyHash(i+1), now); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
	}
	return se
}

func testRefreshFamilyStorageIsBounded(t *testing.T, s store.Store) {
	const rotations = 300
	c := ctx(t)
	se := newFamily(t, c, s, rotations)
	ex, ok := s.(store.Exporter)
	if !ok {
		t.Skip("store does not export: its own tests check its storage")
	}
	rts, err := ex.ExportRefreshTokens(c, se.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rts) > store.SpentRefreshKept+1 {
		t.Fatalf("after %d rotations the family holds %d tokens, want at most %d", rotations, len(rts), store.SpentRefreshKept+1)
	}
	got := map[string]bool{}
	for _, rt := range rts {
		got[string(rt.Hash)] = rt.Spent
	}
	if spent, ok := got[string(familyHash(rotations))]; !ok || spent {
		t.Fatalf("the current token is missing or spent: %+v", rts)
	}
	for i := rotations - store.SpentRefreshKept; i < rotations; i++ {
		if spent, ok := got[string(familyHash(i))]; !ok || !spent {
			t.Fatalf("the token spent %d rotations ago is missing or unspent", rotations-i)
		}
	}
	if _, err := s.RotateRefreshToken(c, se.ID, familyHash(rotations), familyHash(rotations+1), time.Now()); err != nil {
		t.Fatalf("rotating the bounded family: %v", err)
	}
}

func testRefreshReuseOfKept(t *testing.T, s store.Store) {
	const rotations = store.SpentRefreshKept + 5
	for _, ago := range []int{1, store.SpentRefreshKept} {
		t.Run(fmt.Sprintf("spent %d rotations ago", ago), func(t *testing.T) {
			c := ctx(t)
			se := newFamily(t, c, s, rotations)
			if _, err := s.RotateRefreshToken(c, se.ID, familyHash(rotations-ago), hash("replay"), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
				t.Fatalf("replaying a token spent %d rotations ago = %v, want ErrRefreshReused", ago, err)
			}
			if _, ok, _ := s.GetSession(c, se.ID); ok {
				t.Fatal("session survived refresh reuse")
			}
			if _, err := s.RotateRefreshToken(c, se.ID, familyHash(rotations), familyHash(rotations+1), time.Now()); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the current token after reuse = %v, want ErrNotFound", err)
			}
		})
	}
}

func testRefreshSpentLongAgo(t *testing.T, s store.Store) {
	const rotations = store.SpentRefreshKept + 5
	c := ctx(t)
	se := newFamily(t, c, s, rotations)
	for _, i := range []int{rotations - store.SpentRefreshKept - 1, 0} {
		if _, err := s.RotateRefreshToken(c, se.ID, familyHash(i), hash("replay"), time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("replaying a token spent %d rotations ago = %v, want ErrNotFound", rotations-i, err)
		}
	}
	if _, ok, _ := s.GetSession(c, se.ID); !ok {
		t.Fatal("a token spent long ago revoked the family")
	}
	if _, err := s.RotateRefreshToken(c, se.ID, familyHash(rotations), familyHash(rotations+1), time.Now()); err != nil {
		t.Fatalf("the family after a replay of a forgotten token: %v", err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, familyHash(rotations), familyHash(rotations+2), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("the family no longer detects reuse: %v", err)
	}
}

// testRefreshAddedSpent copies a family the way a migration does, current token first and
// then more spent tokens than a family keeps, oldest first.
func testRefreshAddedSpent(t *testing.T, s store.Store) {
	const added = store.SpentRefreshKept + 5
	c := ctx(t)
	now := time.Now()
	se := newSession(id("u"), now, "token")
	if err := s.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: familyHash(added), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < added; i++ {
		if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: familyHash(i), Spent: true, CreatedAt: now}); err != nil {
			t.Fatalf("adding spent token %d: %v", i, err)
		}
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: familyHash(added - 1), Spent: true, CreatedAt: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("adding a spent token twice = %v, want ErrConflict", err)
	}
	if ex, ok := s.(store.Exporter); ok {
		rts, err := ex.ExportRefreshTokens(c, se.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rts) != store.SpentRefreshKept+1 {
			t.Fatalf("the family holds %d tokens, want %d", len(rts), store.SpentRefreshKept+1)
		}
	}
	if _, err := s.RotateRefreshToken(c, se.ID, familyHash(0), hash("replay"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the first spent token added, pushed out by the later ones = %v, want ErrNotFound", err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, familyHash(added), familyHash(added+1), now); err != nil {
		t.Fatalf("rotating the copied family: %v", err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, familyHash(added-store.SpentRefreshKept+1), hash("replay"), now); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("the oldest spent token still kept = %v, want ErrRefreshReused", err)
	}
}

func testRevocations(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := store.Revocation{Kind: store.RevokeSession, Key: id("s"), At: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	recent := store.Revocation{Kind: store.RevokeToken, Key: id("j"), At: now, ExpiresAt: now.Add(time.Hour)}
	user := store.Revocation{Kind: store.RevokeUser, Key: id("u"), At: now.Add(time.Second), ExpiresAt: now.Add(time.Hour)}
	short := store.Revocation{Kind: store.RevokeSession, Key: id("s"), At: now, ExpiresAt: time.Now().Add(600 * time.Millisecond)}
	for _, r := range []store.Revocation{old, recent, user, short} {
		if err := s.AddRevocation(c, r); err != nil {
			t.Fatalf("AddRevocation: %v", err)
		}
	}
	got, err := s.RevocationsSince(c, now)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]store.Revocation{}
	for _, r := range got {
		keys[r.Key] = r
	}
	if _, ok := keys[old.Key]; ok {
		t.Fatal("RevocationsSince returned a revocation older than since")
	}
	for _, want := range []store.Revocation{recent, user, short} {
		r, ok := keys[want.Key]
		if !ok {
			t.Fatalf("RevocationsSince misses %+v", want)
		}
		if r.Kind != want.Kind || !near(r.At, want.At) {
			t.Fatalf("revocation = %+v, want %+v", r, want)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].At.Before(got[i-1].At) {
			t.Fatal("RevocationsSince is not oldest first")
		}
	}
	time.Sleep(800 * time.Millisecond)
	got, _ = s.RevocationsSince(c, now.Add(-2*time.Minute))
	for _, r := range got {
		if r.Key == short.Key {
			t.Fatal("an expired revocation is still returned")
		}
	}
	if len(got) != 3 {
		t.Fatalf("RevocationsSince after expiry = %d entries, want 3", len(got))
	}
}

func testRateLimit(t *testing.T, s store.Store) {
	c := ctx(t)
	key := id("login:192.0.2.1|alice")
	for i := int64(1); i <= 3; i++ {
		n, reset, err := s.Hit(c, key, 700*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if n != i {
			t.Fatalf("hit %d counted %d", i, n)
		}
		if reset <= 0 || reset > 700*time.Millisecond {
			t.Fatalf("reset = %v, want within the window", reset)
		}
	}
	if n, _, _ := s.Hit(c, id("other"), time.Second); n != 1 {
		t.Fatalf("a second key shares the count: %d", n)
	}
	time.Sleep(900 * time.Millisecond)
	n, _, err := s.Hit(c, key, 700*time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("first hit of a new window = %d, %v; want 1", n, err)
	}
}

func testRatePeek(t *testing.T, s store.Store) {
	p, ok := s.(store.RateLimitPeeker)
	if !ok {
		t.Skip("the store does not implement store.RateLimitPeeker")
	}
	c := ctx(t)
	key := id("client-fail:192.0.2.1|cl_x")
	if n, reset, err := p.Peek(c, key); err != nil || n != 0 || reset != 0 {
		t.Fatalf("Peek of an unknown key = %d, %v, %v; want 0, 0, nil", n, reset, err)
	}
	for range 2 {
		if _, _, err := s.Hit(c, key, 600*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		n, reset, err := p.Peek(c, key)
		if err != nil || n != 2 || reset <= 0 || reset > 600*time.Millisecond {
			t.Fatalf("Peek = %d, %v, %v; want 2 within the window, unchanged by peeking", n, reset, err)
		}
	}
	time.Sleep(800 * time.Millisecond)
	if n, _, err := p.Peek(c, key); err != nil || n != 0 {
		t.Fatalf("Peek after the window = %d, %v; want 0", n, err)
	}
}

func testConcurrentHits(t *testing.T, s store.Store) {
	c := ctx(t)
	key := id("hits")
	var wg sync.WaitGroup
	var maxSeen atomic.Int64
	seen := make([]bool, 51)
	var mu sync.Mutex
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, _, err := s.Hit(c, key, time.Minute)
			if err != nil {
				t.Errorf("Hit: %v", err)
				return
			}
			mu.Lock()
			if n >= 1 && n <= 50 {
				seen[n] = true
			}
			mu.Unlock()
			for {
				m := maxSeen.Load()
				if n <= m || maxSeen.CompareAndSwap(m, n) {
					break
				}
			}
		}()
	}
	wg.Wait()
	if maxSeen.Load() != 50 {
		t.Fatalf("50 concurrent hits counted up to %d", maxSeen.Load())
	}
	for i := 1; i <= 50; i++ {
		if !seen[i] {
			t.Fatalf("count %d was never returned: hits were lost or doubled", i)
		}
	}
	if n, _, _ := s.Hit(c, key, time.Minute); n != 51 {
		t.Fatalf("the 51st hit counted %d", n)
	}
}

func testIsolation(t *testing.T, a, b store.Store) {
	c := ctx(t)
	now := time.Now()
	u := store.User{ID: id("u"), Username: id("iso."), PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := a.CreateUser(c, u); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.GetUserByUsername(c, u.Username); ok {
		t.Fatal("a user of store A is visible in store B")
	}
	if err := b.CreateUser(c, u); err != nil {
		t.Fatalf("store B refused a username taken only in A: %v", err)
	}
	se := newSession(u.ID, now, "token")
	if err := a.CreateSession(c, se); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.GetSession(c, se.ID); ok {
		t.Fatal("a session of store A is visible in store B")
	}
	key := id("iso-rate")
	a.Hit(c, key, time.Minute)
	a.Hit(c, key, time.Minute)
	if n, _, _ := b.Hit(c, key, time.Minute); n != 1 {
		t.Fatalf("store B counted %d for a key hit in A", n)
	}
	r := store.Revocation{Kind: store.RevokeSession, Key: id("s"), At: now, ExpiresAt: now.Add(time.Hour)}
	if err := a.AddRevocation(c, r); err != nil {
		t.Fatal(err)
	}
	got, _ := b.RevocationsSince(c, now.Add(-time.Minute))
	for _, x := range got {
		if x.Key == r.Key {
			t.Fatal("a revocation of store A is visible in store B")
		}
	}
}

func testStats(t *testing.T, s store.Store) {
	sr, ok := s.(store.StatsReporter)
	if !ok {
		t.Skip("store does not report stats")
	}
	c := ctx(t)
	now := time.Now()
	u := store.User{ID: id("u"), Username: id("stats."), PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(c, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(c, newSession(u.ID, now, "cookie")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(c, newSession(u.ID, now, "token")); err != nil {
		t.Fatal(err)
	}
	st, err := sr.Stats(c)
	if err != nil {
		t.Fatal(err)
	}
	if st.Users != 1 || st.LiveSessions != 2 || st.LiveFamilies != 1 {
		t.Fatalf("Stats = %+v, want 1 user, 2 live sessions, 1 family", st)
	}
}

func testExport(t *testing.T, s store.Store) {
	ex, ok := s.(store.Exporter)
	if !ok {
		t.Skip("store does not export")
	}
	c := ctx(t)
	for _, limit := range []int{0, -1} {
		if _, _, err := ex.ExportUsers(c, "", limit); err == nil {
			t.Fatalf("ExportUsers with limit %d: no error", limit)
		}
		if _, _, err := ex.ExportSessions(c, "", limit); err == nil {
			t.Fatalf("ExportSessions with limit %d: no error", limit)
		}
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	wantUsers := map[string]bool{}
	for i := 0; i < 5; i++ {
		u := store.User{ID: id("u"), Username: id("exp."), PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(c, u); err != nil {
			t.Fatal(err)
		}
		wantUsers[u.ID] = true
	}
	gotUsers := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("ExportUsers does not end")
		}
		us, next, err := ex.ExportUsers(c, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) > 2 {
			t.Fatalf("ExportUsers returned %d users for a limit of 2", len(us))
		}
		for _, u := range us {
			if gotUsers[u.ID] {
				t.Fatalf("user %s exported twice", u.ID)
			}
			gotUsers[u.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(gotUsers) != len(wantUsers) {
		t.Fatalf("exported %d users, want %d", len(gotUsers), len(wantUsers))
	}
	se := newSession(id("u"), now, "token")
	dead := newSession(id("u"), now, "token")
	dead.ExpiresAt = time.Now().Add(300 * time.Millisecond)
	for _, x := range []store.Session{se, dead} {
		if err := s.CreateSession(c, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: hash("e1"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(c, se.ID, hash("e1"), hash("e2"), now); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	var sessions []store.Session
	cursor = ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("ExportSessions does not end")
		}
		page, next, err := ex.ExportSessions(c, cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(sessions) != 1 || sessions[0].ID != se.ID {
		t.Fatalf("ExportSessions = %+v, want only the live session", sessions)
	}
	rts, err := ex.ExportRefreshTokens(c, se.ID)
	if err != nil {
		t.Fatal(err)
	}
	spent := map[string]bool{}
	for _, rt := range rts {
		spent[string(rt.Hash)] = rt.Spent
	}
	if len(rts) != 2 || !spent[string(hash("e1"))] || spent[string(hash("e2"))] {
		t.Fatalf("ExportRefreshTokens = %+v, want e1 spent and e2 live", rts)
	}
}
