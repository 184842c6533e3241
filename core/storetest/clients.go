package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

// The cases of the optional abilities skip on a store that lacks them; each store module
// asserts at compile time which abilities its store has, so a skip there cannot hide a
// missing method.

func clientStore(t *testing.T, s store.Store) store.ClientStore {
	t.Helper()
	cs, ok := s.(store.ClientStore)
	if !ok {
		t.Skip("store does not keep service clients")
	}
	return cs
}

func apiKeyStore(t *testing.T, s store.Store) store.APIKeyStore {
	t.Helper()
	ks, ok := s.(store.APIKeyStore)
	if !ok {
		t.Skip("store does not keep API keys")
	}
	return ks
}

// secretHash stands for the hash the caller computes of a secret it never hands over.
func secretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newClient(now time.Time) store.Client {
	return store.Client{
		ID: id("c"), Name: "billing service", Scopes: []string{"read:reports", "write:*"},
		SecretHash: secretHash(id("secret")), CreatedAt: now,
	}
}

func newAPIKey(userID string, now time.Time) store.APIKey {
	return store.APIKey{
		ID: id("k"), UserID: userID, Username: "owner-" + userID, Name: "ci deploys", Permissions: []string{"read:notes", "write:notes"},
		Hash: secretHash(id("afk_")), CreatedAt: now,
	}
}

func checkClient(t *testing.T, what string, got, want store.Client) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !slices.Equal(got.Scopes, want.Scopes) ||
		!bytes.Equal(got.SecretHash, want.SecretHash) || !near(got.CreatedAt, want.CreatedAt) || got.Disabled != want.Disabled {
		t.Fatalf("%s = %+v\nwant %+v", what, got, want)
	}
}

// sameTime compares optional times: both zero, or equal to the millisecond.
func sameTime(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	return near(a, b)
}

func checkAPIKey(t *testing.T, what string, got, want store.APIKey) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name || !slices.Equal(got.Permissions, want.Permissions) ||
		!bytes.Equal(got.Hash, want.Hash) || !near(got.CreatedAt, want.CreatedAt) ||
		!sameTime(got.ExpiresAt, want.ExpiresAt) || !sameTime(got.LastUsedAt, want.LastUsedAt) {
		t.Fatalf("%s = %+v\nwant %+v", what, got, want)
	}
}

func clientIDs(cs []store.Client) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func keyIDs(ks []store.APIKey) []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		out = append(out, k.ID)
	}
	return out
}

func testClients(t *testing.T, s store.Store) {
	cs := clientStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var clients []store.Client
	for i := range 3 {
		cl := newClient(now.Add(time.Duration(i) * time.Second))
		cl.Disabled = i == 1
		clients = append(clients, cl)
	}
	// Created newest first, so that the listing's order is the store's doing.
	for _, i := range []int{2, 0, 1} {
		if err := cs.CreateClient(c, clients[i]); err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
	}
	for _, want := range clients {
		got, ok, err := cs.GetClient(c, want.ID)
		if err != nil || !ok {
			t.Fatalf("GetClient = %v, %v", ok, err)
		}
		checkClient(t, "GetClient", got, want)
	}
	list, err := cs.ListClients(c)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	if got, want := clientIDs(list), clientIDs(clients); !slices.Equal(got, want) {
		t.Fatalf("ListClients = %v, want %v (oldest first)", got, want)
	}
	for i, got := range list {
		checkClient(t, "ListClients", got, clients[i])
	}
}

func testClientConflict(t *testing.T, s store.Store) {
	cs := clientStore(t, s)
	c := ctx(t)
	now := time.Now()
	first := newClient(now)
	if err := cs.CreateClient(c, first); err != nil {
		t.Fatal(err)
	}
	second := newClient(now)
	second.ID = first.ID
	second.Name = "impostor"
	if err := cs.CreateClient(c, second); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateClient with a taken id = %v, want ErrConflict", err)
	}
	if got, _, _ := cs.GetClient(c, first.ID); !bytes.Equal(got.SecretHash, first.SecretHash) || got.Name != first.Name {
		t.Fatalf("a refused CreateClient changed the client: %+v", got)
	}
	racing := id("c")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := newClient(now)
			cl.ID = racing
			err := cs.CreateClient(c, cl)
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("CreateClient: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent creations of one client id succeeded, want 1", wins.Load())
	}
}

