package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

// testSessionAMR: a session keeps the authentication methods (RFC 8176) and the time of
// the login that started it, through a lookup, a listing, a refresh rotation and an
// export; a session without them reads back without them.
func testSessionAMR(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	authAt := now.Add(-90 * time.Second)
	se := newSession(id("u"), now, "token")
	se.AMR, se.AuthTime = []string{"pwd", "otp"}, authAt
	plain := newSession(se.UserID, now, "cookie")
	for _, x := range []store.Session{se, plain} {
		if err := s.CreateSession(c, x); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	check := func(what string, got store.Session, want store.Session) {
		t.Helper()
		if !slices.Equal(got.AMR, want.AMR) || (want.AuthTime.IsZero() != got.AuthTime.IsZero()) ||
			(!want.AuthTime.IsZero() && !near(got.AuthTime, want.AuthTime)) {
			t.Fatalf("%s: AMR %q, AuthTime %v; want %q, %v", what, got.AMR, got.AuthTime, want.AMR, want.AuthTime)
		}
	}
	got, ok, err := s.GetSession(c, se.ID)
	if err != nil || !ok {
		t.Fatalf("GetSession = %v, %v", ok, err)
	}
	check("GetSession", got, se)
	got, ok, err = s.GetSession(c, plain.ID)
	if err != nil || !ok {
		t.Fatalf("GetSession = %v, %v", ok, err)
	}
	if len(got.AMR) != 0 || !got.AuthTime.IsZero() {
		t.Fatalf("a session stored without AMR reads back with AMR %q, AuthTime %v", got.AMR, got.AuthTime)
	}
	list, err := s.ListSessions(c, se.UserID)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %d sessions, %v", len(list), err)
	}
	for _, x := range list {
		if x.ID == se.ID {
			check("ListSessions", x, se)
		}
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: se.ID, Hash: hash("amr-rt1"), CreatedAt: now}); err != nil {
		t.Fatalf("AddRefreshToken: %v", err)
	}
	got, err = s.RotateRefreshToken(c, se.ID, hash("amr-rt1"), hash("amr-rt2"), now.Add(time.Minute))
	if err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	check("RotateRefreshToken", got, se)
	if ex, ok := s.(store.Exporter); ok {
		found := false
		for cursor := ""; ; {
			page, next, err := ex.ExportSessions(c, cursor, 100)
			if err != nil {
				t.Fatalf("ExportSessions: %v", err)
			}
			for _, x := range page {
				if x.ID == se.ID {
					check("ExportSessions", x, se)
					found = true
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !found {
			t.Fatal("ExportSessions left the session out")
		}
	}
}
