package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/store"
)

// importRecord is one user of an import file.
type importRecord struct {
	line         int
	Username     string   `json:"username"`
	PasswordHash string   `json:"password_hash"`
	Roles        []string `json:"roles"`
}

// checkUsername applies core's username rule (3 to 64 letters, digits and . _ @ -), the
// one Guard.Register applies.
func checkUsername(u string) error {
	if len(u) < 3 || len(u) > 64 {
		return errors.New("username must be 3 to 64 characters")
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return errors.New("username may contain only letters, digits and . _ @ -")
		}
	}
	return nil
}

// Bounds on the argon2id parameters of an imported hash: beyond them one login would cost
// the server more memory or time than any sane deployment gives it.
const (
	maxImportMemory     = 4 << 20 // KiB: 4 GiB
	maxImportIterations = 64
)

// checkPHC accepts exactly the password hashes core verifies (core/password.go): argon2id
// PHC strings of version 19, $argon2id$v=19$m=M,t=T,p=P$salt$hash, salt and hash in
// unpadded standard base64, every parameter positive. Anything else could never log in.
// Hashes weaker than the Guard's parameters are fine: core upgrades them at the next login.
func checkPHC(s string) error {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return errors.New("password_hash is not a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)")
	}
	if parts[1] != "argon2id" {
		return fmt.Errorf("password_hash uses %q: only argon2id can be verified", parts[1])
	}
	if parts[2] != "v=19" {
		return fmt.Errorf("password_hash has argon2 version %q: only v=19 can be verified", parts[2])
	}
	var m, t, p uint64
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return errors.New("password_hash parameters must be m=…,t=…,p=…")
	}
	for i, dst := range []*uint64{&m, &t, &p} {
		name := [...]string{"m=", "t=", "p="}[i]
		v, ok := strings.CutPrefix(params[i], name)
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || n == 0 {
			return fmt.Errorf("password_hash parameter %q: want %s and a positive number", params[i], name)
		}
		*dst = n
	}
	if p > 255 || m < 8*p || m > maxImportMemory || t > maxImportIterations {
		return fmt.Errorf("password_hash parameters m=%d,t=%d,p=%d are out of range (p ≤ 255, 8·p ≤ m ≤ %d KiB, t ≤ %d)", m, t, p, maxImportMemory, maxImportIterations)
	}
	if _, err := base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return errors.New("password_hash salt is not unpadded base64")
	}
	if sum, err := base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(sum) == 0 {
		return errors.New("password_hash hash is not unpadded base64")
	}
	return nil
}

func checkRecord(r importRecord) error {
	if err := checkUsername(r.Username); err != nil {
		return err
	}
	if err := checkPHC(r.PasswordHash); err != nil {
		return err
	}
	for _, role := range r.Roles {
		if role == "" || strings.ContainsFunc(role, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
			return fmt.Errorf("role %q: roles are non-empty and hold no spaces or control characters", role)
		}
	}
	return nil
}

// importReader reads records from a CSV file (a header naming username, password_hash and
// roles, roles separated by spaces) or a JSON lines file.
type importReader struct {
	next func() (importRecord, error) // io.EOF at the end
}

func newImportReader(r io.Reader, format string) (*importReader, error) {
	switch format {
	case "csv":
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			return nil, usageErr("line 1: no CSV header: %v", err)
		}
		col := map[string]int{}
		for i, h := range header {
			col[strings.TrimSpace(strings.ToLower(h))] = i
		}
		for _, need := range []string{"username", "password_hash"} {
			if _, ok := col[need]; !ok {
				return nil, usageErr("line 1: the CSV header has no %q column (want username,password_hash,roles)", need)
			}
		}
		rolesCol, hasRoles := col["roles"]
		return &importReader{next: func() (importRecord, error) {
			rec, err := cr.Read()
			if err == io.EOF {
				return importRecord{}, io.EOF
			}
			line, _ := cr.FieldPos(0)
			if err != nil {
				return importRecord{line: line}, err
			}
			if len(rec) != len(header) {
				return importRecord{line: line}, fmt.Errorf("%d fields, the header has %d", len(rec), len(header))
			}
			r := importRecord{line: line, Username: rec[col["username"]], PasswordHash: rec[col["password_hash"]]}
			if hasRoles {
				r.Roles = strings.Fields(rec[rolesCol])
			}
			return r, nil
		}}, nil
	case "jsonl":
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		line := 0
		return &importReader{next: func() (importRecord, error) {
			for sc.Scan() {
				line++
				b := sc.Bytes()
				if len(strings.TrimSpace(string(b))) == 0 {
					continue
				}
				var r importRecord
				dec := json.NewDecoder(strings.NewReader(string(b)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&r); err != nil {
					return importRecord{line: line}, fmt.Errorf("not a JSON object of username, password_hash and roles: %v", err)
				}
				r.line = line
				return r, nil
			}
			if err := sc.Err(); err != nil {
				return importRecord{line: line + 1}, err
			}
			return importRecord{}, io.EOF
		}}, nil
	}
	return nil, usageErr("--format %q: want csv or jsonl", format)
}

