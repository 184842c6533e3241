package storetest

import (
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

// testSessionJKT: the DPoP key a token family is bound to comes back from every read of
// the session (GetSession, ListSessions, RotateRefreshToken, ExportSessions), and an
// unbound session's stays empty.
func testSessionJKT(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	const jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	bound := newSession(id("u"), now, "token")
	bound.JKT = jkt
	plain := newSession(bound.UserID, now, "token")
	for _, se := range []store.Session{bound, plain} {
		if err := s.CreateSession(c, se); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	if got, ok, err := s.GetSession(c, bound.ID); err != nil || !ok || got.JKT != jkt {
		t.Fatalf("GetSession of a bound session = JKT %q, %v, %v; want %q", got.JKT, ok, err, jkt)
	}
	if got, ok, err := s.GetSession(c, plain.ID); err != nil || !ok || got.JKT != "" {
		t.Fatalf("GetSession of an unbound session = JKT %q, %v, %v; want none", got.JKT, ok, err)
	}
	list, err := s.ListSessions(c, bound.UserID)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSessions = %d sessions, %v", len(list), err)
	}
	for _, se := range list {
		if want := map[string]string{bound.ID: jkt, plain.ID: ""}[se.ID]; se.JKT != want {
			t.Fatalf("ListSessions: session %s has JKT %q, want %q", se.ID, se.JKT, want)
		}
	}
	if err := s.AddRefreshToken(c, store.RefreshToken{SessionID: bound.ID, Hash: hash("jkt-rt1"), CreatedAt: now}); err != nil {
		t.Fatalf("AddRefreshToken: %v", err)
	}
	got, err := s.RotateRefreshToken(c, bound.ID, hash("jkt-rt1"), hash("jkt-rt2"), now.Add(time.Second))
	if err != nil || got.JKT != jkt {
		t.Fatalf("RotateRefreshToken = JKT %q, %v; want %q", got.JKT, err, jkt)
	}
	if ex, ok := s.(store.Exporter); ok {
		found := false
		for cursor := ""; ; {
			page, next, err := ex.ExportSessions(c, cursor, 100)
			if err != nil {
				t.Fatalf("ExportSessions: %v", err)
			}
			for _, se := range page {
				if se.ID == bound.ID {
					found = true
					if se.JKT != jkt {
						t.Fatalf("ExportSessions: JKT %q, want %q", se.JKT, jkt)
					}
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !found {
			t.Fatal("ExportSessions did not return the bound session")
		}
	}
}
