package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/store"
)

// backend is one real store a test runs against, under its own prefix.
type backend struct {
	name, url, prefix string
}

// backends returns Redis and PostgreSQL, each with a prefix of the test's own, cleaned up
// at the end; it skips (or fails under AUTHFRAME_REQUIRE_INTEGRATION=1) without them.
func backends(t *testing.T) []backend {
	t.Helper()
	ru, pu := os.Getenv("AUTHFRAME_TEST_REDIS_URL"), os.Getenv("AUTHFRAME_TEST_DATABASE_URL")
	if ru == "" || pu == "" {
		if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("AUTHFRAME_TEST_REDIS_URL and AUTHFRAME_TEST_DATABASE_URL must be set")
		}
		t.Skip("set AUTHFRAME_TEST_REDIS_URL and AUTHFRAME_TEST_DATABASE_URL to run the command against Redis and PostgreSQL")
	}
	tag := fmt.Sprintf("cli%d", time.Now().UnixNano()%1e12)
	b := []backend{{"redis", ru, "afcli:" + tag + ":"}, {"postgres", pu, "afcli_" + tag + "_"}}
	t.Cleanup(func() { cleanRedis(t, ru, b[0].prefix) })
	t.Cleanup(func() { dropPrefix(t, pu, b[1].prefix) })
	return b
}

// result is what one command run gave.
type result struct {
	out, err string
	code     int
}

// fakeTerm is a fake terminal for a test: answers are the lines typed, secrets the passwords.
type fakeTerm struct {
	answers string
	secrets []string
}

// cli runs the command with args against b's store; stdin is not a terminal unless tty is
// given.
func cli(t *testing.T, b backend, stdin string, tty *fakeTerm, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	in := strings.NewReader(stdin)
	a := newApp(in, &out, &errb)
	a.interactive = func() bool { return false }
	a.errTerminal = func() bool { return false }
	if tty != nil {
		in.Reset(tty.answers)
		a.interactive = func() bool { return true }
		a.readSecret = func() (string, error) {
			if len(tty.secrets) == 0 {
				return "", fmt.Errorf("no more secrets typed")
			}
			s := tty.secrets[0]
			tty.secrets = tty.secrets[1:]
			return s, nil
		}
	}
	if b.url != "" {
		args = append([]string{"--store", b.url, "--prefix", b.prefix}, args...)
	}
	err := execute(context.Background(), a, args)
	r := result{out: out.String(), err: errb.String(), code: exitCode(err, a.ran)}
	if err != nil {
		r.err += err.Error()
	}
	return r
}

func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.out, r.err)
	}
	return r
}

func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, r.out)
	}
}