func testClientsNotFound(t *testing.T, s store.Store) {
	cs := clientStore(t, s)
	c := ctx(t)
	if _, ok, err := cs.GetClient(c, id("nobody")); ok || err != nil {
		t.Fatalf("GetClient(missing) = %v, %v; want false, nil", ok, err)
	}
	if existed, err := cs.DeleteClient(c, id("nobody")); existed || err != nil {
		t.Fatalf("DeleteClient(missing) = %v, %v; want false, nil", existed, err)
	}
	if list, err := cs.ListClients(c); err != nil || len(list) != 0 {
		t.Fatalf("ListClients of an empty store = %v, %v", list, err)
	}
}

func testDeleteClient(t *testing.T, s store.Store) {
	cs := clientStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	gone, kept := newClient(now), newClient(now.Add(time.Second))
	for _, cl := range []store.Client{gone, kept} {
		if err := cs.CreateClient(c, cl); err != nil {
			t.Fatal(err)
		}
	}
	if existed, err := cs.DeleteClient(c, gone.ID); !existed || err != nil {
		t.Fatalf("DeleteClient = %v, %v; want true, nil", existed, err)
	}
	if _, ok, err := cs.GetClient(c, gone.ID); ok || err != nil {
		t.Fatalf("GetClient after DeleteClient = %v, %v; want false, nil", ok, err)
	}
	if list, _ := cs.ListClients(c); !slices.Equal(clientIDs(list), []string{kept.ID}) {
		t.Fatalf("ListClients after DeleteClient = %v, want only %s", clientIDs(list), kept.ID)
	}
	if existed, err := cs.DeleteClient(c, gone.ID); existed || err != nil {
		t.Fatalf("a second DeleteClient = %v, %v; want false, nil", existed, err)
	}
	again := newClient(now.Add(2 * time.Second))
	again.ID = gone.ID
	if err := cs.CreateClient(c, again); err != nil {
		t.Fatalf("CreateClient with the id of a deleted client: %v", err)
	}
	got, _, _ := cs.GetClient(c, gone.ID)
	checkClient(t, "the client made again", got, again)
}

