package authtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/memstore"
)

// run runs test as go test runs a test function, for the examples, which have no
// *testing.T: a failure is printed (and ends test), Cleanup functions run when it returns.
func run(test func(t testing.TB)) {
	t := &exampleT{}
	defer t.finish()
	test(t)
}

// exampleT is the testing.TB of run. The embedded interface only supplies testing.TB's
// unexported method; the kit calls no method that is not defined below.
type exampleT struct {
	testing.TB
	cleanups []func()
}

type exampleFailure string

func (t *exampleT) Helper()                   {}
func (t *exampleT) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Context() context.Context  { return context.Background() }
func (t *exampleT) Fatal(args ...any)         { panic(exampleFailure(fmt.Sprint(args...))) }
func (t *exampleT) Fatalf(f string, a ...any) { panic(exampleFailure(fmt.Sprintf(f, a...))) }

func (t *exampleT) finish() {
	if r := recover(); r != nil {
		f, ok := r.(exampleFailure)
		if !ok {
			panic(r)
		}
		fmt.Println("FAIL:", f)
	}
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// status is the HTTP status an adapter answers err with (200 for none).
func status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return endpoint.RenderError(err, "").Status
}

// A test of who may delete users: the app's own role map, and a token for each case.
func ExampleNew() {
	run(func(t testing.TB) {
		iss := authtest.New(t, authframe.WithRolePermissions("admin", "*:*"))
		guard := iss.Guard() // what the app under test is given
		for _, tok := range []string{
			iss.Token(authtest.Roles("admin")),
			iss.Token(authtest.Roles("user")),
			iss.Token(authtest.Roles("admin"), authtest.Expired()),
		} {
			p, err := guard.VerifyToken(context.Background(), tok)
			if err == nil {
				err = authframe.Authorize(p, "delete:users")
			}
			fmt.Println(status(err))
		}
	})
	// Output:
	// 200
	// 403
	// 401
}

func ExampleIssuer_Guard() {
	run(func(t testing.TB) {
		// A real Guard: it registers, logs in and issues as in production, only faster.
		g := authtest.New(t).Guard()
		ctx := context.Background()
		if _, err := g.Register(ctx, authframe.ClientInfo{}, "ada", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		u, err := g.VerifyPassword(ctx, authframe.ClientInfo{}, "ada", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		pair, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := g.VerifyToken(ctx, pair.AccessToken)
		fmt.Println(p.Username, p.Issuer, err)
	})
	// Output:
	// ada https://authtest.invalid <nil>
}

func ExampleIssuer_Token() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		tok := iss.Token(authtest.Subject("u-42"), authtest.Username("ada"), authtest.Roles("editor"))
		p, err := iss.Guard().VerifyToken(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(p.UserID, p.Username, p.Roles, p.Method, p.Local, p.SessionID != "")
	})
	// Output:
	// u-42 ada [editor] bearer true true
}

func ExampleIssuer_Header() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Header.Set("Authorization", iss.Header(authtest.Subject("u-7")))

		bearer, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		p, err := iss.Guard().VerifyToken(context.Background(), bearer)
		fmt.Println(ok, p.UserID, err)
	})
	// Output:
	// true u-7 <nil>
}

func ExampleIssuer_Store() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		tok := iss.Token()
		iss.Store().Fail(nil) // the store is down
		_, err := iss.Guard().VerifyToken(context.Background(), tok)
		fmt.Println(status(err), err)
		iss.Store().Heal()
		_, err = iss.Guard().VerifyToken(context.Background(), tok)
		fmt.Println(status(err))
	})
	// Output:
	// 503 unavailable: service temporarily unavailable
	// 200
}

func ExampleSubject() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Subject("u-1")))
		q, _ := iss.Guard().VerifyToken(context.Background(), iss.Token())
		fmt.Println(p.UserID, q.UserID)
	})
	// Output:
	// u-1 user
}

