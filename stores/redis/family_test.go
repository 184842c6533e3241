package redisstore

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

func familyHash(i int) []byte { return []byte(fmt.Sprintf("family-token-%03d", i)) }

// family reads the refresh family out of a session's hash: its unspent and spent token
// fields, and the hashes of its spend order.
func family(t *testing.T, c redis.UniversalClient, key string) (unspent, spent, order []string) {
	t.Helper()
	m, err := c.HGetAll(testCtx(t), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	for f, v := range m {
		h, ok := strings.CutPrefix(f, tokenField)
		if !ok {
			continue
		}
		if strings.HasPrefix(v, spentMarker) {
			spent = append(spent, h)
		} else {
			unspent = append(unspent, h)
		}
	}
	q, ok := m[spentOrderField]
	if !ok {
		t.Fatalf("the family has no spend order: fields %q", slices.Sorted(maps.Keys(m)))
	}
	for rest := q[1:]; rest != ""; {
		n := int(rest[0])
		if len(rest) < 1+n {
			t.Fatalf("spend order %q is cut short", q)
		}
		order = append(order, rest[1:1+n])
		rest = rest[1+n:]
	}
	if int(q[0]) != len(order) {
		t.Fatalf("spend order counts %d hashes and lists %d", q[0], len(order))
	}
	slices.Sort(unspent)
	slices.Sort(spent)
	return unspent, spent, order
}

// wantFamily checks that the family holds unspent as its one unspent token and the tokens
// spent from first to last, in that spend order, and nothing else.
func wantFamily(t *testing.T, c redis.UniversalClient, key string, unspent, first, last int) {
	t.Helper()
	gotUnspent, gotSpent, order := family(t, c, key)
	if want := []string{string(familyHash(unspent))}; !slices.Equal(gotUnspent, want) {
		t.Fatalf("unspent tokens = %q, want %q", gotUnspent, want)
	}
	var want []string
	for i := first; i <= last; i++ {
		want = append(want, string(familyHash(i)))
	}
	if !slices.Equal(order, want) {
		t.Fatalf("spend order = %q, want %q", order, want)
	}
	if !slices.Equal(gotSpent, slices.Sorted(slices.Values(want))) {
		t.Fatalf("spent token fields = %q, want those of the spend order %q", gotSpent, want)
	}
	fields, err := c.HLen(testCtx(t), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(sessionFields) + 1 + 1 + len(want)); fields != want {
		t.Fatalf("the session's hash has %d fields, want %d (the record, the spend order and the tokens)", fields, want)
	}
}

func TestRefreshFamilyStorageIsBoundedInTheSessionHash(t *testing.T) {
	const rotations = 300
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	now := time.Now()
	if err := s.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: familyHash(0), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rotations; i++ {
		if _, err := s.RotateRefreshToken(ctx, "s1", familyHash(i), familyHash(i+1), now); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		if i+1 == store.SpentRefreshKept {
			wantFamily(t, c, prefix+"session:s1", i+1, 0, i)
		}
	}
	wantFamily(t, c, prefix+"session:s1", rotations, rotations-store.SpentRefreshKept, rotations-1)
}

// legacyFamily writes the session s1 as a release that kept every spent token wrote it:
// tokens 0 to spent-1 spent (created a second apart), token spent unspent, and no spend
// order.
func legacyFamily(t *testing.T, c redis.UniversalClient, prefix string, s *Store, spent int) {
	t.Helper()
	ctx := testCtx(t)
	now := time.Now()
	if err := s.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	start := now.Add(-time.Duration(spent) * time.Second)
	var args []any
	for i := 0; i <= spent; i++ {
		args = append(args, refreshField(familyHash(i)), refreshValue(i < spent, start.Add(time.Duration(i)*time.Second)))
	}
	if err := c.HSet(ctx, prefix+"session:s1", args...).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestALegacyFamilyIsTrimmedByItsNextRotation(t *testing.T) {
	const legacy = 2500 // more than one batch of the script's deletions
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	legacyFamily(t, c, prefix, s, legacy)

	rts, err := s.ExportRefreshTokens(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	var exported []int
	for _, rt := range rts {
		n, _ := strconv.Atoi(strings.TrimPrefix(string(rt.Hash), "family-token-"))
		exported = append(exported, n)
	}
	slices.Sort(exported)
	var want []int
	for i := legacy - store.SpentRefreshKept; i <= legacy; i++ {
		want = append(want, i)
	}
	if !slices.Equal(exported, want) {
		t.Fatalf("the export of a legacy family = %v, want the current token and the last %d spent %v", exported, store.SpentRefreshKept, want)
	}

	if _, err := s.RotateRefreshToken(ctx, "s1", familyHash(legacy), familyHash(legacy+1), time.Now()); err != nil {
		t.Fatalf("rotating a legacy family: %v", err)
	}
	wantFamily(t, c, prefix+"session:s1", legacy+1, legacy+1-store.SpentRefreshKept, legacy)
	if _, err := s.RotateRefreshToken(ctx, "s1", familyHash(legacy-store.SpentRefreshKept), []byte("replay"), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a legacy token no longer kept = %v, want ErrNotFound", err)
	}
	if _, err := s.RotateRefreshToken(ctx, "s1", familyHash(legacy+1-store.SpentRefreshKept), []byte("replay"), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("the oldest legacy token kept = %v, want ErrRefreshReused", err)
	}
	if n, _ := c.Exists(ctx, prefix+"session:s1").Result(); n != 0 {
		t.Fatal("the family survived its reuse")
	}
}

func TestAReplayIntoALegacyFamilyIsJudgedByTheBound(t *testing.T) {
	const legacy = 100
	c := testClient(t)
	tests := []struct {
		name  string
		token int
		want  error
	}{
		{"a token among the last spent is a reuse", legacy - store.SpentRefreshKept, store.ErrRefreshReused},
		{"an older token is unknown, and the family is trimmed", legacy - store.SpentRefreshKept - 1, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := testPrefix(t, c)
			s := newTestStoreOn(t, c, prefix)
			legacyFamily(t, c, prefix, s, legacy)
			_, err := s.RotateRefreshToken(testCtx(t), "s1", familyHash(tt.token), []byte("replay"), time.Now())
			if !errors.Is(err, tt.want) {
				t.Fatalf("RotateRefreshToken = %v, want %v", err, tt.want)
			}
			if tt.want == store.ErrNotFound {
				wantFamily(t, c, prefix+"session:s1", legacy, legacy-store.SpentRefreshKept, legacy-1)
			}
		})
	}
}

func TestAHashTooLongForTheSpendOrderIsRefused(t *testing.T) {
	c := testClient(t)
	s := newTestStore(t, c)
	ctx := testCtx(t)
	now := time.Now()
	if err := s.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	long := make([]byte, maxRefreshHash+1)
	if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: long, CreatedAt: now}); err == nil {
		t.Fatal("AddRefreshToken took a hash longer than the spend order holds")
	}
	if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: []byte("a"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, "s1", []byte("a"), long, now); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotating onto a hash longer than the spend order holds = %v, want an error", err)
	}
	if _, err := s.RotateRefreshToken(ctx, "s1", long, []byte("b"), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("spending a hash no family can hold = %v, want ErrNotFound", err)
	}
	if _, err := s.RotateRefreshToken(ctx, "s1", []byte("a"), []byte("b"), now); err != nil {
		t.Fatalf("the family after the refusals: %v", err)
	}
}
