package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

func h(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// seed fills a store with users, a cookie session, a token session whose family has
// rotated once, an expired session and a revocation.
func seed(t *testing.T, s store.Store, tag string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 7; i++ {
		u := store.User{ID: fmt.Sprintf("%s-u%d", tag, i), Username: fmt.Sprintf("%s_user%d", tag, i), PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Roles: []string{"member"}, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	sessions := []store.Session{
		{ID: tag + "-cookie", UserID: tag + "-u0", Kind: "cookie", CSRFHash: h("csrf"), CreatedAt: now, LastSeenAt: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(24 * time.Hour)},
		{ID: tag + "-token", UserID: tag + "-u1", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(720 * time.Hour)},
		{ID: tag + "-dead", UserID: tag + "-u2", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(200 * time.Millisecond)},
	}
	for _, se := range sessions {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRefreshToken(ctx, store.RefreshToken{SessionID: tag + "-token", Hash: h("rt1"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefreshToken(ctx, tag+"-token", h("rt1"), h("rt2"), now); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Key: tag + "-gone", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
}

func checkCopied(t *testing.T, dst store.Store, tag string) {
	t.Helper()
	ctx := context.Background()
	if _, ok, _ := dst.GetUserByUsername(ctx, tag+"_user6"); !ok {
		t.Fatal("a user was not copied")
	}
	if _, ok, _ := dst.GetSession(ctx, tag+"-dead"); ok {
		t.Fatal("an expired session was copied")
	}
	// The family carried over: the spent token is still recognised as reused, after the
	// live one is spent normally.
	if _, err := dst.RotateRefreshToken(ctx, tag+"-token", h("rt2"), h("rt3"), time.Now()); err != nil {
		t.Fatalf("the live refresh token does not work in the destination: %v", err)
	}
	if _, ok, _ := dst.GetSession(ctx, tag+"-cookie"); !ok {
		t.Fatal("the cookie session was not copied")
	}
	revs, _ := dst.RevocationsSince(ctx, time.Now().Add(-time.Hour))
	found := false
	for _, r := range revs {
		found = found || r.Key == tag+"-gone"
	}
	if !found {
		t.Fatal("the revocation was not copied")
	}
}

func TestMigrateBetweenMemoryStores(t *testing.T) {
	src, dst := memstore.New(), memstore.New()
	defer src.Close()
	defer dst.Close()
	seed(t, src, "m")
	ctx := context.Background()

	dry, err := Migrate(ctx, src, dst, Options{Batch: 3, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.Users != 7 || dry.Sessions != 2 || dry.RefreshTokens != 2 || dry.Revocations != 1 {
		t.Fatalf("dry run counted %s", dry)
	}
	if st, _ := dst.Stats(ctx); st.Users != 0 || st.LiveSessions != 0 {
		t.Fatalf("the dry run wrote: %+v", st)
	}

	rep, err := Migrate(ctx, src, dst, Options{Batch: 3, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != 7 || rep.Sessions != 2 || rep.Verified != 9 || rep.Skipped != 0 {
		t.Fatalf("migration report %s", rep)
	}
	again, err := Migrate(ctx, src, dst, Options{Batch: 3})
	if err != nil {
		t.Fatalf("a second run failed: %v", err)
	}
	if again.Skipped != 9 {
		t.Fatalf("a second run skipped %d records, want 9", again.Skipped)
	}
	checkCopied(t, dst, "m")
}

// TestMigrateRedisToPostgres runs the command itself between the real servers.
func TestMigrateRedisToPostgres(t *testing.T) {
	ru, pu := os.Getenv("AUTHFRAME_TEST_REDIS_URL"), os.Getenv("AUTHFRAME_TEST_DATABASE_URL")
	if ru == "" || pu == "" {
		if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("AUTHFRAME_TEST_REDIS_URL and AUTHFRAME_TEST_DATABASE_URL must be set")
		}
		t.Skip("set AUTHFRAME_TEST_REDIS_URL and AUTHFRAME_TEST_DATABASE_URL to run the Redis → PostgreSQL migration test")
	}
	ctx := context.Background()
	tag := fmt.Sprintf("mig%d", time.Now().UnixNano()%1e9)
	rprefix, pprefix := "afmig:"+tag+":", "afmig_"+tag+"_"
	src, closeSrc, err := openStore(ctx, ru, rprefix)
	if err != nil {
		t.Fatal(err)
	}
	defer closeSrc()
	seed(t, src, tag)
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate", "--from", ru, "--from-prefix", rprefix, "--to", pu, "--to-prefix", pprefix, "--verify", "--batch", "2"}, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "users=7 sessions=2") {
		t.Fatalf("report: %s", out.String())
	}
	dst, closeDst, err := openStore(ctx, pu, pprefix)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDst()
	checkCopied(t, dst, tag)
	t.Cleanup(func() { dropPrefix(t, pu, pprefix) })
	t.Cleanup(func() { cleanRedis(t, ru, rprefix) })
}

// A family is copied with its spent tokens in their spend order, so the destination forgets
// them oldest first, as the source would have.
func TestMigrateKeepsTheSpendOrderOfAFamily(t *testing.T) {
	const rotations = store.SpentRefreshKept + 8
	src, dst := memstore.New(), memstore.New()
	defer src.Close()
	defer dst.Close()
	ctx := context.Background()
	now := time.Now()
	// Hashes that sort in the reverse of their creation, as the export returns them by hash.
	token := func(i int) []byte { return append([]byte{byte(200 - i)}, h(fmt.Sprint(i))...) }
	if err := src.CreateSession(ctx, store.Session{ID: "s", UserID: "u", Kind: "token", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := src.AddRefreshToken(ctx, store.RefreshToken{SessionID: "s", Hash: token(0), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rotations; i++ {
		if _, err := src.RotateRefreshToken(ctx, "s", token(i), token(i+1), now.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Migrate(ctx, src, dst, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.RotateRefreshToken(ctx, "s", token(rotations), token(rotations+1), time.Now()); err != nil {
		t.Fatalf("rotating the copied family: %v", err)
	}
	oldest := rotations - store.SpentRefreshKept // the oldest spent token the source kept
	if _, err := dst.RotateRefreshToken(ctx, "s", token(oldest), []byte("replay"), time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the oldest copied spent token after one more spend = %v, want ErrNotFound (forgotten first)", err)
	}
	if _, err := dst.RotateRefreshToken(ctx, "s", token(oldest+1), []byte("replay"), time.Now()); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("the next copied spent token = %v, want ErrRefreshReused", err)
	}
}
