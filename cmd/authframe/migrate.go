package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/authframe/authframe/core/store"
)

// Options control a migration.
type Options struct {
	// Batch is the page size of each read and write (default 500).
	Batch int
	// DryRun reads and counts everything but writes nothing.
	DryRun bool
	// Verify reads every copied record back from the destination and compares it.
	Verify bool
	// RevocationWindow is how far back revocations are copied (default 24 h).
	RevocationWindow time.Duration
	// Checkpoint is a file that records how far the copy got, written after each batch
	// the destination has committed. A run that finds it goes on from there; a run that
	// completes removes it. Empty: no file, and a repeated run reads everything again (it
	// is still safe: records already copied are compared and skipped).
	Checkpoint string
	// Route names the source and the destination in the checkpoint, so that a checkpoint
	// is never applied to another pair of stores.
	Route string
	// Progress starts the report of one phase of total records (0: unknown); nil: none.
	Progress func(label string, total int64) progress
}

// Report counts what a migration did.
type Report struct {
	Users         int `json:"users"`
	Sessions      int `json:"sessions"`
	RefreshTokens int `json:"refresh_tokens"`
	Revocations   int `json:"revocations"`
	// Skipped counts records already present, and equal, in the destination: copied by an
	// earlier, interrupted run.
	Skipped  int `json:"skipped"`
	Verified int `json:"verified"`
}

func (r Report) String() string {
	return fmt.Sprintf("users=%d sessions=%d refresh_tokens=%d revocations=%d skipped=%d verified=%d",
		r.Users, r.Sessions, r.RefreshTokens, r.Revocations, r.Skipped, r.Verified)
}

// Phases of a migration, in order, as a checkpoint names them.
const (
	phaseUsers       = "users"
	phaseSessions    = "sessions"
	phaseRevocations = "revocations"
)

// checkpoint is the content of Options.Checkpoint.
type checkpoint struct {
	Version int    `json:"version"`
	Route   string `json:"route"`
	Phase   string `json:"phase"`
	// Cursor is the export cursor after the last committed batch of Phase.
	Cursor string `json:"cursor"`
	Report Report `json:"report"`
}

const checkpointVersion = 1

func loadCheckpoint(path, route string) (checkpoint, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("checkpoint: %w", err)
	}
	var c checkpoint
	if err := json.Unmarshal(b, &c); err != nil || c.Version != checkpointVersion {
		return checkpoint{}, false, usageErr("checkpoint %s is not a checkpoint of this release (remove it to start over)", path)
	}
	if c.Route != route {
		return checkpoint{}, false, usageErr("checkpoint %s belongs to another migration (%s); remove it or name another file", path, c.Route)
	}
	switch c.Phase {
	case phaseUsers, phaseSessions, phaseRevocations:
	default:
		return checkpoint{}, false, usageErr("checkpoint %s: unknown phase %q", path, c.Phase)
	}
	return c, true, nil
}

// save writes the checkpoint through a temporary file and a rename, so that a crash leaves
// the old one or the new one, never half of one. It is not synced: a checkpoint that a
// crash rolls back only makes the next run compare and skip a batch again.
func (c checkpoint) save(path string) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// bulkUserCreator is the bulk write of a store that has one (pgstore.Store.CreateUsers):
// it inserts the users whose id and username are free and returns their ids.
type bulkUserCreator interface {
	CreateUsers(ctx context.Context, users []store.User) ([]string, error)
}

// sameUser reports whether two records are the same user (times are left out: stores keep
// them at different precisions).
func sameUser(a, b store.User) bool {
	return a.ID == b.ID && a.Username == b.Username && a.PasswordHash == b.PasswordHash &&
		slices.Equal(a.Roles, b.Roles) && a.Disabled == b.Disabled
}

// errDiffers is the cause of a record in the destination that is not the one copied.
var errDiffers = errors.New("the destination holds a different record")

// settle decides the fate of a user the destination did not take: the same user copied
// by an earlier run is skipped; anything else (another user with its username, a changed
// record) is a conflict.
func settle(ctx context.Context, dst store.Store, u store.User) error {
	got, ok, err := dst.GetUser(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("read back user %s: %w", u.ID, err)
	}
	if !ok {
		return &exitError{code: exitConflict, err: fmt.Errorf("user %s: username %q is taken by another user in the destination: %w", u.ID, u.Username, errDiffers)}
	}
	if !sameUser(got, u) {
		return &exitError{code: exitConflict, err: fmt.Errorf("user %s (%s): %w (changed since an earlier run?)", u.ID, u.Username, errDiffers)}
	}
	return nil
}

