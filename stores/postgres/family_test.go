package pgstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

func familyHash(i int) []byte { return []byte(fmt.Sprintf("family-token-%03d", i)) }

// wantFamily checks that the family is the tokens spent from first to last, numbered from
// seq on, and the token unspent, and no other row, and that the session counts its last
// spend.
func wantFamily(t *testing.T, st *Store, sessionID string, first, last int, seq int64, unspent int) {
	t.Helper()
	ctx := testCtx(t)
	type row struct {
		hash  string
		spent bool
		seq   int64
	}
	var want []row
	for i := first; i <= last; i++ {
		want = append(want, row{string(familyHash(i)), true, seq + int64(i-first)})
	}
	want = append(want, row{string(familyHash(unspent)), false, 0})
	rows, err := st.pool.Query(ctx, "SELECT hash, spent, spent_seq FROM "+st.n.table("refresh_tokens")+
		" WHERE session_id = $1 ORDER BY NOT spent, spent_seq, hash", sessionID)
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	var r row
	var h []byte
	if _, err := pgx.ForEachRow(rows, []any{&h, &r.spent, &r.seq}, func() error {
		r.hash = string(h)
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("refresh_tokens rows of the family =\n%v\nwant\n%v", got, want)
	}
	var count int64
	if err := st.pool.QueryRow(ctx, "SELECT refresh_seq FROM "+st.n.table("sessions")+" WHERE id = $1", sessionID).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if wantCount := seq + int64(last-first); count != wantCount {
		t.Fatalf("refresh_seq = %d, want %d", count, wantCount)
	}
}

func TestRefreshFamilyStorageIsBoundedInTheTable(t *testing.T) {
	const rotations = 300
	st := newTestStore(t, WithLegacyRefreshFamilies())
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
			wantFamily(t, st, "s1", 0, i, 1, i+1)
		}
	}
	wantFamily(t, st, "s1", rotations-store.SpentRefreshKept, rotations-1, rotations-store.SpentRefreshKept+1, rotations)
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
	wantFamily(t, st, "long", legacy-store.SpentRefreshKept, legacy-1, 1, legacy)
	wantFamily(t, st, "short", 0, 2, 1, 3)

	if _, err := st.RotateRefreshToken(ctx, "long", familyHash(legacy), familyHash(legacy+1), time.Now()); err != nil {
		t.Fatalf("rotating a migrated family: %v", err)
	}
	wantFamily(t, st, "long", legacy+1-store.SpentRefreshKept, legacy, 2, legacy+1)
	if _, err := st.RotateRefreshToken(ctx, "short", familyHash(3), familyHash(4), time.Now()); err != nil {
		t.Fatalf("rotating a migrated family: %v", err)
	}
	wantFamily(t, st, "short", 0, 3, 1, 4)
	if _, err := st.RotateRefreshToken(ctx, "long", familyHash(legacy-store.SpentRefreshKept), []byte("replay"), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a token the migration forgot = %v, want ErrNotFound", err)
	}
	if _, err := st.RotateRefreshToken(ctx, "long", familyHash(legacy+1-store.SpentRefreshKept), []byte("replay"), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("the oldest token the migration kept = %v, want ErrRefreshReused", err)
	}
}

// A release older than schema version 2, during a rolling upgrade, spends tokens without
// numbering them: such a token stays, still recognised as reused, and the export leaves
// it out.
func TestATokenSpentByAnOlderReleaseStaysRecognised(t *testing.T) {
	st := newTestStore(t, WithLegacyRefreshFamilies())
	ctx := testCtx(t)
	now := time.Now()
	if err := st.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s1", Hash: familyHash(0), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	const older = store.SpentRefreshKept // the token the older release spends
	for i := 0; i < older; i++ {
		if _, err := st.RotateRefreshToken(ctx, "s1", familyHash(i), familyHash(i+1), now); err != nil {
			t.Fatal(err)
		}
	}
	refresh := st.n.table("refresh_tokens")
	if _, err := st.pool.Exec(ctx, "UPDATE "+refresh+" SET spent = true WHERE session_id = 's1' AND hash = $1", familyHash(older)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.pool.Exec(ctx, "INSERT INTO "+refresh+" (session_id, hash, created_at) VALUES ('s1', $1, $2)", familyHash(older+1), now); err != nil {
		t.Fatal(err)
	}
	for i := older + 1; i < older+5; i++ {
		if _, err := st.RotateRefreshToken(ctx, "s1", familyHash(i), familyHash(i+1), now); err != nil {
			t.Fatal(err)
		}
	}
	rts, err := st.ExportRefreshTokens(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rts) != store.SpentRefreshKept+1 {
		t.Fatalf("the export holds %d tokens, want %d", len(rts), store.SpentRefreshKept+1)
	}
	for _, rt := range rts {
		if bytes.Equal(rt.Hash, familyHash(older)) {
			t.Fatal("the export holds the token spent outside the spend order")
		}
	}
	if _, err := st.RotateRefreshToken(ctx, "s1", familyHash(older), []byte("replay"), now); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("replaying the token the older release spent = %v, want ErrRefreshReused", err)
	}
}
