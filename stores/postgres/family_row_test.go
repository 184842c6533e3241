package pgstore

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

// wantRowFamily checks that the session row holds the tokens spent from first to last, in
// spend order, and the unspent one, and that the table holds nothing of the family.
func wantRowFamily(t *testing.T, st *Store, sessionID string, first, last, unspent int) {
	t.Helper()
	ctx := testCtx(t)
	var live, spent [][]byte
	if err := st.pool.QueryRow(ctx, "SELECT refresh_live, refresh_spent FROM "+st.n.table("sessions")+" WHERE id = $1", sessionID).Scan(&live, &spent); err != nil {
		t.Fatal(err)
	}
	str := func(bs [][]byte) []string {
		out := make([]string, len(bs))
		for i, b := range bs {
			out[i] = string(b)
		}
		return out
	}
	var want []string
	for i := first; i <= last; i++ {
		want = append(want, string(familyHash(i)))
	}
	if got := str(spent); !slices.Equal(got, want) {
		t.Fatalf("refresh_spent = %v, want %v", got, want)
	}
	if got := str(live); !slices.Equal(got, []string{string(familyHash(unspent))}) {
		t.Fatalf("refresh_live = %v, want [%s]", got, familyHash(unspent))
	}
	var rows int
	if err := st.pool.QueryRow(ctx, "SELECT count(*) FROM "+st.n.table("refresh_tokens")+" WHERE session_id = $1", sessionID).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("the table holds %d rows of a family in the row (%v)", rows, err)
	}
}

// startFamily creates a live token session and its first token, family token 0.
func startFamily(t *testing.T, st *Store, id string) {
	t.Helper()
	ctx := testCtx(t)
	now := time.Now()
	if err := st.CreateSession(ctx, store.Session{ID: id, UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: id, Hash: familyHash(0), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// A family started by this release lives in its session row, keeps its last
// store.SpentRefreshKept spent tokens in spend order, and exports them in that order.
func TestRefreshFamilyStorageIsBoundedInTheRow(t *testing.T) {
	const rotations = 300
	st := newTestStore(t)
	ctx := testCtx(t)
	startFamily(t, st, "s1")
	for i := 0; i < rotations; i++ {
		if _, err := st.RotateRefreshToken(ctx, "s1", familyHash(i), familyHash(i+1), time.Now()); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		if i+1 == 3 {
			wantRowFamily(t, st, "s1", 0, 2, 3)
		}
	}
	wantRowFamily(t, st, "s1", rotations-store.SpentRefreshKept, rotations-1, rotations)
	rts, err := st.ExportRefreshTokens(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rts) != store.SpentRefreshKept+1 {
		t.Fatalf("the export holds %d tokens, want %d", len(rts), store.SpentRefreshKept+1)
	}
	for i, rt := range rts[:store.SpentRefreshKept] {
		if want := familyHash(rotations - store.SpentRefreshKept + i); string(rt.Hash) != string(want) || !rt.Spent || !rt.CreatedAt.IsZero() || rt.SessionID != "s1" {
			t.Fatalf("exported spent token %d = %+v, want %s spent, with no creation time", i, rt, want)
		}
	}
	if last := rts[store.SpentRefreshKept]; string(last.Hash) != string(familyHash(rotations)) || last.Spent {
		t.Fatalf("the exported unspent token = %+v", last)
	}
}

// The rolling upgrade: a family started in the table (by an older release, or under
// WithLegacyRefreshFamilies) and a family started in the row both rotate, and both detect
// a reuse, whichever of the two configurations serves them; a family never moves.
func TestFamiliesInTheTableAndInTheRowRotateUnderEitherConfiguration(t *testing.T) {
	p := testPool(t)
	schema := freshSchema(t, p)
	legacy := openStore(t, p, WithSchema(schema), WithLegacyRefreshFamilies(), WithCleanupInterval(0))
	current := openStore(t, p, WithSchema(schema), WithCleanupInterval(0))
	ctx := testCtx(t)
	startFamily(t, legacy, "table")
	startFamily(t, current, "row")
	tableRows := func(id string) int {
		var n int
		if err := p.QueryRow(ctx, "SELECT count(*) FROM "+current.n.table("refresh_tokens")+" WHERE session_id = $1", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if tableRows("table") != 1 || tableRows("row") != 0 {
		t.Fatalf("the families started in %d and %d table rows, want 1 and 0", tableRows("table"), tableRows("row"))
	}
	for _, id := range []string{"table", "row"} {
		for i, st := range []*Store{current, legacy, current, legacy} {
			if _, err := st.RotateRefreshToken(ctx, id, familyHash(i), familyHash(i+1), time.Now()); err != nil {
				t.Fatalf("rotation %d of the %s family: %v", i+1, id, err)
			}
		}
		if _, err := current.RotateRefreshToken(ctx, id, familyHash(4), familyHash(4), time.Now()); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a new token already in the %s family = %v, want ErrConflict", id, err)
		}
		if _, err := current.RotateRefreshToken(ctx, id, []byte("never issued"), familyHash(9), time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an unknown token of the %s family = %v, want ErrNotFound", id, err)
		}
	}
	if tableRows("table") != 5 || tableRows("row") != 0 {
		t.Fatalf("after the rotations: %d and %d table rows, want 5 and 0", tableRows("table"), tableRows("row"))
	}
	wantRowFamily(t, current, "row", 0, 3, 4)
	for id, st := range map[string]*Store{"table": current, "row": legacy} {
		if _, err := st.RotateRefreshToken(ctx, id, familyHash(2), familyHash(9), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
			t.Fatalf("a replay in the %s family = %v, want ErrRefreshReused", id, err)
		}
		if _, ok, _ := st.GetSession(ctx, id); ok {
			t.Fatalf("the %s family's session survived its reuse", id)
		}
	}
}

// Of concurrent rotations of one token of a family in the row, exactly one succeeds; the
// others find it spent (a reuse, which ends the session) or, once the session is gone,
// nothing.
func TestConcurrentRotationsOfARowFamily(t *testing.T) {
	st := newTestStore(t, WithTimeout(5*time.Second))
	ctx := testCtx(t)
	startFamily(t, st, "s1")
	const callers = 20
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			_, errs[i] = st.RotateRefreshToken(ctx, "s1", familyHash(0), familyHash(100+i), time.Now())
		})
	}
	wg.Wait()
	ok, reused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrRefreshReused):
			reused++
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Fatalf("a concurrent rotation: %v", err)
		}
	}
	if ok != 1 || reused == 0 {
		t.Fatalf("%d rotations succeeded and %d saw a reuse, want 1 and at least 1", ok, reused)
	}
	if _, ok, _ := st.GetSession(ctx, "s1"); ok {
		t.Fatal("the session survived the reuse")
	}
}