func ExampleUsername() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Subject("u-1"), authtest.Username("ada")))
		q, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Subject("u-2")))
		fmt.Println(p.Username, q.Username)
	})
	// Output:
	// ada u-2
}

func ExampleRoles() {
	run(func(t testing.TB) {
		iss := authtest.New(t, authframe.WithRolePermissions("auditor", "read:reports", "read:users"))
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Roles("auditor", "staff")))
		fmt.Println(p.Roles, p.Permissions, p.HasRole("staff"))
	})
	// Output:
	// [auditor staff] [read:reports read:users] true
}

func ExamplePermissions() {
	run(func(t testing.TB) {
		iss := authtest.New(t, authtest.Grant("read:reports"), authtest.Grant("write:reports"))
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Permissions("read:reports")))
		fmt.Println(p.Permissions, p.Roles)
		fmt.Println(authframe.Authorize(p, "read:reports"), authframe.Authorize(p, "write:reports"))
	})
	// Output:
	// [read:reports] [authtest:read:reports]
	// <nil> forbidden: insufficient permissions
}

func ExampleGrant() {
	run(func(t testing.TB) {
		iss := authtest.New(t, authtest.Grant("delete:users"))
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Permissions("delete:users")))
		q, _ := iss.Guard().VerifyToken(context.Background(), iss.Token())
		fmt.Println(p.Can("delete:users"), q.Can("delete:users"))
	})
	// Output:
	// true false
}

func ExampleClaims() {
	type Tenant struct {
		TenantID string `json:"tenant_id"`
	}
	run(func(t testing.TB) {
		// The app's WithClaims, as in production; the test picks the claims of each token.
		iss := authtest.New(t, authframe.WithClaims(func(ctx context.Context, u authframe.User) (Tenant, error) {
			return Tenant{TenantID: "from-the-directory"}, nil
		}))
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Claims(Tenant{TenantID: "acme"})))
		tenant, ok := authframe.Claims[Tenant](p)
		fmt.Println(tenant.TenantID, ok)

		// A token for another service's audience, which the Guard must refuse.
		_, err := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Claims(map[string]any{"aud": "billing"})))
		fmt.Println(err)
	})
	// Output:
	// acme true
	// invalid_token: token audience is not accepted
}

func ExampleExpiresIn() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.ExpiresIn(time.Minute)))
		fmt.Println(p.ExpiresAt.Sub(p.IssuedAt))
	})
	// Output:
	// 1m0s
}

func ExampleExpired() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		_, err := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Expired()))
		fmt.Println(status(err), errors.Is(err, authframe.ErrInvalidToken))
	})
	// Output:
	// 401 true
}

func ExampleSession() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		g, ctx := iss.Guard(), context.Background()
		phone := iss.Token(authtest.Session("s-1"))
		laptop := iss.Token(authtest.Session("s-1"))
		p, _ := g.VerifyToken(ctx, phone)
		fmt.Println(p.SessionID)

		// Logging out ends the session, and every token in it.
		if err := g.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		_, err := g.VerifyToken(ctx, laptop)
		fmt.Println(status(err))
	})
	// Output:
	// s-1
	// 401
}

func ExampleNoSession() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.NoSession()))
		fmt.Printf("%q %d\n", p.SessionID, iss.Store().Calls(authtest.OpGetSession))
	})
	// Output:
	// "" 0
}

func ExampleWithClock() {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	run(func(t testing.TB) {
		iss := authtest.New(t, authtest.WithClock(func() time.Time { return now }))
		tok := iss.Token(authtest.ExpiresIn(time.Hour))
		p, _ := iss.Guard().VerifyToken(context.Background(), tok)
		fmt.Println(p.IssuedAt.UTC())

		now = now.Add(2 * time.Hour)
		_, err := iss.Guard().VerifyToken(context.Background(), tok)
		fmt.Println(status(err))
	})
	// Output:
	// 2030-01-02 03:04:05 +0000 UTC
	// 401
}