func testAPIKeys(t *testing.T, s store.Store) {
	ks := apiKeyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	forever := newAPIKey(id("u"), now)
	expiring := newAPIKey(forever.UserID, now.Add(time.Second))
	expiring.ExpiresAt = now.Add(time.Hour)
	for _, k := range []store.APIKey{forever, expiring} {
		if err := ks.CreateAPIKey(c, k); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
	}
	for _, want := range []store.APIKey{forever, expiring} {
		got, ok, err := ks.GetAPIKeyByHash(c, want.Hash)
		if err != nil || !ok {
			t.Fatalf("GetAPIKeyByHash = %v, %v", ok, err)
		}
		checkAPIKey(t, "GetAPIKeyByHash", got, want)
	}
	got, _, _ := ks.GetAPIKeyByHash(c, forever.Hash)
	if !got.ExpiresAt.IsZero() || !got.LastUsedAt.IsZero() {
		t.Fatalf("a key without expiry, never used, came back with ExpiresAt %v and LastUsedAt %v", got.ExpiresAt, got.LastUsedAt)
	}
	if _, ok, err := ks.GetAPIKeyByHash(c, secretHash(id("unknown"))); ok || err != nil {
		t.Fatalf("GetAPIKeyByHash(unknown) = %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := ks.GetAPIKeyByHash(c, nil); ok || err != nil {
		t.Fatalf("GetAPIKeyByHash(nil) = %v, %v; want false, nil", ok, err)
	}
}

func testListAPIKeys(t *testing.T, s store.Store) {
	ks := apiKeyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	user, other := id("u"), id("u")
	var keys []store.APIKey
	for i := range 3 {
		k := newAPIKey(user, now.Add(time.Duration(i)*time.Second))
		if i == 1 {
			k.ExpiresAt = now.Add(time.Hour)
		}
		keys = append(keys, k)
	}
	theirs := newAPIKey(other, now)
	for _, k := range []store.APIKey{keys[2], theirs, keys[0], keys[1]} {
		if err := ks.CreateAPIKey(c, k); err != nil {
			t.Fatal(err)
		}
	}
	list, err := ks.ListAPIKeys(c, user)
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	if got, want := keyIDs(list), keyIDs(keys); !slices.Equal(got, want) {
		t.Fatalf("ListAPIKeys = %v, want %v (oldest first, the user's own)", got, want)
	}
	for i, got := range list {
		checkAPIKey(t, "ListAPIKeys", got, keys[i])
	}
	if list, _ := ks.ListAPIKeys(c, other); !slices.Equal(keyIDs(list), []string{theirs.ID}) {
		t.Fatalf("ListAPIKeys of the other user = %v, want only %s", keyIDs(list), theirs.ID)
	}
	if list, err := ks.ListAPIKeys(c, id("nobody")); err != nil || len(list) != 0 {
		t.Fatalf("ListAPIKeys(nobody) = %v, %v", list, err)
	}
}

func testAPIKeyConflict(t *testing.T, s store.Store) {
	ks := apiKeyStore(t, s)
	c := ctx(t)
	now := time.Now()
	first := newAPIKey(id("u"), now)
	if err := ks.CreateAPIKey(c, first); err != nil {
		t.Fatal(err)
	}
	sameID := newAPIKey(first.UserID, now)
	sameID.ID = first.ID
	if err := ks.CreateAPIKey(c, sameID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAPIKey with a taken id = %v, want ErrConflict", err)
	}
	sameHash := newAPIKey(id("u"), now)
	sameHash.Hash = first.Hash
	if err := ks.CreateAPIKey(c, sameHash); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAPIKey with a taken hash = %v, want ErrConflict", err)
	}
	// The refused keys left nothing behind, and the first is whole.
	if _, ok, _ := ks.GetAPIKeyByHash(c, sameID.Hash); ok {
		t.Fatal("the hash of a key refused for its id is found")
	}
	if err := ks.TouchAPIKey(c, sameHash.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchAPIKey of a key refused for its hash = %v, want ErrNotFound", err)
	}
	if list, _ := ks.ListAPIKeys(c, sameHash.UserID); len(list) != 0 {
		t.Fatalf("a key refused for its hash is listed: %v", keyIDs(list))
	}
	got, ok, err := ks.GetAPIKeyByHash(c, first.Hash)
	if err != nil || !ok {
		t.Fatalf("the first key after the refusals: %v, %v", ok, err)
	}
	checkAPIKey(t, "the first key after the refusals", got, first)
	if list, _ := ks.ListAPIKeys(c, first.UserID); !slices.Equal(keyIDs(list), []string{first.ID}) {
		t.Fatalf("ListAPIKeys after the refusals = %v, want only %s", keyIDs(list), first.ID)
	}

	for _, tc := range []struct {
		name string
		make func(shared string) store.APIKey
	}{
		{"one id", func(shared string) store.APIKey {
			k := newAPIKey(id("u"), now)
			k.ID = shared
			return k
		}},
		{"one hash", func(shared string) store.APIKey {
			k := newAPIKey(id("u"), now)
			k.Hash = secretHash(shared)
			return k
		}},
	} {
		t.Run("concurrent creations of "+tc.name, func(t *testing.T) {
			shared := id("shared")
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := ks.CreateAPIKey(c, tc.make(shared))
					if err == nil {
						wins.Add(1)
					} else if !errors.Is(err, store.ErrConflict) {
						t.Errorf("CreateAPIKey: %v", err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d concurrent creations of keys with %s succeeded, want 1", wins.Load(), tc.name)
			}
		})
	}
}

func testAPIKeyExpiry(t *testing.T, s store.Store) {
	ks := apiKeyStore(t, s)
	c := ctx(t)
	now := time.Now()
	dying := newAPIKey(id("u"), now)
	dying.ExpiresAt = now.Add(800 * time.Millisecond)
	living := newAPIKey(dying.UserID, now.Add(time.Millisecond))
	living.ExpiresAt = now.Add(time.Hour)
	for _, k := range []store.APIKey{dying, living} {
		if err := ks.CreateAPIKey(c, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := ks.GetAPIKeyByHash(c, dying.Hash); !ok || err != nil {
		t.Fatalf("the key before its expiry: %v, %v", ok, err)
	}
	time.Sleep(time.Until(dying.ExpiresAt) + 400*time.Millisecond)
	if _, ok, err := ks.GetAPIKeyByHash(c, dying.Hash); ok || err != nil {
		t.Fatalf("GetAPIKeyByHash of an expired key = %v, %v; want false, nil", ok, err)
	}
	if list, _ := ks.ListAPIKeys(c, dying.UserID); !slices.Equal(keyIDs(list), []string{living.ID}) {
		t.Fatalf("ListAPIKeys after an expiry = %v, want only %s", keyIDs(list), living.ID)
	}
	if err := ks.TouchAPIKey(c, dying.ID, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchAPIKey of an expired key = %v, want ErrNotFound", err)
	}
	if existed, err := ks.DeleteAPIKey(c, dying.UserID, dying.ID); existed || err != nil {
		t.Fatalf("DeleteAPIKey of an expired key = %v, %v; want false, nil", existed, err)
	}
	if _, ok, _ := ks.GetAPIKeyByHash(c, living.Hash); !ok {
		t.Fatal("a live key expired early")
	}

	// The id and the hash of an expired key are free again.
	again := newAPIKey(id("u"), time.Now())
	again.ID, again.Hash = dying.ID, dying.Hash
	if err := ks.CreateAPIKey(c, again); err != nil {
		t.Fatalf("CreateAPIKey with the id and hash of an expired key: %v", err)
	}
	got, ok, err := ks.GetAPIKeyByHash(c, again.Hash)
	if err != nil || !ok {
		t.Fatalf("the key made again: %v, %v", ok, err)
	}
	checkAPIKey(t, "the key made again", got, again)
}

func testDeleteAPIKey(t *testing.T, s store.Store) {
	ks := apiKeyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	k := newAPIKey(id("u"), now)
	kept := newAPIKey(k.UserID, now.Add(time.Second))
	for _, x := range []store.APIKey{k, kept} {
		if err := ks.CreateAPIKey(c, x); err != nil {
			t.Fatal(err)
		}
	}
	if existed, err := ks.DeleteAPIKey(c, id("mallory"), k.ID); existed || err != nil {
		t.Fatalf("DeleteAPIKey by another user = %v, %v; want false, nil", existed, err)
	}
	got, ok, err := ks.GetAPIKeyByHash(c, k.Hash)
	if err != nil || !ok {
		t.Fatalf("another user's DeleteAPIKey removed the key: %v, %v", ok, err)
	}
	checkAPIKey(t, "the key after another user's DeleteAPIKey", got, k)
	if err := ks.TouchAPIKey(c, k.ID, now); err != nil {
		t.Fatalf("another user's DeleteAPIKey broke the key: TouchAPIKey = %v", err)
	}

	if existed, err := ks.DeleteAPIKey(c, k.UserID, k.ID); !existed || err != nil {
		t.Fatalf("DeleteAPIKey = %v, %v; want true, nil", existed, err)
	}
	if _, ok, err := ks.GetAPIKeyByHash(c, k.Hash); ok || err != nil {
		t.Fatalf("GetAPIKeyByHash after DeleteAPIKey = %v, %v; want false, nil", ok, err)
	}
	if list, _ := ks.ListAPIKeys(c, k.UserID); !slices.Equal(keyIDs(list), []string{kept.ID}) {
		t.Fatalf("ListAPIKeys after DeleteAPIKey = %v, want only %s", keyIDs(list), kept.ID)
	}
	if err := ks.TouchAPIKey(c, k.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchAPIKey after DeleteAPIKey = %v, want ErrNotFound", err)
	}
	if existed, err := ks.DeleteAPIKey(c, k.UserID, k.ID); existed || err != nil {
		t.Fatalf("a second DeleteAPIKey = %v, %v; want false, nil", existed, err)
	}
	if existed, err := ks.DeleteAPIKey(c, k.UserID, id("missing")); existed || err != nil {
		t.Fatalf("DeleteAPIKey(missing) = %v, %v; want false, nil", existed, err)
	}
	again := newAPIKey(k.UserID, now.Add(2*time.Second))
	again.ID, again.Hash = k.ID, k.Hash
	if err := ks.CreateAPIKey(c, again); err != nil {
		t.Fatalf("CreateAPIKey with the id and hash of a deleted key: %v", err)
	}
}

func testTouchAPIKey(t *testing.T, s store.Store) {
	ks := apiKeyStore(t, s)
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	k := newAPIKey(id("u"), now)
	k.ExpiresAt = now.Add(time.Hour)
	if err := ks.CreateAPIKey(c, k); err != nil {
		t.Fatal(err)
	}
	used := now.Add(time.Minute)
	if err := ks.TouchAPIKey(c, k.ID, used); err != nil {
		t.Fatalf("TouchAPIKey: %v", err)
	}
	k.LastUsedAt = used
	got, _, _ := ks.GetAPIKeyByHash(c, k.Hash)
	checkAPIKey(t, "GetAPIKeyByHash after a touch", got, k)
	list, _ := ks.ListAPIKeys(c, k.UserID)
	if len(list) != 1 {
		t.Fatalf("ListAPIKeys after a touch = %v", keyIDs(list))
	}
	checkAPIKey(t, "ListAPIKeys after a touch", list[0], k)
	if err := ks.TouchAPIKey(c, k.ID, now.Add(30*time.Second)); err != nil {
		t.Fatalf("an earlier TouchAPIKey: %v", err)
	}
	if got, _, _ := ks.GetAPIKeyByHash(c, k.Hash); !near(got.LastUsedAt, used) {
		t.Fatalf("an earlier touch moved LastUsedAt back to %v, want %v", got.LastUsedAt, used)
	}
	if err := ks.TouchAPIKey(c, id("missing"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchAPIKey(missing) = %v, want ErrNotFound", err)
	}
}

// testHashesOnly checks that a store keeps the caller's hashes byte for byte, whatever the
// bytes, and derives nothing from them: a lookup finds a key by exactly its hash, never by
// the secret it was made from nor by a near miss.
func testHashesOnly(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	t.Run("client secrets", func(t *testing.T) {
		cs := clientStore(t, s)
		for _, h := range [][]byte{secretHash("client secret"), every} {
			cl := newClient(now)
			cl.SecretHash = h
			if err := cs.CreateClient(c, cl); err != nil {
				t.Fatal(err)
			}
			got, _, err := cs.GetClient(c, cl.ID)
			if err != nil || !bytes.Equal(got.SecretHash, h) {
				t.Fatalf("GetClient holds secret hash %x, %v; want %x", got.SecretHash, err, h)
			}
		}
	})
	t.Run("API keys", func(t *testing.T) {
		ks := apiKeyStore(t, s)
		const key = "afk_storetest-key"
		for _, h := range [][]byte{secretHash(key), every} {
			k := newAPIKey(id("u"), now)
			k.Hash = h
			if err := ks.CreateAPIKey(c, k); err != nil {
				t.Fatal(err)
			}
			got, ok, err := ks.GetAPIKeyByHash(c, h)
			if err != nil || !ok || !bytes.Equal(got.Hash, h) {
				t.Fatalf("GetAPIKeyByHash = %x, %v, %v; want hash %x", got.Hash, ok, err, h)
			}
			list, _ := ks.ListAPIKeys(c, k.UserID)
			if len(list) != 1 || !bytes.Equal(list[0].Hash, h) {
				t.Fatalf("ListAPIKeys holds %+v, want the hash %x", list, h)
			}
			for _, miss := range [][]byte{h[:len(h)-1], append(bytes.Clone(h), 0), flipLast(h)} {
				if _, ok, err := ks.GetAPIKeyByHash(c, miss); ok || err != nil {
					t.Fatalf("GetAPIKeyByHash(%x) found the key of hash %x (%v)", miss, h, err)
				}
			}
		}
		if _, ok, _ := ks.GetAPIKeyByHash(c, []byte(key)); ok {
			t.Fatal("a key is found by the secret its hash was made from")
		}
	})
}

func flipLast(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)-1] ^= 1
	return out
}

// everyKind is a revocation of each kind store.RevocationKind.Known accepts.
func everyKind(now time.Time) []store.Revocation {
	var out []store.Revocation
	for _, k := range []store.RevocationKind{store.RevokeSession, store.RevokeToken, store.RevokeUser, store.RevokeClient, store.RevokeAPIKey} {
		out = append(out, store.Revocation{Kind: k, Key: id(string(k) + "-"), At: now, ExpiresAt: now.Add(time.Hour)})
	}
	return out
}

func testRevocationKinds(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	want := everyKind(now)
	for _, r := range want {
		if !r.Kind.Known() {
			t.Fatalf("kind %q is not Known", r.Kind)
		}
		if err := s.AddRevocation(c, r); err != nil {
			t.Fatalf("AddRevocation of kind %q: %v", r.Kind, err)
		}
	}
	got, err := s.RevocationsSince(c, now)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]store.Revocation{}
	for _, r := range got {
		byKey[r.Key] = r
	}
	for _, w := range want {
		r, ok := byKey[w.Key]
		if !ok {
			t.Fatalf("RevocationsSince misses the revocation of kind %q", w.Kind)
		}
		if r.Kind != w.Kind || !near(r.At, w.At) || !near(r.ExpiresAt, w.ExpiresAt) {
			t.Fatalf("revocation = %+v, want %+v", r, w)
		}
	}
}

// feedRecorder is a store.RevocationWatcher that a test waits on.
type feedRecorder struct {
	revoked chan store.Revocation
	synced  chan bool
}

func (f *feedRecorder) Revoked(r store.Revocation) { f.revoked <- r }
func (f *feedRecorder) Synced(ok bool)             { f.synced <- ok }

func testFeedKinds(t *testing.T, s store.Store) {
	feed, ok := s.(store.RevocationFeed)
	if !ok {
		t.Skip("store has no revocation feed")
	}
	c := ctx(t)
	wctx, cancel := context.WithCancel(c)
	w := &feedRecorder{revoked: make(chan store.Revocation, 100), synced: make(chan bool, 100)}
	done := make(chan error, 1)
	go func() { done <- feed.WatchRevocations(wctx, w) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("WatchRevocations: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("WatchRevocations did not return within 10 s of its context ending")
		}
	}()
	deadline := time.After(10 * time.Second)
	for synced := false; !synced; {
		select {
		case synced = <-w.synced:
		case <-deadline:
			t.Fatal("the feed did not sync within 10 s")
		}
	}
	want := everyKind(time.Now())
	for _, r := range want {
		if err := s.AddRevocation(c, r); err != nil {
			t.Fatalf("AddRevocation of kind %q: %v", r.Kind, err)
		}
	}
	pending := map[string]store.RevocationKind{}
	for _, r := range want {
		pending[r.Key] = r.Kind
	}
	for len(pending) > 0 {
		select {
		case r := <-w.revoked:
			kind, ok := pending[r.Key]
			if !ok {
				continue
			}
			if r.Kind != kind {
				t.Fatalf("the feed delivered kind %q for a revocation of kind %q", r.Kind, kind)
			}
			delete(pending, r.Key)
		case <-deadline:
			t.Fatalf("the feed did not deliver the revocations of kinds %v within 10 s", pending)
		}
	}
}