// appGuard is one app instance over b's store, as the examples build it.
func appGuard(t *testing.T, b backend) (*authframe.Guard, store.Store) {
	t.Helper()
	st, closeStore, err := openStore(context.Background(), b.url, b.prefix)
	if err != nil {
		t.Fatal(err)
	}
	g, err := authframe.New(authframe.WithStore(st), authframe.WithHMACSecret([]byte("an HMAC secret the test apps share, 32+ bytes")),
		authframe.WithIssuer("https://app.example"), authframe.WithAudience("app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(); closeStore() })
	return g, st
}

var someone = authframe.ClientInfo{IP: "192.0.2.1", UserAgent: "test"}

func TestUsersCreateShowListAndLogIn(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			var created userView
			cli(t, b, "correct horse battery\n", nil, "users", "create", "alice", "--role", "admin,ops", "-o", "json").must(t, exitOK).decode(t, &created)
			if created.Username != "alice" || created.ID == "" || strings.Join(created.Roles, ",") != "admin,ops" || created.Disabled {
				t.Fatalf("created %+v", created)
			}
			// The password works through a Guard of the app: the hash is core's.
			g, st := appGuard(t, b)
			if _, err := g.VerifyPassword(context.Background(), someone, "alice", "correct horse battery"); err != nil {
				t.Fatalf("the app refuses the password the command set: %v", err)
			}
			u, _, _ := st.GetUser(context.Background(), created.ID)
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
				t.Fatalf("hash %q is not core's argon2id", u.PasswordHash)
			}
			var shown userView
			cli(t, b, "", nil, "users", "show", created.ID, "--output", "json").must(t, exitOK).decode(t, &shown)
			if shown.Username != "alice" {
				t.Fatalf("show by id: %+v", shown)
			}
			if strings.Contains(cli(t, b, "", nil, "users", "show", "alice").must(t, exitOK).out, "argon2") {
				t.Fatal("show prints the password hash")
			}
			var list struct{ Users []userView }
			cli(t, b, "", nil, "users", "list", "-o", "json").must(t, exitOK).decode(t, &list)
			if len(list.Users) != 1 || list.Users[0].ID != created.ID {
				t.Fatalf("list: %+v", list)
			}
			// Core's rules apply, and the answers have their exit codes.
			cli(t, b, "correct horse battery\n", nil, "users", "create", "alice").must(t, exitConflict)
			cli(t, b, "short\n", nil, "users", "create", "bob").must(t, exitUsage)
			cli(t, b, "correct horse battery\n", nil, "users", "create", "b b").must(t, exitUsage)
			cli(t, b, "", nil, "users", "create", "bob").must(t, exitUsage)
			cli(t, b, "", nil, "users", "show", "nobody").must(t, exitNotFound)
			// On a terminal the password is typed twice, echo off.
			cli(t, b, "", &fakeTerm{secrets: []string{"password one", "password two"}}, "users", "create", "carol").must(t, exitUsage)
			cli(t, b, "", &fakeTerm{secrets: []string{"password one", "password one"}}, "users", "create", "carol").must(t, exitOK)
			if _, err := g.VerifyPassword(context.Background(), someone, "carol", "password one"); err != nil {
				t.Fatalf("the password typed on the terminal: %v", err)
			}
			// set-roles goes through the Guard.
			var roles userView
			cli(t, b, "", nil, "users", "set-roles", "carol", "auditor", "-o", "json").must(t, exitOK).decode(t, &roles)
			if strings.Join(roles.Roles, ",") != "auditor" {
				t.Fatalf("set-roles: %+v", roles)
			}
			cli(t, b, "", nil, "users", "set-roles", "carol").must(t, exitUsage)
			cli(t, b, "", nil, "users", "set-roles", "carol", "--none").must(t, exitOK)
		})
	}
}

// An id from an earlier release may begin with "-": it is read as a flag unless it follows
// "--", and the usage error says so.
func TestAnIDBeginningWithADashFollowsTheTerminator(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			_, st := appGuard(t, b)
			now := time.Now().UTC().Truncate(time.Millisecond)
			if err := st.CreateUser(context.Background(), store.User{ID: "-x1y2z3", Username: "dashed", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			r := cli(t, b, "", nil, "users", "show", "-x1y2z3").must(t, exitUsage)
			if !strings.Contains(r.err, `goes after "--"`) {
				t.Fatalf("the usage error does not say what to do: %s", r.err)
			}
			var shown userView
			cli(t, b, "", nil, "users", "show", "-o", "json", "--", "-x1y2z3").must(t, exitOK).decode(t, &shown)
			if shown.Username != "dashed" {
				t.Fatalf("shown %+v", shown)
			}
		})
	}
}