func ExampleWithStore() {
	run(func(t testing.TB) {
		// Any store.Store: a Redis or PostgreSQL one for an integration test.
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		iss := authtest.New(t, authtest.WithStore(s))
		p, _ := iss.Guard().VerifyToken(context.Background(), iss.Token(authtest.Subject("u-9")))
		sess, ok, _ := s.GetSession(context.Background(), p.SessionID)
		fmt.Println(ok, sess.UserID, iss.Store().Unwrap() == s)
	})
	// Output:
	// true u-9 true
}

// A handler tested without any token: the request carries the Principal the middleware
// would have put there.
func ExampleWithPrincipal() {
	me := func(w http.ResponseWriter, r *http.Request) {
		p, ok := authframe.PrincipalFromContext(r.Context()) // or authhttp.PrincipalFrom(r)
		if !ok {
			http.Error(w, "anonymous", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s, admin: %v", p.Username, p.HasRole("admin"))
	}
	req := httptest.NewRequest("GET", "/api/me", nil)
	req = authtest.WithPrincipal(req, &authframe.Principal{UserID: "u-1", Username: "ada", Roles: []string{"admin"}})
	rec := httptest.NewRecorder()
	me(rec, req)
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// 200 hello ada, admin: true
}

// A Guard of the app's own configuration over a store that fails on demand.
func ExampleNewFailingStore() {
	ms := memstore.New()
	defer ms.Close()
	fs := authtest.NewFailingStore(ms)
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
		authframe.WithStore(fs),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	fs.Fail(nil, authtest.OpGetUserByUsername)
	_, err = guard.VerifyPassword(context.Background(), authframe.ClientInfo{}, "ada", "correct horse battery")
	fmt.Println(status(err))
	// Output:
	// 503
}

func ExampleFailingStore_Fail() {
	run(func(t testing.TB) {
		iss := authtest.New(t, authframe.WithFailOpen(true))
		tok := iss.Token()
		iss.Store().Fail(errors.New("dial tcp 10.0.0.5:6379: connection refused"))
		// Fail open: a correctly signed, unexpired token passes while the store is down.
		p, err := iss.Guard().VerifyToken(context.Background(), tok)
		fmt.Println(p.UserID, err)

		_, err = iss.Guard().ListSessions(context.Background(), p)
		fmt.Println(status(err))
	})
	// Output:
	// user <nil>
	// 503
}

func ExampleFailingStore_Timeout() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		iss.Store().Timeout(50*time.Millisecond, authtest.OpPing)
		rep := iss.Guard().Health(context.Background())
		fmt.Println(rep.OK, rep.Dependencies[0].Name, rep.Dependencies[0].Error)
	})
	// Output:
	// false store authtest: Ping timed out after 50ms: context deadline exceeded
}

func ExampleFailingStore_Partition() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		tok := iss.Token()
		iss.Store().Partition()
		// The request's deadline bounds the wait, as a server's timeout would.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := iss.Guard().VerifyToken(ctx, tok)
		fmt.Println(status(err))
	})
	// Output:
	// 503
}

func ExampleFailingStore_Heal() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		tok := iss.Token()
		iss.Store().Partition(authtest.OpGetSession)
		answered := make(chan error)
		go func() {
			_, err := iss.Guard().VerifyToken(context.Background(), tok)
			answered <- err
		}()
		time.Sleep(10 * time.Millisecond) // the verification is waiting on the store
		iss.Store().Heal()
		fmt.Println(<-answered)
	})
	// Output:
	// <nil>
}

func ExampleFailingStore_Calls() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		tok := iss.Token()
		for range 3 {
			if _, err := iss.Guard().VerifyToken(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		}
		// The first verification confirmed the session; the others were cache hits.
		fmt.Println(iss.Store().Calls(authtest.OpGetSession))
	})
	// Output:
	// 1
}

func ExampleFailingStore_Unwrap() {
	run(func(t testing.TB) {
		iss := authtest.New(t)
		fmt.Printf("%T\n", iss.Store().Unwrap())
	})
	// Output:
	// *memstore.Store
}