// writeUsers writes one batch and reports how many were already there.
func writeUsers(ctx context.Context, dst store.Store, users []store.User) (skipped int, err error) {
	if bulk, ok := dst.(bulkUserCreator); ok {
		created, err := bulk.CreateUsers(ctx, users)
		if err != nil {
			return 0, fmt.Errorf("write users: %w", err)
		}
		if len(created) == len(users) {
			return 0, nil
		}
		done := make(map[string]struct{}, len(created))
		for _, id := range created {
			done[id] = struct{}{}
		}
		for _, u := range users {
			if _, ok := done[u.ID]; ok {
				continue
			}
			if err := settle(ctx, dst, u); err != nil {
				return skipped, err
			}
			skipped++
		}
		return skipped, nil
	}
	for _, u := range users {
		err := dst.CreateUser(ctx, u)
		if errors.Is(err, store.ErrConflict) {
			if err := settle(ctx, dst, u); err != nil {
				return skipped, err
			}
			skipped++
			continue
		}
		if err != nil {
			return skipped, fmt.Errorf("write user %s: %w", u.ID, err)
		}
	}
	return skipped, nil
}

// maxBatch bounds a batch: pgstore's bulk insert takes at most 10000 users per call.
const maxBatch = 10000

// batchTimeout bounds the write of one batch, which an interruption lets finish.
const batchTimeout = 2 * time.Minute

// Migrate copies users, live sessions with their refresh-token families, and recent
// revocations from src to dst, in batches. Sessions keep their deadlines, so TTLs carry
// over. Records already in dst and equal to the source's are skipped, so an interrupted
// run can be repeated; with o.Checkpoint it resumes after the last committed batch
// instead of reading everything again. When ctx ends, the batch being written is
// finished and Migrate returns ctx's error.
func Migrate(ctx context.Context, src Source, dst store.Store, o Options) (Report, error) {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Batch > maxBatch {
		return Report{}, usageErr("--batch %d: at most %d", o.Batch, maxBatch)
	}
	if o.RevocationWindow <= 0 {
		o.RevocationWindow = 24 * time.Hour
	}
	if o.Progress == nil {
		o.Progress = func(string, int64) progress { return nopProgress{} }
	}
	if o.DryRun && o.Checkpoint != "" {
		return Report{}, usageErr("a dry run writes nothing, so it has no checkpoint")
	}
	cp := checkpoint{Version: checkpointVersion, Route: o.Route, Phase: phaseUsers}
	if o.Checkpoint != "" {
		c, ok, err := loadCheckpoint(o.Checkpoint, o.Route)
		if err != nil {
			return Report{}, err
		}
		if ok {
			cp = c
		}
	}
	var totals store.Stats
	if sr, ok := src.(store.StatsReporter); ok {
		totals, _ = sr.Stats(ctx)
	}
	// commit records a batch the destination holds.
	commit := func() error {
		if o.Checkpoint == "" {
			return nil
		}
		return cp.save(o.Checkpoint)
	}
	wctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	}

	if cp.Phase == phaseUsers {
		bar := o.Progress("users", max(totals.Users-int64(cp.Report.Users), 0))
		err := func() error {
			defer bar.Done()
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				users, next, err := src.ExportUsers(ctx, cp.Cursor, o.Batch)
				if err != nil {
					return fmt.Errorf("read users: %w", err)
				}
				if !o.DryRun {
					c, cancel := wctx()
					skipped, err := writeUsers(c, dst, users)
					if err == nil && o.Verify {
						err = verifyUsers(c, dst, users)
					}
					cancel()
					cp.Report.Skipped += skipped
					if err != nil {
						return err
					}
					if o.Verify {
						cp.Report.Verified += len(users)
					}
				}
				cp.Report.Users += len(users)
				bar.Add(len(users))
				if next == "" {
					cp.Phase, cp.Cursor = phaseSessions, ""
				} else {
					cp.Cursor = next
				}
				if err := commit(); err != nil {
					return err
				}
				if next == "" {
					return nil
				}
			}
		}()
		if err != nil {
			return cp.Report, err
		}
	}

	if cp.Phase == phaseSessions {
		bar := o.Progress("sessions", max(totals.LiveSessions-int64(cp.Report.Sessions), 0))
		err := func() error {
			defer bar.Done()
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				sessions, next, err := src.ExportSessions(ctx, cp.Cursor, o.Batch)
				if err != nil {
					return fmt.Errorf("read sessions: %w", err)
				}
				c, cancel := wctx()
				err = copySessions(c, src, dst, sessions, o, &cp.Report)
				cancel()
				if err != nil {
					return err
				}
				bar.Add(len(sessions))
				if next == "" {
					cp.Phase, cp.Cursor = phaseRevocations, ""
				} else {
					cp.Cursor = next
				}
				if err := commit(); err != nil {
					return err
				}
				if next == "" {
					return nil
				}
			}
		}()
		if err != nil {
			return cp.Report, err
		}
	}

	revs, err := src.RevocationsSince(ctx, time.Now().Add(-o.RevocationWindow))
	if err != nil {
		return cp.Report, fmt.Errorf("read revocations: %w", err)
	}
	rep := cp.Report
	for _, r := range revs {
		rep.Revocations++
		if o.DryRun {
			continue
		}
		// A revocation added twice covers what it covered once: no conflict to settle.
		if err := dst.AddRevocation(context.WithoutCancel(ctx), r); err != nil {
			return rep, fmt.Errorf("write revocation: %w", err)
		}
	}
	if o.Checkpoint != "" {
		if err := os.Remove(o.Checkpoint); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("checkpoint: %w", err)
		}
	}
	return rep, nil
}

