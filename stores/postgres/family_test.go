package pgstore

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

func familyHash(i int) []byte { return []byte(fmt.Sprintf("family-token-%03d", i)) }

// familyRow is one row of refresh_tokens, as the test reads it back.
type familyRow struct {
	hash  string
	spent bool
	seq   int64
}

// familyRows reads the refresh_tokens rows of a session, spent ones by spend number, then
// the unspent.
func familyRows(t *testing.T, st *Store, sessionID string) []familyRow {
	t.Helper()
	rows, err := st.pool.Query(testCtx(t), "SELECT hash, spent, spent_seq FROM "+st.n.table("refresh_tokens")+
		" WHERE session_id = $1 ORDER BY NOT spent, spent_seq, hash", sessionID)
	if err != nil {
		t.Fatal(err)
	}
	var out []familyRow
	var r familyRow
	var h []byte
	if _, err := pgx.ForEachRow(rows, []any{&h, &r.spent, &r.seq}, func() error {
		r.hash = string(h)
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantFamilyRows checks that the family is the tokens spent from first to last, numbered
// from seq on, and the unspent token unspent, and no other row.
func wantFamilyRows(t *testing.T, st *Store, sessionID string, first, last int, seq int64, unspent int) {
	t.Helper()
	var want []familyRow
	for i := first; i <= last; i++ {
		want = append(want, familyRow{string(familyHash(i)), true, seq + int64(i-first)})
	}
	want = append(want, familyRow{hash: string(familyHash(unspent))})
	got := familyRows(t, st, sessionID)
	if len(got) == len(want) && !got[len(got)-1].spent {
		got[len(got)-1].seq = 0 // an unspent row's number means nothing
	}
	if !slices.Equal(got, want) {
		t.Fatalf("refresh_tokens rows of the family =\n%v\nwant\n%v", got, want)
	}
}

func TestRefreshFamilyStorageIsBoundedInTheTable(t *testing.T) {
	const rotations = 300
	st := newTestStore(t)
	ctx := testCtx(t)
	now := time.Now()
	if err := st.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: familyHash(0), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rotations; i++ {
		if _, err := st.RotateRefreshToken(ctx, "s1", familyHash(i), familyHash(i+1), now); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		if i+1 == store.SpentRefreshKept {
			wantFamilyRows(t, st, "s1", 0, i, 1, i+1)
		}
	}
	wantFamilyRows(t, st, "s1", rotations-store.SpentRefreshKept, rotations-1, rotations-store.SpentRefreshKept+1, rotations)
	var seq int64
	if err := st.pool.QueryRow(ctx, "SELECT refresh_seq FROM "+st.n.table("sessions")+" WHERE id = 's1'").Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq != rotations {
		t.Fatalf("refresh_seq = %d, want %d", seq, rotations)
	}
}

// A family spent under schema version 1 holds every spent token; the migration to version 2
// keeps its last ones and numbers them, so that rotations carry on as in a new family.
func TestTheMigrationTrimsFamiliesOfVersion1(t *testing.T) {
	const legacy = 100
	p := testPool(t)
	ctx := testCtx(t)
	st := openStore(t, p, WithSchema(freshSchema(t, p)), WithMigrate(false), WithCleanupInterval(0))
	all := st.migrations
	st.migrations = all[:1]
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Microsecond)
	insertSession := "INSERT INTO " + st.n.table("sessions") + " (id, user_id, kind, created_at, last_seen_at, expires_at, deadline) VALUES ($1, 'u1', 'token', $2, $2, $3, $3)"
	insertToken := "INSERT INTO " + st.n.table("refresh_tokens") + " (session_id, hash, spent, created_at) VALUES ($1, $2, $3, $4)"
	for _, id := range []string{"long", "short"} {
		if _, err := p.Exec(ctx, insertSession, id, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// "long" has spent tokens 0 to legacy-1 and holds legacy; "short" has spent 0 to 2 and
	// holds 3. Their creation times run a second apart, the latest now.
	for id, spent := range map[string]int{"long": legacy, "short": 3} {
		for i := 0; i <= spent; i++ {
			created := now.Add(-time.Duration(spent-i) * time.Second)
			if _, err := p.Exec(ctx, insertToken, id, familyHash(i), i < spent, created); err != nil {
				t.Fatal(err)
			}
		}
	}

	st.migrations = all
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrating a schema of version 1 with data: %v", err)
	}
	wantFamilyRows(t, st, "long", legacy-store.SpentRefreshKept, legacy-1, 1, legacy)
	wantFamilyRows(t, st, "short", 0, 2, 1, 3)

	if _, err := st.RotateRefreshToken(ctx, "long", familyHash(legacy), familyHash(legacy+1), time.Now()); err != nil {
		t.Fatalf("rotating a migrated family: %v", err)
	}
	wantFamilyRows(t, st, "long", legacy+1-store.SpentRefreshKept, legacy, 2, legacy+1)
	if _, err := st.RotateRefreshToken(ctx, "short", familyHash(3), familyHash(4), time.Now()); err != nil {
		t.Fatalf("rotating a migrated family: %v", err)
	}
	wantFamilyRows(t, st, "short", 0, 3, 1, 4)
	if _, err := st.RotateRefreshToken(ctx, "long", familyHash(legacy-store.SpentRefreshKept), []byte("replay"), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a token the migration forgot = %v, want ErrNotFound", err)
	}
	if _, err := st.RotateRefreshToken(ctx, "long", familyHash(legacy+1-store.SpentRefreshKept), []byte("replay"), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("the oldest token the migration kept = %v, want ErrRefreshReused", err)
	}
}

// A release that predates the spend numbers (version 1 of the queries, during a rolling
// upgrade) spends tokens with spent_seq 0: the next rotation by this release forgets them
// rather than keeping them for good.
func TestTokensSpentByAnOlderReleaseAreForgottenToo(t *testing.T) {
	st := newTestStore(t)
	ctx := testCtx(t)
	now := time.Now()
	if err := st.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: familyHash(0), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < store.SpentRefreshKept; i++ {
		if _, err := st.RotateRefreshToken(ctx, "s1", familyHash(i), familyHash(i+1), now); err != nil {
			t.Fatal(err)
		}
	}
	// The older release's spend of token SpentRefreshKept, and its new token.
	refresh := st.n.table("refresh_tokens")
	if _, err := st.pool.Exec(ctx, "UPDATE "+refresh+" SET spent = true WHERE session_id = 's1' AND hash = $1", familyHash(store.SpentRefreshKept)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.pool.Exec(ctx, "INSERT INTO "+refresh+" (session_id, hash, created_at) VALUES ('s1', $1, $2)", familyHash(store.SpentRefreshKept+1), now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RotateRefreshToken(ctx, "s1", familyHash(store.SpentRefreshKept+1), familyHash(store.SpentRefreshKept+2), now); err != nil {
		t.Fatal(err)
	}
	rows := familyRows(t, st, "s1")
	if len(rows) > store.SpentRefreshKept+1 {
		t.Fatalf("the family holds %d tokens, want at most %d", len(rows), store.SpentRefreshKept+1)
	}
	for _, r := range rows {
		if r.spent && r.seq == 0 {
			t.Fatalf("a token spent by the older release is kept: %v", r)
		}
	}
}