// importCheckpoint records how far an import got: the last line of the last batch the
// store committed, in the file of that size.
type importCheckpoint struct {
	Version  int    `json:"version"`
	File     string `json:"file"`
	Size     int64  `json:"size"`
	Line     int    `json:"line"`
	Imported int    `json:"imported"`
	Skipped  int    `json:"skipped"`
}

// importReport counts what an import did.
type importReport struct {
	Users    int `json:"users"`
	Imported int `json:"imported"`
	// Skipped counts users already in the store with the same password hash and roles:
	// imported by an earlier, interrupted run.
	Skipped int `json:"skipped"`
}

// settleImport decides the fate of a user the store did not take: the same user imported
// by an earlier run is skipped; another user of that name is a conflict.
func settleImport(ctx context.Context, st store.Store, r importRecord) error {
	got, ok, err := st.GetUserByUsername(ctx, r.Username)
	if err != nil {
		return fmt.Errorf("line %d: read back %s: %w", r.line, r.Username, err)
	}
	if !ok || got.PasswordHash != r.PasswordHash || !slices.Equal(got.Roles, r.Roles) {
		return conflictErr("line %d: username %q is taken by another user", r.line, r.Username)
	}
	return nil
}

func importBatch(ctx context.Context, st store.Store, batch []importRecord) (imported, skipped int, err error) {
	now := time.Now()
	users := make([]store.User, len(batch))
	for i, r := range batch {
		users[i] = store.User{ID: credential.NewID(""), Username: r.Username, PasswordHash: r.PasswordHash, Roles: r.Roles, CreatedAt: now, UpdatedAt: now}
	}
	if bulk, ok := st.(bulkUserCreator); ok {
		created, err := bulk.CreateUsers(ctx, users)
		if err != nil {
			return 0, 0, err
		}
		done := make(map[string]struct{}, len(created))
		for _, id := range created {
			done[id] = struct{}{}
		}
		for i, u := range users {
			if _, ok := done[u.ID]; ok {
				continue
			}
			if err := settleImport(ctx, st, batch[i]); err != nil {
				return len(created), skipped, err
			}
			skipped++
		}
		return len(created), skipped, nil
	}
	for i, u := range users {
		err := st.CreateUser(ctx, u)
		if errors.Is(err, store.ErrConflict) {
			if err := settleImport(ctx, st, batch[i]); err != nil {
				return imported, skipped, err
			}
			skipped++
			continue
		}
		if err != nil {
			return imported, skipped, fmt.Errorf("line %d: %w", batch[i].line, err)
		}
		imported++
	}
	return imported, skipped, nil
}

