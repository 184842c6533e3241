package redisstore

import (
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// TestClientAndAPIKeyLayout checks what the README documents for clients and API keys: the
// keys, their fields and their TTLs.
func TestClientAndAPIKeyLayout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"on a standalone server", func(t *testing.T) redis.UniversalClient { return testClient(t) }},
		{"on a Cluster", func(t *testing.T) redis.UniversalClient { return testClusterClient(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client(t)
			prefix := testPrefix(t, c)
			s := newTestStoreOn(t, c, prefix)
			ctx := testCtx(t)
			now := time.Now()
			for _, cl := range []store.Client{
				{ID: "c1", Name: "billing", Scopes: []string{"read:reports"}, SecretHash: []byte("sh1"), CreatedAt: now},
				{ID: "c2", Name: "search", Scopes: []string{"read:*"}, SecretHash: []byte("sh2"), CreatedAt: now, Disabled: true},
			} {
				if err := s.CreateClient(ctx, cl); err != nil {
					t.Fatal(err)
				}
			}
			forever := store.APIKey{ID: "k1", UserID: "u1", Name: "ci", Permissions: []string{"read:notes"}, Hash: []byte("h1"), CreatedAt: now}
			expiring := store.APIKey{ID: "k2", UserID: "u2", Name: "cron", Permissions: []string{"write:notes"}, Hash: []byte("h2"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			for _, k := range []store.APIKey{forever, expiring} {
				if err := s.CreateAPIKey(ctx, k); err != nil {
					t.Fatal(err)
				}
			}

			h1, h2 := hex.EncodeToString([]byte("h1")), hex.EncodeToString([]byte("h2"))
			want := []string{"clients", "apikey:" + h1, "apikey:" + h2, "apikey-id:k1", "apikey-id:k2", "user-apikeys:u1", "user-apikeys:u2"}
			for i := range want {
				want[i] = prefix + want[i]
			}
			slices.Sort(want)
			if got := keysUnder(t, c, prefix); !slices.Equal(got, want) {
				t.Fatalf("keys =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			if fields := must(t, c.HKeys(ctx, prefix+"clients")); !sameSet(fields, []string{"c1", "c2"}) {
				t.Fatalf("fields of the clients hash = %q, want one per client", fields)
			}
			fields := must(t, c.HKeys(ctx, prefix+"apikey:"+h1))
			if !sameSet(fields, []string{"c", "e", "i", "l", "n", "p", "u", "un"}) {
				t.Fatalf("fields of a key's record = %q", fields)
			}
			if v := must(t, c.Get(ctx, prefix+"apikey-id:k1")); v != "h1" {
				t.Fatalf("the claim on k1 holds %q, want its hash", v)
			}
			if m := must(t, c.HGetAll(ctx, prefix+"user-apikeys:u1")); len(m) != 1 || m["k1"] != "h1" {
				t.Fatalf("the index of u1 = %q, want k1 -> its hash", m)
			}

			ttl := func(key string) time.Duration {
				d, err := c.PTTL(ctx, prefix+key).Result()
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			// expiresAt checks that key expires at the millisecond at, however slowly a
			// loaded machine runs the test.
			expiresAt := func(key string, at time.Time) {
				t.Helper()
				hi := time.Until(at)
				d := ttl(key)
				lo := time.Until(at)
				if d < lo-time.Millisecond || d > hi+time.Millisecond {
					t.Errorf("TTL of %s = %v, want %v to %v (the key's expiry)", key, d, lo, hi)
				}
			}
			for _, key := range []string{"apikey:" + h2, "apikey-id:k2", "user-apikeys:u2"} {
				expiresAt(key, expiring.ExpiresAt)
			}
			for _, key := range []string{"clients", "apikey:" + h1, "apikey-id:k1", "user-apikeys:u1"} {
				if d := ttl(key); d != -1 {
					t.Errorf("TTL of %s = %v, want none", key, d)
				}
			}

			// A key that never expires keeps its user's index for good; one that expires
			// later than the others moves the index's TTL.
			later := store.APIKey{ID: "k3", UserID: "u2", Hash: []byte("h3"), CreatedAt: now, ExpiresAt: now.Add(2 * time.Hour)}
			never := store.APIKey{ID: "k4", UserID: "u2", Hash: []byte("h4"), CreatedAt: now}
			sooner := store.APIKey{ID: "k5", UserID: "u2", Hash: []byte("h5"), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := s.CreateAPIKey(ctx, later); err != nil {
				t.Fatal(err)
			}
			expiresAt("user-apikeys:u2", later.ExpiresAt)
			for _, k := range []store.APIKey{never, sooner} {
				if err := s.CreateAPIKey(ctx, k); err != nil {
					t.Fatal(err)
				}
				if d := ttl("user-apikeys:u2"); d != -1 {
					t.Errorf("TTL of the index after key %s = %v, want none", k.ID, d)
				}
			}
		})
	}
}

// must is the value of a command's reply, failing the test on an error.
func must[T any](t *testing.T, cmd interface{ Result() (T, error) }) T {
	t.Helper()
	v, err := cmd.Result()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestARefusedAPIKeyLeavesNothingBehind(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	now := time.Now()
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "k1", UserID: "u1", Hash: []byte("h1"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "k2", UserID: "u2", Hash: []byte("h1"), CreatedAt: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAPIKey with a taken hash = %v, want ErrConflict", err)
	}
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "k1", UserID: "u3", Hash: []byte("h3"), CreatedAt: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAPIKey with a taken id = %v, want ErrConflict", err)
	}
	for _, key := range []string{"apikey-id:k2", "user-apikeys:u2", "apikey:" + hex.EncodeToString([]byte("h3")), "user-apikeys:u3"} {
		if n := must(t, c.Exists(ctx, prefix+key)); n != 0 {
			t.Errorf("a refused creation left %s behind", key)
		}
	}
	if v := must(t, c.Get(ctx, prefix+"apikey-id:k1")); v != "h1" {
		t.Fatalf("the claim on k1 holds %q after the refusals, want h1", v)
	}
	if m := must(t, c.HGetAll(ctx, prefix+"user-apikeys:u1")); len(m) != 1 || m["k1"] != "h1" {
		t.Fatalf("the index of u1 = %q after the refusals, want k1 -> h1", m)
	}
}

func TestListAPIKeysPrunesEntriesOfKeysThatAreGone(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	now := time.Now()
	for _, k := range []store.APIKey{
		{ID: "short", UserID: "u1", Hash: []byte("hs"), CreatedAt: now, ExpiresAt: now.Add(200 * time.Millisecond)},
		{ID: "long", UserID: "u1", Hash: []byte("hl"), CreatedAt: now},
	} {
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	list, err := s.ListAPIKeys(ctx, "u1")
	if err != nil || len(list) != 1 || list[0].ID != "long" {
		t.Fatalf("ListAPIKeys = %+v, %v", list, err)
	}
	if ids := must(t, c.HKeys(ctx, prefix+"user-apikeys:u1")); !slices.Equal(ids, []string{"long"}) {
		t.Fatalf("user index = %v after listing, want the expired key pruned", ids)
	}
}

// A creation that crashed after claiming its id leaves a claim that leads nowhere: it
// must read as no key at all.
func TestAClaimWithoutItsRecordIsNoKey(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	if err := c.Set(ctx, prefix+"apikey-id:ghost", "h404", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAPIKey(ctx, "ghost", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchAPIKey = %v, want ErrNotFound", err)
	}
	if existed, err := s.DeleteAPIKey(ctx, "u1", "ghost"); existed || err != nil {
		t.Fatalf("DeleteAPIKey = %v, %v; want false, nil", existed, err)
	}
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "k1", UserID: "u1", Hash: []byte("h404"), CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateAPIKey with the hash the dead claim names: %v", err)
	}
	if err := s.TouchAPIKey(ctx, "ghost", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the dead claim leads to another key's record: TouchAPIKey = %v, want ErrNotFound", err)
	}
	if existed, _ := s.DeleteAPIKey(ctx, "u1", "ghost"); existed {
		t.Fatal("the dead claim deleted another key")
	}
	if _, ok, _ := s.GetAPIKeyByHash(ctx, []byte("h404")); !ok {
		t.Fatal("the key was lost")
	}
}

func TestCorruptClientAndAPIKeyRecordsAreErrors(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	c.HSet(ctx, prefix+"clients", "bad", "not a record")
	if _, _, err := s.GetClient(ctx, "bad"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetClient of a corrupt record = %v, want ErrCorrupt", err)
	}
	if _, err := s.ListClients(ctx); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ListClients with a corrupt record = %v, want ErrCorrupt", err)
	}
	c.HSet(ctx, prefix+"apikey:"+hex.EncodeToString([]byte("bad")), "i", "k1", "u", "u1", "c", "yesterday", "e", "", "l", "")
	if _, _, err := s.GetAPIKeyByHash(ctx, []byte("bad")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetAPIKeyByHash of a corrupt record = %v, want ErrCorrupt", err)
	}
}

func TestClientsAndAPIKeysRoundTripThroughTheirEncoding(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123).UTC()
	cl := store.Client{ID: "c1", Name: "a|b:c", Scopes: []string{"read:*", ""}, SecretHash: []byte{0, 1, 255}, CreatedAt: now, Disabled: true}
	got, err := decodeClient(cl.ID, encodeClient(&cl))
	if err != nil || got.Name != cl.Name || !slices.Equal(got.Scopes, cl.Scopes) || string(got.SecretHash) != string(cl.SecretHash) ||
		!got.CreatedAt.Equal(cl.CreatedAt) || !got.Disabled {
		t.Fatalf("client round trip = %+v, %v; want %+v", got, err, cl)
	}
	k := store.APIKey{ID: "k1", UserID: "u1", Name: "n", Permissions: []string{"a:b"}, Hash: []byte("h"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	args := apiKeyArgs(&k)
	m := map[string]string{}
	for i := 0; i < len(args); i += 2 {
		m[args[i].(string)] = args[i+1].(string)
	}
	gotKey, found, err := decodeAPIKey(k.Hash, m)
	if err != nil || !found || gotKey.ID != k.ID || gotKey.UserID != k.UserID || !gotKey.ExpiresAt.Equal(k.ExpiresAt) || !gotKey.LastUsedAt.IsZero() {
		t.Fatalf("API key round trip = %+v, %v, %v; want %+v", gotKey, found, err, k)
	}
}
