package authtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/storetest"
)

// TestAHealthyFailingStoreIsTheStoreItWraps: until broken, the wrapper passes the store
// conformance suite as the store it wraps does (the suite skips the abilities it hides).
func TestAHealthyFailingStoreIsTheStoreItWraps(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		ms := memstore.New()
		t.Cleanup(func() { ms.Close() })
		return authtest.NewFailingStore(ms)
	})
}

func TestAStoreOutageFailsClosedByDefaultAndOpenWhenAsked(t *testing.T) {
	for _, open := range []bool{false, true} {
		iss := authtest.New(t, authframe.WithFailOpen(open))
		tok := iss.Token()
		iss.Store().Fail(nil)
		p, err := iss.Guard().VerifyToken(context.Background(), tok)
		switch {
		case open && (err != nil || p.UserID != authtest.DefaultSubject):
			t.Fatalf("fail open: %v %v", p, err)
		case !open && (!errors.Is(err, authframe.ErrUnavailable) || endpoint.RenderError(err, "").Status != http.StatusServiceUnavailable):
			t.Fatalf("fail closed: %v, want a 503 unavailable", err)
		}
		iss.Store().Heal()
		verify(t, iss, tok)
	}
}

func TestBrokenOperationsAreTheOnesNamed(t *testing.T) {
	iss := authtest.New(t)
	fs := iss.Store()
	ctx := context.Background()
	tok := iss.Token()
	verify(t, iss, tok)
	if n := fs.Calls(authtest.OpGetSession); n != 1 {
		t.Fatalf("the first verification made %d session lookups, want 1", n)
	}

	cause := errors.New("connection reset by peer")
	fs.Fail(cause, authtest.OpGetSession)
	// The cached token needs no store; a fresh one does, and gets the 503.
	verify(t, iss, tok)
	if _, err := iss.Guard().VerifyToken(ctx, iss.Token()); !errors.Is(err, authframe.ErrUnavailable) {
		t.Fatalf("a fresh token with session lookups failing: %v", err)
	}
	if _, _, err := fs.GetSession(ctx, "any"); !errors.Is(err, cause) {
		t.Fatalf("GetSession: %v, want the given error", err)
	}
	if err := fs.Ping(ctx); err != nil {
		t.Fatalf("Ping, not broken: %v", err)
	}
	if n := fs.Calls(authtest.OpGetSession); n != 3 {
		t.Fatalf("%d session lookups, want 3", n)
	}
	fs.Heal(authtest.OpPing)
	if _, _, err := fs.GetSession(ctx, "any"); !errors.Is(err, cause) {
		t.Fatalf("healing another operation healed GetSession: %v", err)
	}
	fs.Heal()
	if _, _, err := fs.GetSession(ctx, "any"); err != nil {
		t.Fatal(err)
	}
	fs.Fail(nil)
	if _, _, err := fs.GetSession(ctx, "any"); !errors.Is(err, authtest.ErrInjected) {
		t.Fatalf("Fail(nil): %v, want ErrInjected", err)
	}
}