func verifyUsers(ctx context.Context, dst store.Store, users []store.User) error {
	for _, u := range users {
		got, ok, err := dst.GetUser(ctx, u.ID)
		if err != nil || !ok || !sameUser(got, u) {
			return fmt.Errorf("verify user %s: destination differs (found=%v, err=%v)", u.ID, ok, err)
		}
	}
	return nil
}

// copySessions copies one batch of sessions with their refresh families.
func copySessions(ctx context.Context, src Source, dst store.Store, sessions []store.Session, o Options, rep *Report) error {
	for _, s := range sessions {
		rts, err := src.ExportRefreshTokens(ctx, s.ID)
		if err != nil {
			return fmt.Errorf("read refresh tokens of a session: %w", err)
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
				return fmt.Errorf("write session: %w", err)
			}
			got, ok, gerr := dst.GetSession(ctx, s.ID)
			if gerr != nil {
				return fmt.Errorf("read back session: %w", gerr)
			}
			if ok && (got.UserID != s.UserID || got.Kind != s.Kind) {
				return &exitError{code: exitConflict, err: fmt.Errorf("session of user %s: %w", s.UserID, errDiffers)}
			}
			rep.Skipped++
		}
		for _, rt := range rts {
			if err := dst.AddRefreshToken(ctx, rt); err != nil && !errors.Is(err, store.ErrConflict) {
				if errors.Is(err, store.ErrNotFound) {
					break // the session expired meanwhile
				}
				return fmt.Errorf("write refresh token: %w", err)
			}
		}
		if o.Verify {
			if err := verifySession(ctx, dst, s, rts); err != nil {
				return err
			}
			rep.Verified++
		}
	}
	return nil
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

func newMigrateCmd(a *app) *cobra.Command {
	var from, to, fromPrefix, toPrefix, cpFile string
	var o Options
	c := &cobra.Command{
		Use:   "migrate --to URL [--from URL] [--checkpoint FILE]",
		Short: "Copy users, live sessions and recent revocations from one store to another",
		Long: `Copy users, live sessions with their refresh-token families, and recent revocations
from one store to another in batches, keeping every deadline. --from defaults to the
command's store (--store, $AUTHFRAME_STORE_URL); --from-prefix to --prefix.

Progress is a bar on a terminal and a line every few seconds elsewhere. Interrupted
(Ctrl-C, SIGTERM), the batch being written is finished and the command stops with exit
code 130. Run it again to resume: records already in the destination and equal to the
source's are compared and skipped, never duplicated; with --checkpoint FILE the run goes
on after the last committed batch instead of reading everything again. A run that
completes removes the checkpoint.`,
		Args: noArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if from == "" {
				from = a.url()
			}
			if fromPrefix == "" {
				fromPrefix = a.prefix
			}
			if from == "" || to == "" {
				return usageErr("migrate: --to and a source (--from, --store or $%s) are required", envStoreURL)
			}
			src, closeSrc, err := openStore(ctx, from, fromPrefix)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			defer closeSrc()
			dst, closeDst, err := openStore(ctx, to, toPrefix)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			defer closeDst()
			o.Checkpoint = cpFile
			o.Route = redactURL(from) + " " + fromPrefix + " -> " + redactURL(to) + " " + toPrefix
			o.Progress = a.progress
			rep, err := Migrate(ctx, src, dst, o)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					hint := "run the same command again to resume"
					if cpFile != "" {
						hint += " from " + cpFile
					}
					fmt.Fprintf(a.err, "interrupted after %s: %s\n", rep, hint)
				}
				return err
			}
			mode := "copied"
			if o.DryRun {
				mode = "dry run, would copy"
			}
			return a.emit(rep, func(w io.Writer) { fmt.Fprintf(w, "%s: %s\n", mode, rep) })
		}),
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "source store: redis://… or postgres://… (default the command's store)")
	f.StringVar(&to, "to", "", "destination store: redis://… or postgres://…")
	f.StringVar(&fromPrefix, "from-prefix", "", "source key prefix (Redis) or table prefix (PostgreSQL); default --prefix, else the store's")
	f.StringVar(&toPrefix, "to-prefix", "", "destination key or table prefix")
	f.IntVar(&o.Batch, "batch", 500, "records per batch (a checkpoint is written after each)")
	f.BoolVar(&o.DryRun, "dry-run", false, "read and count, write nothing")
	f.BoolVar(&o.Verify, "verify", false, "read every copied record back and compare")
	f.DurationVar(&o.RevocationWindow, "revocations", 24*time.Hour, "copy revocations made within this window")
	f.StringVar(&cpFile, "checkpoint", "", "resume from and record progress in this file (default: none; a rerun compares and skips what was copied)")
	return c
}