// TestDisablingAUserReachesEveryInstanceWithinASecond: two app instances on one store, a
// token issued by one, users disable run through the command, and the other instance
// refuses the token within one second; the user can no longer log in or refresh.
func TestDisablingAUserReachesEveryInstanceWithinASecond(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			one, _ := appGuard(t, b)
			two, _ := appGuard(t, b)
			if _, err := one.Register(ctx, authframe.ClientInfo{}, "mallory", "password123"); err != nil {
				t.Fatal(err)
			}
			u, err := one.VerifyPassword(ctx, someone, "mallory", "password123")
			if err != nil {
				t.Fatal(err)
			}
			pair, err := one.IssueTokens(ctx, u, someone)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := two.VerifyToken(ctx, pair.AccessToken); err != nil {
				t.Fatalf("the other instance refuses a fresh token: %v", err)
			}
			// Not confirmed: nothing happens.
			cli(t, b, "", nil, "users", "disable", "mallory").must(t, exitRefused)
			cli(t, b, "", &fakeTerm{answers: "n\n"}, "users", "disable", "mallory").must(t, exitRefused)
			if _, err := two.VerifyToken(ctx, pair.AccessToken); err != nil {
				t.Fatalf("a refused disable revoked the token: %v", err)
			}

			start := time.Now()
			cli(t, b, "", &fakeTerm{answers: "y\n"}, "users", "disable", "mallory").must(t, exitOK)
			for {
				if _, err := two.VerifyToken(ctx, pair.AccessToken); err != nil {
					break
				}
				if time.Since(start) > time.Second {
					t.Fatal("the other instance still accepts the token of a disabled user after one second")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, err := two.VerifyPassword(ctx, someone, "mallory", "password123"); err == nil {
				t.Fatal("a disabled user logs in")
			}
			if _, err := two.Refresh(ctx, pair.RefreshToken, someone); err == nil {
				t.Fatal("a disabled user refreshes")
			}
			var shown userView
			cli(t, b, "", nil, "users", "show", "mallory", "-o", "json").must(t, exitOK).decode(t, &shown)
			if !shown.Disabled {
				t.Fatal("show does not say disabled")
			}
			cli(t, b, "", nil, "users", "enable", "mallory").must(t, exitOK)
			if _, err := two.VerifyPassword(ctx, someone, "mallory", "password123"); err != nil {
				t.Fatalf("an enabled user cannot log in: %v", err)
			}
		})
	}
}

func TestSessionsListAndRevoke(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			one, _ := appGuard(t, b)
			two, _ := appGuard(t, b)
			if _, err := one.Register(ctx, authframe.ClientInfo{}, "dave", "password123"); err != nil {
				t.Fatal(err)
			}
			u, _ := one.VerifyPassword(ctx, someone, "dave", "password123")
			var pairs []*authframe.TokenPair
			for range 3 {
				p, err := one.IssueTokens(ctx, u, someone)
				if err != nil {
					t.Fatal(err)
				}
				pairs = append(pairs, p)
			}
			var list struct{ Sessions []sessionView }
			cli(t, b, "", nil, "sessions", "list", "dave", "-o", "json").must(t, exitOK).decode(t, &list)
			if len(list.Sessions) != 3 {
				t.Fatalf("%d sessions listed, want 3", len(list.Sessions))
			}
			// One session.
			cli(t, b, "", nil, "sessions", "revoke", pairs[0].SessionID).must(t, exitRefused)
			cli(t, b, "", nil, "sessions", "revoke", "--yes", pairs[0].SessionID).must(t, exitOK)
			cli(t, b, "", nil, "sessions", "revoke", "--yes", pairs[0].SessionID).must(t, exitNotFound)
			waitRefused(t, two, pairs[0].AccessToken)
			if _, err := two.VerifyToken(ctx, pairs[1].AccessToken); err != nil {
				t.Fatalf("revoking one session revoked another: %v", err)
			}
			// All of them.
			cli(t, b, "", nil, "sessions", "revoke", "--all").must(t, exitUsage)
			r := cli(t, b, "", nil, "sessions", "revoke", "--all", "--yes", "dave").must(t, exitOK)
			if !strings.Contains(r.out, "2 session(s) ended") {
				t.Fatalf("revoke --all said %q", r.out)
			}
			waitRefused(t, two, pairs[1].AccessToken)
			waitRefused(t, two, pairs[2].AccessToken)
			if _, err := two.Refresh(ctx, pairs[2].RefreshToken, someone); err == nil {
				t.Fatal("a refresh token of a revoked session works")
			}
			cli(t, b, "", nil, "sessions", "list", "dave", "-o", "json").must(t, exitOK).decode(t, &list)
			if len(list.Sessions) != 0 {
				t.Fatalf("%d sessions left", len(list.Sessions))
			}
			// The user logs in again afterwards: a revocation covers only what came before,
			// to the second (a token's iat has whole seconds).
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
			p, err := one.IssueTokens(ctx, u, someone)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := two.VerifyToken(ctx, p.AccessToken); err != nil {
				t.Fatalf("a token issued after the revocation is refused: %v", err)
			}
		})
	}
}