func TestTimeouts(t *testing.T) {
	ms := memstore.New()
	t.Cleanup(func() { ms.Close() })
	fs := authtest.NewFailingStore(ms)

	fs.Timeout(30*time.Millisecond, authtest.OpPing)
	start := time.Now()
	err := fs.Ping(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("Ping after %v: %v, want a timeout after 30ms", time.Since(start), err)
	}

	// Without a delay, the call's own context decides.
	fs.Timeout(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := fs.GetUser(ctx, "u"); !errors.Is(err, context.DeadlineExceeded) || ctx.Err() == nil {
		t.Fatalf("GetUser: %v, want its context's deadline", err)
	}

	// A call waiting out a timeout goes through when healed.
	done := make(chan error, 1)
	go func() { done <- fs.Ping(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Ping returned %v before its timeout was healed", err)
	case <-time.After(20 * time.Millisecond):
	}
	fs.Heal()
	if err := <-done; err != nil {
		t.Fatalf("Ping after healing: %v", err)
	}
}

func TestPartitionsHangUntilHealed(t *testing.T) {
	ms := memstore.New()
	t.Cleanup(func() { ms.Close() })
	fs := authtest.NewFailingStore(ms)
	ctx := context.Background()
	if err := fs.CreateUser(ctx, store.User{ID: "u-1", Username: "ada"}); err != nil {
		t.Fatal(err)
	}

	fs.Partition(authtest.OpGetUser)
	type answer struct {
		u   store.User
		ok  bool
		err error
	}
	got := make(chan answer, 1)
	go func() {
		u, ok, err := fs.GetUser(ctx, "u-1")
		got <- answer{u, ok, err}
	}()
	select {
	case a := <-got:
		t.Fatalf("GetUser answered %+v across a partition", a)
	case <-time.After(30 * time.Millisecond):
	}
	fs.Heal()
	if a := <-got; a.err != nil || !a.ok || a.u.Username != "ada" {
		t.Fatalf("GetUser after healing: %+v", a)
	}

	fs.Partition()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, _, err := fs.GetUser(cctx, "u-1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetUser with its context cancelled: %v", err)
	}

	// A partition that turns into a failure ends the calls waiting on it.
	go func() {
		_, _, err := fs.GetUser(ctx, "u-1")
		got <- answer{err: err}
	}()
	time.Sleep(10 * time.Millisecond)
	fs.Fail(nil, authtest.OpGetUser)
	if a := <-got; !errors.Is(a.err, authtest.ErrInjected) {
		t.Fatalf("GetUser when the partition became a failure: %v", a.err)
	}
}

// TestABrokenFeedIsLostThenReplayed: revocations made elsewhere while the feed is down
// reach the Guard when it is healed, and meanwhile the Guard does not trust its cache.
func TestABrokenFeedIsLostThenReplayed(t *testing.T) {
	ms := memstore.New()
	t.Cleanup(func() { ms.Close() })
	iss := authtest.New(t, authtest.WithStore(ms))
	ctx := context.Background()
	tok := iss.Token(authtest.Session("s-1"))
	other := iss.Token(authtest.Session("s-2"))
	verify(t, iss, tok)
	verify(t, iss, other)

	iss.Store().Partition(authtest.OpWatchRevocations)
	if _, err := iss.Guard().VerifyToken(ctx, tok); !errors.Is(err, authframe.ErrUnavailable) {
		t.Fatalf("a cached token while the feed is lost: %v, want unavailable", err)
	}
	// Another instance revokes the session, writing to the store it shares.
	now := time.Now()
	if err := ms.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Key: "s-1", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	iss.Store().Heal()
	if _, err := iss.Guard().VerifyToken(ctx, tok); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("a token revoked while the feed was lost: %v, want revoked", err)
	}
	verify(t, iss, other)

	// Healthy, the feed delivers at once.
	if err := ms.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Key: "s-2", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Guard().VerifyToken(ctx, other); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("a token revoked with the feed up: %v, want revoked", err)
	}
}

// withoutFeed hides the memory store's revocation feed.
type withoutFeed struct{ store.Store }

func TestAStoreWithoutAFeedHasNoFeedToLose(t *testing.T) {
	ms := memstore.New()
	t.Cleanup(func() { ms.Close() })
	iss := authtest.New(t, authtest.WithStore(withoutFeed{ms}))
	tok := iss.Token()
	verify(t, iss, tok)
	iss.Store().Fail(nil)
	// As with the bare store: a cached token needs nothing, a fresh one needs its session.
	verify(t, iss, tok)
	if _, err := iss.Guard().VerifyToken(context.Background(), iss.Token()); !errors.Is(err, authframe.ErrUnavailable) {
		t.Fatalf("a fresh token: %v, want unavailable", err)
	}
	if s := iss.Store().BreakerState(); s != "" {
		t.Fatalf("BreakerState = %q for a store without a breaker", s)
	}
}

func TestHealthSeesABrokenStore(t *testing.T) {
	iss := authtest.New(t)
	iss.Store().Fail(nil, authtest.OpPing)
	if rep := iss.Guard().Health(context.Background()); rep.OK || rep.Dependencies[0].OK {
		t.Fatalf("health %+v with the store's Ping failing", rep)
	}
	iss.Store().Heal()
	if rep := iss.Guard().Health(context.Background()); !rep.OK {
		t.Fatalf("health %+v after healing", rep)
	}
}
