package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// coreHash returns the hash core makes of password, through a Guard.
func coreHash(t *testing.T, password string) string {
	t.Helper()
	h, err := hashPassword(context.Background(), "someone", password)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCheckPHCAcceptsWhatCoreVerifies(t *testing.T) {
	good := coreHash(t, "password123")
	if err := checkPHC(good); err != nil {
		t.Fatalf("a hash core made is refused: %v", err)
	}
	tests := []struct{ name, hash string }{
		{"bcrypt", "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"another argon2 version", strings.Replace(good, "v=19", "v=16", 1)},
		{"a zero parameter", strings.Replace(good, "t=2", "t=0", 1)},
		{"a missing parameter", strings.Replace(good, ",p=1", "", 1)},
		{"padded base64", good + "="},
		{"absurd memory", strings.Replace(good, "m=19456", "m=99999999", 1)},
		{"no hash", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$"},
		{"not PHC", "plain text"},
	}
	for _, tc := range tests {
		if err := checkPHC(tc.hash); err == nil {
			t.Errorf("%s: %q accepted", tc.name, tc.hash)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportRefusesABadLineBeforeWritingAnything(t *testing.T) {
	good := coreHash(t, "password123")
	tests := []struct {
		name, file, content, want string
	}{
		{"an unverifiable hash", "u.csv", "username,password_hash,roles\nann,\"" + good + "\",user\nbob,$2b$12$xyz,user\n", "line 3"},
		{"a bad username", "u.jsonl", `{"username":"ann","password_hash":"` + good + `"}` + "\n" + `{"username":"b b","password_hash":"` + good + `"}` + "\n", "line 2"},
		{"a duplicate username", "u.jsonl", `{"username":"ann","password_hash":"` + good + `"}` + "\n\n" + `{"username":"ann","password_hash":"` + good + `"}` + "\n", "line 3"},
		{"an unknown field", "u.jsonl", `{"username":"ann","password":"x"}` + "\n", "line 1"},
		{"a missing column", "u.csv", "username,roles\nann,user\n", "password_hash"},
		{"a short CSV row", "u.csv", "username,password_hash,roles\nann\n", "line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := memstore.New()
			defer ms.Close()
			a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
			a.errTerminal = func() bool { return false }
			_, err := a.importUsers(context.Background(), ms, writeFile(t, tc.file, tc.content), strings.TrimPrefix(filepath.Ext(tc.file), "."), "", 10)
			if exitCode(err, true) != exitUsage || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a usage error naming %q", err, tc.want)
			}
			if st, _ := ms.Stats(context.Background()); st.Users != 0 {
				t.Fatalf("%d users written before the bad line was found", st.Users)
			}
		})
	}
}

// TestImportResumesAndTheUsersLogIn imports a JSON lines file, interrupted halfway and
// resumed from its checkpoint, and logs the users in with a Guard.
func TestImportResumesAndTheUsersLogIn(t *testing.T) {
	hash := coreHash(t, "password123")
	var b strings.Builder
	const n = 250
	for i := range n {
		fmt.Fprintf(&b, `{"username":"user%03d","password_hash":%q,"roles":["member"]}`+"\n", i, hash)
	}
	path := writeFile(t, "users.jsonl", b.String())
	cp := filepath.Join(t.TempDir(), "import.checkpoint")
	ms := memstore.New()
	defer ms.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var errb bytes.Buffer
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &errb)
	a.errTerminal = func() bool { return false }
	var done atomic.Int64
	// Interrupt once 100 are written: the batch in flight finishes, then the import stops.
	orig := ms
	stop := &countingStore{Store: orig, after: 100, done: &done, cancel: cancel}
	rep, err := a.importUsers(ctx, stop, path, "jsonl", cp, 30)
	if err != context.Canceled || rep.Imported != 120 {
		t.Fatalf("interrupted import: %+v, %v; want 120 imported (4 batches of 30)", rep, err)
	}
	rep, err = a.importUsers(context.Background(), ms, path, "jsonl", cp, 30)
	if err != nil || rep.Imported != n || rep.Skipped != 0 || rep.Users != n {
		t.Fatalf("resumed import: %+v, %v; want %d imported, none skipped", rep, err, n)
	}
	if _, err := os.Stat(cp); !os.IsNotExist(err) {
		t.Fatal("the checkpoint is left after a complete import")
	}
	// Without a checkpoint a rerun skips every user after comparing.
	rep, err = a.importUsers(context.Background(), ms, path, "jsonl", "", 30)
	if err != nil || rep.Skipped != n || rep.Imported != 0 {
		t.Fatalf("a rerun: %+v, %v; want every user skipped", rep, err)
	}
	g, err := authframe.New(authframe.WithStore(ms), authframe.WithHMACSecret(bytes.Repeat([]byte("k"), 32)), authframe.WithIssuer("i"), authframe.WithAudience("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	u, err := g.VerifyPassword(context.Background(), someone, "user249", "password123")
	if err != nil || len(u.Roles) != 1 || u.Roles[0] != "member" {
		t.Fatalf("an imported user logs in: %+v, %v", u, err)
	}
	// A username taken with another hash is a conflict, named by its line.
	other := writeFile(t, "other.csv", "username,password_hash,roles\nuser007,\""+coreHash(t, "another password")+"\",member\n")
	if _, err := a.importUsers(context.Background(), ms, other, "csv", "", 30); exitCode(err, true) != exitConflict || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a taken username: %v", err)
	}
	if !strings.Contains(errb.String(), "users: ") {
		t.Fatalf("no progress line on stderr: %q", errb.String())
	}
}

// countingStore cancels ctx once after users are created.
type countingStore struct {
	*memstore.Store
	after  int64
	done   *atomic.Int64
	cancel context.CancelFunc
}

func (c *countingStore) CreateUser(ctx context.Context, u store.User) error {
	if err := c.Store.CreateUser(ctx, u); err != nil {
		return err
	}
	if c.done.Add(1) == c.after {
		c.cancel()
	}
	return nil
}

func TestProgressLinesWhenNotATerminal(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 0
	var errb bytes.Buffer
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &errb)
	a.errTerminal = func() bool { return false }
	p := a.progress("users", 200)
	p.Add(50)
	p.Add(150)
	p.Done()
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "users: 50/200 (25.0%)") || !strings.Contains(lines[0], "eta") || !strings.HasPrefix(lines[2], "users: 200/200 (100.0%)") {
		t.Fatalf("progress lines:\n%s", errb.String())
	}
}
