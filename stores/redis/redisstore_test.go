package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

func TestNewValidatesItsOptions(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond}) // unreachable: New only warns
	defer client.Close()
	tests := []struct {
		name    string
		client  redis.UniversalClient
		opts    []Option
		wantErr string
	}{
		{name: "defaults are valid", client: client},
		{name: "an empty prefix is valid", client: client, opts: []Option{WithPrefix("")}},
		{name: "a nil client is refused", client: nil, wantErr: "nil client"},
		{name: "a prefix with a brace is refused", client: client, opts: []Option{WithPrefix("app{1}:")}, wantErr: "WithPrefix"},
		{name: "a negative cleanup interval is refused", client: client, opts: []Option{WithCleanupInterval(-time.Second)}, wantErr: "WithCleanupInterval"},
		{name: "a zero cleanup interval turns the sweep off", client: client, opts: []Option{WithCleanupInterval(0)}},
		{name: "a nil logger is refused", client: client, opts: []Option{WithLogger(nil)}, wantErr: "WithLogger"},
		{name: "a breaker without cooldown is refused", client: client, opts: []Option{WithCircuitBreaker(3, 0)}, wantErr: "WithCircuitBreaker"},
		{name: "a breaker with zero failures is off", client: client, opts: []Option{WithCircuitBreaker(0, 0)}},
		{name: "every error is reported", client: client, opts: []Option{WithPrefix("{"), WithLogger(nil)}, wantErr: "WithLogger"},
		{name: "a nil option is ignored", client: client, opts: []Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c redis.UniversalClient
			if tt.client != nil {
				c = tt.client
			}
			s, err := New(context.Background(), c, tt.opts...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = s.Close()
				_ = s.Close() // twice is fine
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// tag is the hash tag Redis Cluster places a key by.
func tag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

func TestKeysThatScriptsShareHaveOneHashTag(t *testing.T) {
	k := newKeys("app:")
	tests := []struct {
		name string
		keys []string
	}{
		{"the global indexes", []string{k.users, k.sessions, k.live, k.families}},
		{"the two revocation sets", []string{k.revAt, k.revExp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, key := range tt.keys[1:] {
				if tag(key) != tag(tt.keys[0]) {
					t.Fatalf("%q and %q have different hash tags", tt.keys[0], key)
				}
			}
		})
	}
	for _, key := range []string{k.session("s1"), k.user("u1"), k.userSessions("u1"), k.username("alice"), k.rate("r"),
		k.clients, k.apiKey([]byte("h")), k.apiKeyID("k1"), k.userAPIKeys("u1"), k.mfa("u1"), k.replay("jkt:jti")} {
		if tag(key) != key {
			t.Errorf("%q has a hash tag: records would not spread over a Cluster", key)
		}
	}
}

// TestKeyLayout checks what the README documents: the keys, and their TTLs.
func TestKeyLayout(t *testing.T) {
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
			if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			tok := store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
			cookie := store.Session{ID: "s2", UserID: "u1", Kind: "cookie", CreatedAt: now, LastSeenAt: now, IdleTimeout: 10 * time.Minute, ExpiresAt: now.Add(2 * time.Hour)}
			for _, se := range []store.Session{tok, cookie} {
				if err := s.CreateSession(ctx, se); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: []byte("h1"), CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeToken, Key: "j1", At: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Hit(ctx, "login:192.0.2.1|alice", time.Minute); err != nil {
				t.Fatal(err)
			}

			want := []string{
				"rate:login:192.0.2.1|alice",
				"session:s1", "session:s2",
				"user-sessions:u1", "user:u1", "username:alice",
				"{index}:families", "{index}:live", "{index}:sessions", "{index}:users",
				"{revocations}:at", "{revocations}:expiry",
			}
			for i := range want {
				want[i] = prefix + want[i]
			}
			slices.Sort(want)
			if got := keysUnder(t, c, prefix); !slices.Equal(got, want) {
				t.Fatalf("keys =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			ttl := func(key string) time.Duration {
				d, err := c.PTTL(ctx, prefix+key).Result()
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			near := func(name string, got, want time.Duration) {
				t.Helper()
				if d := got - want; d > 2*time.Second || d < -2*time.Second {
					t.Errorf("TTL of %s = %v, want about %v", name, got, want)
				}
			}
			near("the token session and its family", ttl("session:s1"), time.Hour)
			near("the cookie session (idle deadline)", ttl("session:s2"), 10*time.Minute)
			near("the user's session index (latest absolute deadline)", ttl("user-sessions:u1"), 2*time.Hour)
			near("the revocation sets", ttl("{revocations}:at"), time.Minute)
			near("the rate counter", ttl("rate:login:192.0.2.1|alice"), time.Minute)
			for _, forever := range []string{"user:u1", "username:alice", "{index}:users"} {
				if d := ttl(forever); d != -1 {
					t.Errorf("TTL of %s = %v, want none", forever, d)
				}
			}

			// A touch moves the cookie session's TTL.
			if err := s.TouchSession(ctx, "s2", now.Add(5*time.Minute)); err != nil {
				t.Fatal(err)
			}
			near("the touched cookie session", ttl("session:s2"), 15*time.Minute)

			// The family is fields of the session's hash, holding hashes only.
			fields := c.HKeys(ctx, prefix+"session:s1").Val()
			slices.Sort(fields)
			if want := []string{"d", "e", "i", "l", "q", "t:h1", "u"}; !slices.Equal(fields, want) {
				t.Fatalf("fields of a token session = %q, want %q", fields, want)
			}
		})
	}
}

func TestRefreshMovesTheTTLOfASessionWithAnIdleTimeout(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	now := time.Now()
	se := store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Minute, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: []byte("a"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RotateRefreshToken(ctx, "s1", []byte("a"), []byte("b"), now.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(90 * time.Second); got.Deadline().Sub(want).Abs() > time.Millisecond {
		t.Fatalf("Deadline after refresh = %v, want %v", got.Deadline(), want)
	}
	if d := c.PTTL(ctx, prefix+"session:s1").Val(); d < 85*time.Second || d > 91*time.Second {
		t.Errorf("TTL of the session = %v, want about 90s", d)
	}
}

func TestListSessionsPrunesIdsOfDeadSessions(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	now := time.Now()
	short := store.Session{ID: "short", UserID: "u1", Kind: "cookie", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(200 * time.Millisecond)}
	long := store.Session{ID: "long", UserID: "u1", Kind: "cookie", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	for _, se := range []store.Session{short, long} {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	list, err := s.ListSessions(ctx, "u1")
	if err != nil || len(list) != 1 || list[0].ID != "long" {
		t.Fatalf("ListSessions = %+v, %v", list, err)
	}
	ids := c.ZRange(ctx, prefix+"user-sessions:u1", 0, -1).Val()
	if !slices.Equal(ids, []string{"long"}) {
		t.Fatalf("user index = %v after listing, want the dead id pruned", ids)
	}
}

func TestStatsRepairTheIndexAgainstTouchedSessions(t *testing.T) {
	c := testClient(t)
	s := newTestStore(t, c, WithCleanupInterval(0))
	ctx := testCtx(t)
	now := time.Now()
	se := store.Session{ID: "s1", UserID: "u1", Kind: "cookie", CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Second, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	touched := time.Now()
	if err := s.TouchSession(ctx, "s1", touched); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(now.Add(1100 * time.Millisecond))) // past the indexed deadline, not the touched one
	st, err := s.Stats(ctx)
	if err != nil || st.LiveSessions != 1 {
		t.Fatalf("Stats after a touch = %+v, %v; want 1 live session", st, err)
	}
	time.Sleep(time.Until(touched.Add(1100 * time.Millisecond)))
	st, err = s.Stats(ctx)
	if err != nil || st.LiveSessions != 0 {
		t.Fatalf("Stats after idle expiry = %+v, %v; want none", st, err)
	}
}

func TestCleanupPrunesExpiredRevocationsAndDeadSessions(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix, WithCleanupInterval(0))
	ctx := testCtx(t)
	now := time.Now()
	for i, exp := range []time.Duration{100 * time.Millisecond, time.Hour} {
		r := store.Revocation{Kind: store.RevokeSession, Key: string(rune('a' + i)), At: now, ExpiresAt: now.Add(exp)}
		if err := s.AddRevocation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	se := store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(100 * time.Millisecond)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{
		"{revocations}:at": 1, "{revocations}:expiry": 1,
		"{index}:sessions": 0, "{index}:live": 0, "{index}:families": 0,
	} {
		if n := c.ZCard(ctx, prefix+key).Val(); n != want {
			t.Errorf("ZCARD %s = %d after Cleanup, want %d", key, n, want)
		}
	}
}

func TestCreateUserUndoesItsRecordWhenTheUsernameIsTaken(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	now := time.Now()
	if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "alice", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u2", Username: "alice", CreatedAt: now, UpdatedAt: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser of a taken username = %v, want ErrConflict", err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u1", Username: "bob", CreatedAt: now, UpdatedAt: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser of a taken id = %v, want ErrConflict", err)
	}
	if _, ok, _ := s.GetUser(ctx, "u2"); ok {
		t.Fatal("the loser's record was left behind")
	}
	if _, ok, _ := s.GetUserByUsername(ctx, "bob"); ok {
		t.Fatal("a refused registration claimed its username")
	}
	if st, _ := s.Stats(ctx); st.Users != 1 {
		t.Fatalf("Stats.Users = %d, want 1", st.Users)
	}
}

func TestGetUserByUsernameIgnoresAClaimWithoutItsRecord(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	// What a registration that crashed between its steps would leave.
	if err := c.Set(ctx, prefix+"username:ghost", "u404", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if u, ok, err := s.GetUserByUsername(ctx, "ghost"); ok || err != nil {
		t.Fatalf("GetUserByUsername = %+v, %v, %v; want false, nil", u, ok, err)
	}
}

func TestCorruptRecordsAreErrorsNotPanics(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	c.HSet(ctx, prefix+"session:bad", "d", encodeRoles([]string{"1", "n", "", "cookie", "", "", "", "yesterday"}), "u", "u1", "l", "1", "i", "0", "e", "99999999999999")
	if _, _, err := s.GetSession(ctx, "bad"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetSession of a corrupt hash = %v, want ErrCorrupt", err)
	}
	c.HSet(ctx, prefix+"user:bad", "n", "x", "r", "9:short", "c", "1", "m", "1")
	if _, _, err := s.GetUser(ctx, "bad"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetUser of a corrupt hash = %v, want ErrCorrupt", err)
	}
}

func TestNetworkErrorsAreWrappedAndMatchable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer client.Close()
	s, err := New(context.Background(), client, WithCircuitBreaker(0, 0), WithCleanupInterval(0), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_, _, err = s.GetSession(ctx, "s1")
	if err == nil || !strings.HasPrefix(err.Error(), "redisstore: get session: ") {
		t.Fatalf("GetSession on a dead server = %v, want an error naming the operation", err)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("a network error matched a sentinel: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping of a dead server succeeded")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.GetSession(canceled, "s1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetSession with a canceled context = %v, want context.Canceled to match", err)
	}
}

// A migration copies spent tokens too (AddRefreshToken with Spent), so that their reuse is
// still recognised in the new store.
func TestAMigratedSpentTokenIsRecognisedWhenReused(t *testing.T) {
	c := testClient(t)
	s := newTestStore(t, c)
	ctx := testCtx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	se := store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []store.RefreshToken{
		{SessionID: "s1", Hash: []byte("old"), Spent: true, CreatedAt: now.Add(-time.Minute)},
		{SessionID: "s1", Hash: []byte("new"), CreatedAt: now},
	} {
		if err := s.AddRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: []byte("new"), CreatedAt: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("adding a token twice = %v, want ErrConflict", err)
	}
	rts, err := s.ExportRefreshTokens(ctx, "s1")
	if err != nil || len(rts) != 2 {
		t.Fatalf("ExportRefreshTokens = %+v, %v", rts, err)
	}
	if string(rts[1].Hash) != "old" || !rts[1].Spent || !rts[1].CreatedAt.Equal(now.Add(-time.Minute)) || rts[0].Spent || !rts[0].CreatedAt.Equal(now) {
		t.Fatalf("ExportRefreshTokens = %+v, want old spent and new live with their times", rts)
	}
	if _, err := s.RotateRefreshToken(ctx, "s1", []byte("new"), []byte("old"), now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("rotating onto a hash already in the family = %v, want ErrConflict", err)
	}
	if _, err := s.RotateRefreshToken(ctx, "s1", []byte("old"), []byte("newer"), now); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("replaying the migrated spent token = %v, want ErrRefreshReused", err)
	}
	if st, _ := s.Stats(ctx); st.LiveSessions != 0 || st.LiveFamilies != 0 {
		t.Fatalf("Stats after reuse = %+v, want the family gone from the indexes", st)
	}
}

// TestCleanupClearsTheWholeBacklogInOneCall checks that one Cleanup call prunes every id
// due at its start, however many passes that takes: a fixed bound on the passes left a
// backlog of a million expired sessions to a second call. Passes of one id make a backlog
// of 1 500 dead ids need more passes than the old bound of 1 000.
func TestCleanupClearsTheWholeBacklogInOneCall(t *testing.T) {
	c := testClient(t)
	s := newTestStore(t, c, WithCleanupInterval(0))
	s.pruneBatch = 1
	ctx := context.Background()
	past := float64(time.Now().Add(-time.Hour).UnixMilli())
	const n = 1500
	members := make([]redis.Z, n)
	for i := range members {
		members[i] = redis.Z{Score: past, Member: fmt.Sprintf("gone-%04d", i)}
	}
	if err := c.ZAdd(ctx, s.k.live, members...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if left := c.ZCard(ctx, s.k.live).Val(); left != 0 {
		t.Fatalf("after one Cleanup, the index still holds %d of %d expired ids", left, n)
	}
}
