package authframe_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/memstore"
)

func startSession(t *testing.T, g *authframe.Guard, name string) *authframe.SessionGrant {
	t.Helper()
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, name, "password123"); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, client, name, "password123")
	if err != nil {
		t.Fatal(err)
	}
	grant, err := g.StartSession(ctx, u, client)
	if err != nil {
		t.Fatal(err)
	}
	return grant
}

func cookieReq(g *authframe.Guard, method, value, csrf string) fakeReq {
	r := fakeReq{method: method, cookies: map[string]string{g.ClearSessionCookie().Name: value}, headers: map[string]string{}}
	if csrf != "" {
		r.headers["X-CSRF-Token"] = csrf
	}
	return r
}

func TestSessionCookieAttributes(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	g := newIssuer(t, authframe.WithStore(ms))
	grant := startSession(t, g, "alice")
	c := grant.Cookie
	if c.Name != "__Host-session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie %+v", c)
	}
	if len(c.Value) < 22 {
		t.Fatalf("cookie value too short for 128 bits: %d", len(c.Value))
	}
	// The store keeps only the hash-derived handle, never the cookie value.
	if _, ok, _ := ms.GetSession(context.Background(), c.Value); ok {
		t.Fatal("the session is stored under the raw cookie value")
	}
	if grant.Session.ID == c.Value {
		t.Fatal("the session handle equals the cookie value")
	}
	clear := g.ClearSessionCookie()
	if clear.Name != c.Name || !clear.Secure || clear.Path != "/" || clear.MaxAge >= 0 {
		t.Fatalf("clearing cookie %+v", clear)
	}
	dev := newIssuer(t, authframe.WithInsecureCookies())
	if dc := startSession(t, dev, "bob").Cookie; dc.Name != "session" || dc.Secure {
		t.Fatalf("insecure dev cookie %+v", dc)
	}
}