// importUsers imports the users of path into st: a first pass checks every record (and
// counts them), so that a bad line stops the import before anything is written; the
// second writes them in batches, recording each committed batch in the checkpoint.
func (a *app) importUsers(ctx context.Context, st store.Store, path, format, cpPath string, batchSize int) (importReport, error) {
	var rep importReport
	open := func() (*os.File, *importReader, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, usageErr("%w", err)
		}
		r, err := newImportReader(bufio.NewReaderSize(f, 1<<20), format)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return f, r, nil
	}
	f, r, err := open()
	if err != nil {
		return rep, err
	}
	seen := map[string]int{}
	for {
		rec, err := r.next()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = checkRecord(rec)
		}
		if err == nil {
			if first, dup := seen[rec.Username]; dup {
				err = fmt.Errorf("username %q is already on line %d", rec.Username, first)
			}
		}
		if err != nil {
			f.Close()
			return rep, usageErr("%s: line %d: %v", path, rec.line, err)
		}
		seen[rec.Username] = rec.line
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return rep, err
	}
	rep.Users = len(seen)
	abs, _ := filepath.Abs(path)
	cp := importCheckpoint{Version: 1, File: abs, Size: fi.Size()}
	if cpPath != "" {
		b, err := os.ReadFile(cpPath)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return rep, fmt.Errorf("checkpoint: %w", err)
		default:
			var c importCheckpoint
			if err := json.Unmarshal(b, &c); err != nil || c.Version != 1 {
				return rep, usageErr("checkpoint %s is not an import checkpoint of this release (remove it to start over)", cpPath)
			}
			if c.File != cp.File || c.Size != cp.Size {
				return rep, usageErr("checkpoint %s belongs to another file (%s, %d bytes); remove it or name another", cpPath, c.File, c.Size)
			}
			cp = c
		}
	}
	rep.Imported, rep.Skipped = cp.Imported, cp.Skipped

	f, r, err = open()
	if err != nil {
		return rep, err
	}
	defer f.Close()
	bar := a.progress("users", int64(len(seen)-cp.Imported-cp.Skipped))
	defer bar.Done()
	batch := make([]importRecord, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// An interruption lets the batch in flight finish, so that the checkpoint can say
		// it is done.
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
		imported, skipped, err := importBatch(c, st, batch)
		cancel()
		rep.Imported += imported
		rep.Skipped += skipped
		if err != nil {
			return err
		}
		bar.Add(len(batch))
		cp.Line, cp.Imported, cp.Skipped = batch[len(batch)-1].line, rep.Imported, rep.Skipped
		batch = batch[:0]
		if cpPath == "" {
			return nil
		}
		b, _ := json.Marshal(cp)
		if err := os.WriteFile(cpPath+".tmp", b, 0o600); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		return os.Rename(cpPath+".tmp", cpPath)
	}
	for {
		rec, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, fmt.Errorf("%s: line %d: %w (the file changed since it was checked?)", path, rec.line, err)
		}
		if rec.line <= cp.Line {
			continue
		}
		batch = append(batch, rec)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return rep, err
			}
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if cpPath != "" {
		if err := os.Remove(cpPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("checkpoint: %w", err)
		}
	}
	return rep, nil
}

func newUsersImport(a *app) *cobra.Command {
	var format, cpPath string
	var batch int
	c := &cobra.Command{
		Use:   "import FILE [--format csv|jsonl] [--checkpoint FILE]",
		Short: "Import users with their password hashes from a CSV or JSON lines file",
		Long: `Import users from a CSV file (a header line naming username, password_hash and roles;
roles separated by spaces) or a JSON lines file (one {"username","password_hash","roles"}
object a line). Password hashes must be argon2id PHC strings
($argon2id$v=19$m=…,t=…,p=…$salt$hash), the only kind core verifies; weaker parameters
than the apps' are upgraded at each user's next login. Every line is checked before
anything is written, and a bad one is reported with its line number.

Progress is a bar on a terminal and a line every few seconds elsewhere. Interrupted
(Ctrl-C, SIGTERM), the batch being written is finished and the command stops with exit
code 130; run it again to resume. A username already in the store with the same hash and
roles counts as imported before (skipped); with another hash or roles it is a conflict.
With --checkpoint FILE the run goes on after the last committed batch.`,
		Args: exactArgs(1, "FILE"),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			if format == "" {
				switch strings.ToLower(filepath.Ext(args[0])) {
				case ".csv":
					format = "csv"
				case ".jsonl", ".ndjson":
					format = "jsonl"
				default:
					return usageErr("--format: cannot tell the format of %s from its name; pass --format csv or jsonl", args[0])
				}
			}
			if batch < 1 || batch > maxBatch {
				return usageErr("--batch %d: 1 to %d", batch, maxBatch)
			}
			ctx := cmd.Context()
			st, closeStore, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer closeStore()
			rep, err := a.importUsers(ctx, st, args[0], format, cpPath, batch)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					fmt.Fprintf(a.err, "interrupted after %d imported, %d skipped: run the same command again to resume\n", rep.Imported, rep.Skipped)
				}
				return err
			}
			return a.emit(rep, func(w io.Writer) {
				fmt.Fprintf(w, "imported: users=%d imported=%d skipped=%d\n", rep.Users, rep.Imported, rep.Skipped)
			})
		}),
	}
	c.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from the file's extension)")
	c.Flags().StringVar(&cpPath, "checkpoint", "", "resume from and record progress in this file (default: none; a rerun compares and skips what was imported)")
	c.Flags().IntVar(&batch, "batch", 500, "users per batch (a checkpoint is written after each)")
	return c
}