// waitRefused polls until g refuses token, for at most one second.
func waitRefused(t *testing.T, g *authframe.Guard, token string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := g.VerifyToken(context.Background(), token); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the token still works on another instance after one second")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClientsCreateListAndRevoke(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			var c clientView
			cli(t, b, "", nil, "clients", "create", "--name", "billing", "--scope", "read:reports,write:invoices", "-o", "json").must(t, exitOK).decode(t, &c)
			if !strings.HasPrefix(c.ID, "cl_") || len(c.Secret) < 43 || c.Name != "billing" || len(c.Scopes) != 2 {
				t.Fatalf("created %+v", c)
			}
			_, st := appGuard(t, b)
			stored, ok, err := st.(store.ClientStore).GetClient(ctx, c.ID)
			if err != nil || !ok {
				t.Fatalf("GetClient = %v, %v", ok, err)
			}
			if !credential.Equal(c.Secret, stored.SecretHash) || bytes.Contains(stored.SecretHash, []byte(c.Secret)) {
				t.Fatal("the store does not hold the secret's credential.Hash")
			}
			r := cli(t, b, "", nil, "clients", "list", "-o", "json").must(t, exitOK)
			if strings.Contains(r.out, c.Secret) || !strings.Contains(r.out, c.ID) {
				t.Fatalf("list: %s", r.out)
			}
			cli(t, b, "", nil, "clients", "create", "--name", "x").must(t, exitUsage)
			cli(t, b, "", nil, "clients", "create", "--name", "x", "--scope", "nocolon").must(t, exitUsage)
			cli(t, b, "", nil, "clients", "create", "--name", strings.Repeat("n", 65), "--scope", "a:b").must(t, exitUsage)

			since := time.Now().Add(-time.Second)
			cli(t, b, "", nil, "clients", "revoke", c.ID).must(t, exitRefused)
			cli(t, b, "", nil, "clients", "revoke", "--yes", c.ID).must(t, exitOK)
			cli(t, b, "", nil, "clients", "revoke", "--yes", c.ID).must(t, exitNotFound)
			if _, ok, _ := st.(store.ClientStore).GetClient(ctx, c.ID); ok {
				t.Fatal("the client is still there")
			}
			requireRevocation(t, st, since, store.RevokeClient, c.ID)
		})
	}
}

