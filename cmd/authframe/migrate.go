package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/authframe/authframe/core/store"
)

// Source is a store that can be read in full.
type Source interface {
	store.Store
	store.Exporter
}

// Options control a migration.
type Options struct {
	// Batch is the page size of each read (default 500).
	Batch int
	// DryRun reads and counts everything but writes nothing.
	DryRun bool
	// Verify reads every copied record back from the destination and compares it.
	Verify bool
	// RevocationWindow is how far back revocations are copied (default 24 h).
	RevocationWindow time.Duration
	Log              io.Writer
}

// Report counts what a migration did.
type Report struct {
	Users, Sessions, RefreshTokens, Revocations int
	// Skipped counts records already present in the destination (a re-run is safe).
	Skipped  int
	Verified int
}

func (r Report) String() string {
	return fmt.Sprintf("users=%d sessions=%d refresh_tokens=%d revocations=%d skipped=%d verified=%d",
		r.Users, r.Sessions, r.RefreshTokens, r.Revocations, r.Skipped, r.Verified)
}

// Migrate copies users, live sessions with their refresh-token families, and recent
// revocations from src to dst, in pages. Sessions keep their deadlines, so TTLs carry
// over. Records already in dst are skipped, so an interrupted run can be repeated.
func Migrate(ctx context.Context, src Source, dst store.Store, o Options) (Report, error) {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.RevocationWindow <= 0 {
		o.RevocationWindow = 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	var rep Report
	for cursor := ""; ; {
		users, next, err := src.ExportUsers(ctx, cursor, o.Batch)
		if err != nil {
			return rep, fmt.Errorf("read users: %w", err)
		}
		for _, u := range users {
			rep.Users++
			if o.DryRun {
				continue
			}
			if err := dst.CreateUser(ctx, u); err != nil {
				if !errors.Is(err, store.ErrConflict) {
					return rep, fmt.Errorf("write user %s: %w", u.ID, err)
				}
				rep.Skipped++
			}
			if o.Verify {
				got, ok, err := dst.GetUser(ctx, u.ID)
				if err != nil || !ok || got.Username != u.Username || got.PasswordHash != u.PasswordHash || !slices.Equal(got.Roles, u.Roles) {
					return rep, fmt.Errorf("verify user %s: destination differs (found=%v, err=%v)", u.ID, ok, err)
				}
				rep.Verified++
			}
		}
		fmt.Fprintf(o.Log, "users: %d\n", rep.Users)
		if next == "" {
			break
		}
		cursor = next
	}
	for cursor := ""; ; {
		sessions, next, err := src.ExportSessions(ctx, cursor, o.Batch)
		if err != nil {
			return rep, fmt.Errorf("read sessions: %w", err)
		}
		for _, s := range sessions {
			rts, err := src.ExportRefreshTokens(ctx, s.ID)
			if err != nil {
				return rep, fmt.Errorf("read refresh tokens of a session: %w", err)
			}
			// A store takes each spent token added as the family's latest spend and forgets
			// the oldest first, so add them as they were spent: in a chain of rotations,
			// by creation.
			slices.SortStableFunc(rts, func(a, b store.RefreshToken) int { return a.CreatedAt.Compare(b.CreatedAt) })
			rep.Sessions++
			rep.RefreshTokens += len(rts)
			if o.DryRun {
				continue
			}
			if err := dst.CreateSession(ctx, s); err != nil {
				if !errors.Is(err, store.ErrConflict) {
					return rep, fmt.Errorf("write session: %w", err)
				}
				rep.Skipped++
			}
			for _, rt := range rts {
				if err := dst.AddRefreshToken(ctx, rt); err != nil && !errors.Is(err, store.ErrConflict) {
					if errors.Is(err, store.ErrNotFound) {
						break // the session expired meanwhile
					}
					return rep, fmt.Errorf("write refresh token: %w", err)
				}
			}
			if o.Verify {
				if err := verifySession(ctx, dst, s, rts); err != nil {
					return rep, err
				}
				rep.Verified++
			}
		}
		fmt.Fprintf(o.Log, "sessions: %d\n", rep.Sessions)
		if next == "" {
			break
		}
		cursor = next
	}
	revs, err := src.RevocationsSince(ctx, time.Now().Add(-o.RevocationWindow))
	if err != nil {
		return rep, fmt.Errorf("read revocations: %w", err)
	}
	for _, r := range revs {
		rep.Revocations++
		if o.DryRun {
			continue
		}
		if err := dst.AddRevocation(ctx, r); err != nil {
			return rep, fmt.Errorf("write revocation: %w", err)
		}
	}
	return rep, nil
}

func verifySession(ctx context.Context, dst store.Store, s store.Session, rts []store.RefreshToken) error {
	got, ok, err := dst.GetSession(ctx, s.ID)
	if err != nil || !ok {
		return fmt.Errorf("verify session: not found in the destination (err=%v)", err)
	}
	if got.UserID != s.UserID || got.Kind != s.Kind || !bytes.Equal(got.CSRFHash, s.CSRFHash) ||
		got.ExpiresAt.Sub(s.ExpiresAt).Abs() > time.Millisecond || got.IdleTimeout != s.IdleTimeout {
		return fmt.Errorf("verify session: destination differs")
	}
	ex, ok := dst.(store.Exporter)
	if !ok {
		return nil
	}
	have, err := ex.ExportRefreshTokens(ctx, s.ID)
	if err != nil {
		return fmt.Errorf("verify refresh tokens: %w", err)
	}
	if len(have) != len(rts) {
		return fmt.Errorf("verify refresh tokens: %d in the destination, %d in the source", len(have), len(rts))
	}
	return nil
}