func TestSessionAuthenticatesAndNeedsCSRFOnUnsafeMethods(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	a := startSession(t, g, "carol")
	b := startSession(t, g, "dan")
	tests := []struct {
		name    string
		req     fakeReq
		wantErr error
	}{
		{"GET needs no CSRF token", cookieReq(g, "GET", a.Cookie.Value, ""), nil},
		{"POST without a CSRF token is refused", cookieReq(g, "POST", a.Cookie.Value, ""), authframe.ErrCSRF},
		{"POST with the session's CSRF token passes", cookieReq(g, "POST", a.Cookie.Value, a.CSRFToken), nil},
		{"POST with another session's CSRF token is refused", cookieReq(g, "POST", a.Cookie.Value, b.CSRFToken), authframe.ErrCSRF},
		{"DELETE with a wrong CSRF token is refused", cookieReq(g, "DELETE", a.Cookie.Value, "x"), authframe.ErrCSRF},
		{"an unknown session id is refused", cookieReq(g, "GET", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""), authframe.ErrSessionInvalid},
		{"a malformed cookie is refused", cookieReq(g, "GET", "short", ""), authframe.ErrSessionInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := g.Authenticate(ctx, tc.req)
			if tc.wantErr == nil {
				if err != nil || p.Method != authframe.MethodSession || p.Username != "carol" {
					t.Fatalf("p=%+v err=%v", p, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestLoginNeverAdoptsAPresentedSessionID(t *testing.T) {
	g := newIssuer(t)
	first := startSession(t, g, "erin")
	u, _ := g.VerifyPassword(context.Background(), client, "erin", "password123")
	second, err := g.StartSession(context.Background(), u, client)
	if err != nil {
		t.Fatal(err)
	}
	if second.Cookie.Value == first.Cookie.Value || second.Session.ID == first.Session.ID {
		t.Fatal("a second login reused the session id")
	}
}

func TestSessionIdleAndAbsoluteTimeouts(t *testing.T) {
	c := &clock{now: time.Now()}
	ms := memstore.New(memstore.WithClock(c.Now))
	defer ms.Close()
	g := newIssuer(t, authframe.WithClock(c.Now), authframe.WithStore(ms), authframe.WithSessions(authframe.SessionConfig{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour}))
	grant := startSession(t, g, "frank")
	req := cookieReq(g, "GET", grant.Cookie.Value, "")
	// Active every 9 minutes: the idle deadline moves, until the absolute one.
	for i := 0; i < 6; i++ {
		c.Add(9 * time.Minute)
		if _, err := g.Authenticate(context.Background(), req); err != nil {
			t.Fatalf("after %d min of activity: %v", (i+1)*9, err)
		}
	}
	c.Add(7 * time.Minute) // 61 minutes after login
	if _, err := g.Authenticate(context.Background(), req); !errors.Is(err, authframe.ErrSessionInvalid) {
		t.Fatalf("past the absolute timeout: %v", err)
	}
	idle := startSession(t, g, "grace")
	c.Add(11 * time.Minute)
	if _, err := g.Authenticate(context.Background(), cookieReq(g, "GET", idle.Cookie.Value, "")); !errors.Is(err, authframe.ErrSessionInvalid) {
		t.Fatalf("past the idle timeout: %v", err)
	}
}

func TestSessionTouchIsThrottled(t *testing.T) {
	c := &clock{now: time.Now()}
	ms := memstore.New(memstore.WithClock(c.Now))
	defer ms.Close()
	cs := authtest.NewFailingStore(ms)
	g := newIssuer(t, authframe.WithClock(c.Now), authframe.WithStore(cs), authframe.WithSessions(authframe.SessionConfig{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 24 * time.Hour}))
	grant := startSession(t, g, "heidi")
	req := cookieReq(g, "GET", grant.Cookie.Value, "")
	// 600 requests over 10 minutes, one a second: at most one write a minute.
	for i := 0; i < 600; i++ {
		c.Add(time.Second)
		if _, err := g.Authenticate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.Calls(authtest.OpTouchSession); n < 9 || n > 10 {
		t.Fatalf("%d store writes for 600 requests over 10 minutes, want one a minute", n)
	}
}

func TestRenewGivesANewIDAndKillsTheOld(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	grant := startSession(t, g, "ivan")
	p, err := g.Authenticate(ctx, cookieReq(g, "GET", grant.Cookie.Value, ""))
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := g.RenewSession(ctx, p, []string{"admin"}, client)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Cookie.Value == grant.Cookie.Value || renewed.CSRFToken == grant.CSRFToken {
		t.Fatal("renew kept the id or the CSRF token")
	}
	if _, err := g.Authenticate(ctx, cookieReq(g, "GET", grant.Cookie.Value, "")); err == nil {
		t.Fatal("the old id still works after Renew")
	}
	np, err := g.Authenticate(ctx, cookieReq(g, "GET", renewed.Cookie.Value, ""))
	if err != nil || !np.HasRole("admin") || !np.Can("anything:at-all") {
		t.Fatalf("renewed session: %+v, %v", np, err)
	}
}

func TestRevokingOneSessionFromAnother(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	laptop := startSession(t, g, "judy")
	u, _ := g.VerifyPassword(ctx, client, "judy", "password123")
	phone, _ := g.IssueTokens(ctx, u, authframe.ClientInfo{IP: "198.51.100.2", UserAgent: "phone"})
	me, err := g.VerifyToken(ctx, phone.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := g.ListSessions(ctx, me)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("ListSessions = %d, %v", len(sessions), err)
	}
	if err := g.RevokeSession(ctx, me, phone.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, phone.AccessToken); err == nil {
		t.Fatal("the phone's cached token survived revocation from the laptop")
	}
	if _, err := g.Authenticate(ctx, cookieReq(g, "GET", laptop.Cookie.Value, "")); err != nil {
		t.Fatalf("the laptop session died too: %v", err)
	}
	// Someone else's session id is not found.
	other := startSession(t, g, "ken")
	if err := g.RevokeSession(ctx, me, other.Session.ID); !errors.Is(err, authframe.ErrNotFound) {
		t.Fatalf("revoking another user's session = %v, want not found", err)
	}
}

func TestLogoutDestroysTheSessionServerSide(t *testing.T) {
	g := newIssuer(t)
	ctx := context.Background()
	grant := startSession(t, g, "leo")
	p, _ := g.Authenticate(ctx, cookieReq(g, "GET", grant.Cookie.Value, ""))
	err := g.Logout(ctx, p)
	cookie := g.ClearSessionCookie()
	if err != nil || cookie.MaxAge >= 0 {
		t.Fatalf("Logout = %+v, %v", cookie, err)
	}
	if _, err := g.Authenticate(ctx, cookieReq(g, "GET", grant.Cookie.Value, "")); err == nil {
		t.Fatal("session works after Logout")
	}
}