func requireRevocation(t *testing.T, st store.Store, since time.Time, kind store.RevocationKind, key string) {
	t.Helper()
	revs, err := st.RevocationsSince(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range revs {
		if r.Kind == kind && r.Key == key {
			return
		}
	}
	t.Fatalf("no %s revocation of %s in the store", kind, key)
}

func TestAPIKeysCreateListAndRevoke(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			cli(t, b, "password123\n", nil, "users", "create", "erin").must(t, exitOK)
			var k apiKeyView
			cli(t, b, "", nil, "apikeys", "create", "erin", "--name", "ci", "--permission", "read:reports", "--expires-in", "720h", "-o", "json").must(t, exitOK).decode(t, &k)
			if !credential.LooksLikeAPIKey(k.Key) || !strings.HasPrefix(k.ID, "key_") || k.ExpiresAt == nil {
				t.Fatalf("created %+v", k)
			}
			_, st := appGuard(t, b)
			ks := st.(store.APIKeyStore)
			found, ok, err := ks.GetAPIKeyByHash(ctx, credential.Hash(k.Key))
			if err != nil || !ok || found.ID != k.ID || found.UserID != k.UserID {
				t.Fatalf("the key is not found by its credential.Hash: %+v, %v, %v", found, ok, err)
			}
			var list struct{ Keys []apiKeyView }
			r := cli(t, b, "", nil, "apikeys", "list", "erin", "-o", "json").must(t, exitOK)
			r.decode(t, &list)
			if len(list.Keys) != 1 || list.Keys[0].Key != "" || strings.Contains(r.out, k.Key) {
				t.Fatalf("list: %s", r.out)
			}
			cli(t, b, "", nil, "apikeys", "create", "erin", "--name", "ci", "--permission", "read").must(t, exitUsage)
			cli(t, b, "", nil, "apikeys", "create", "nobody", "--name", "ci", "--permission", "a:b").must(t, exitNotFound)

			since := time.Now().Add(-time.Second)
			cli(t, b, "", nil, "apikeys", "revoke", "erin", k.ID).must(t, exitRefused)
			cli(t, b, "", &fakeTerm{answers: "no\n"}, "apikeys", "revoke", "erin", k.ID).must(t, exitRefused)
			if _, ok, _ := ks.GetAPIKeyByHash(ctx, credential.Hash(k.Key)); !ok {
				t.Fatal("a refused revoke deleted the key")
			}
			cli(t, b, "", &fakeTerm{answers: "yes\n"}, "apikeys", "revoke", "erin", k.ID).must(t, exitOK)
			if _, ok, _ := ks.GetAPIKeyByHash(ctx, credential.Hash(k.Key)); ok {
				t.Fatal("the key still works")
			}
			requireRevocation(t, st, since, store.RevokeAPIKey, k.ID)
			cli(t, b, "", nil, "apikeys", "revoke", "--yes", "erin", k.ID).must(t, exitNotFound)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	none := backend{}
	t.Setenv(envStoreURL, "")
	cli(t, none, "", nil, "bogus").must(t, exitUsage)
	cli(t, none, "", nil, "users", "bogus").must(t, exitUsage)
	cli(t, none, "", nil, "users", "list", "--bogus").must(t, exitUsage)
	cli(t, none, "", nil, "users", "list").must(t, exitUsage)
	cli(t, none, "", nil, "users", "list", "--store", "mysql://x").must(t, exitUsage)
	cli(t, none, "", nil, "users", "list", "-o", "yaml").must(t, exitUsage)
	cli(t, none, "", nil, "users", "show").must(t, exitUsage)
	cli(t, none, "", nil, "keygen", "--alg", "HS256").must(t, exitUsage)
	if r := cli(t, none, "", nil, "users", "list", "--store", "postgres://u:hunter2@127.0.0.1:1/x"); r.code != exitFailure || strings.Contains(r.err, "hunter2") {
		t.Fatalf("an unreachable store: code %d, %s", r.code, r.err)
	}
	t.Setenv("AUTHFRAME_ACCESS_TTL", "soon")
	if r := cli(t, none, "", nil, "users", "disable", "x"); r.code != exitUsage || !strings.Contains(r.err, "AUTHFRAME_ACCESS_TTL") {
		t.Fatalf("a bad lifetime: code %d, %s", r.code, r.err)
	}
}

func TestShellCompletion(t *testing.T) {
	r := cli(t, backend{}, "", nil, "completion", "bash").must(t, exitOK)
	if !strings.Contains(r.out, "authframe") {
		t.Fatal("no bash completion")
	}
}
