package authframe_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// setDisabled flips a user's flag in the store, as an administrator would.
func setDisabled(t *testing.T, s store.Store, name string, disabled bool) {
	t.Helper()
	ctx := context.Background()
	u, ok, err := s.GetUserByUsername(ctx, name)
	if err != nil || !ok {
		t.Fatalf("GetUserByUsername(%s) = %v, %v", name, ok, err)
	}
	u.Disabled = disabled
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
}

func TestADisabledUserCannotLogIn(t *testing.T) {
	var mu sync.Mutex
	var reasons []string
	obs := audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.LoginFailed {
			mu.Lock()
			reasons = append(reasons, e.Reason)
			mu.Unlock()
		}
	})
	ms := memstore.New()
	defer ms.Close()
	g := newIssuer(t, authframe.WithStore(ms), authframe.WithObserver(obs))
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "erin", "password123"); err != nil {
		t.Fatal(err)
	}
	setDisabled(t, ms, "erin", true)

	_, right := g.VerifyPassword(ctx, client, "erin", "password123")
	_, wrong := g.VerifyPassword(ctx, client, "nobody", "password123")
	if !errors.Is(right, authframe.ErrInvalidCredentials) {
		t.Fatalf("the right password of a disabled user = %v, want invalid_credentials", right)
	}
	r1, r2 := endpoint.RenderError(right, "r"), endpoint.RenderError(wrong, "r")
	if r1.Status != r2.Status || string(r1.Body) != string(r2.Body) {
		t.Fatalf("a disabled user is told apart from an unknown one: %s / %s", r1.Body, r2.Body)
	}
	mu.Lock()
	if len(reasons) != 2 || reasons[0] != "user_disabled" {
		t.Fatalf("login failure reasons %v, want user_disabled first", reasons)
	}
	mu.Unlock()

	setDisabled(t, ms, "erin", false)
	if _, err := g.VerifyPassword(ctx, client, "erin", "password123"); err != nil {
		t.Fatalf("an enabled user again cannot log in: %v", err)
	}
}

func TestADisabledUserCannotRefreshAndLosesTheSession(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	g := newIssuer(t, authframe.WithStore(ms))
	ctx := context.Background()
	_, pair := registerAndLogin(t, g, "frank")
	setDisabled(t, ms, "frank", true)
	if _, err := g.Refresh(ctx, pair.RefreshToken, client); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("refresh of a disabled user = %v, want invalid_token", err)
	}
	if _, ok, _ := ms.GetSession(ctx, pair.SessionID); ok {
		t.Fatal("the session of a disabled user survived a refresh attempt")
	}
	if _, err := g.VerifyToken(ctx, pair.AccessToken); err == nil {
		t.Fatal("the access token of the session revoked at refresh still works")
	}
	// Enabling the user again does not bring the family back.
	setDisabled(t, ms, "frank", false)
	if _, err := g.Refresh(ctx, pair.RefreshToken, client); err == nil {
		t.Fatal("a refresh token of a revoked session works after the user is enabled")
	}
}

func TestADisabledUserCannotRenewASession(t *testing.T) {
	ms := memstore.New()
	defer ms.Close()
	g := newIssuer(t, authframe.WithStore(ms))
	ctx := context.Background()
	grant := startSession(t, g, "grace")
	p, err := g.Authenticate(ctx, cookieReq(g, "GET", grant.Cookie.Value, ""))
	if err != nil {
		t.Fatal(err)
	}
	setDisabled(t, ms, "grace", true)
	if _, err := g.RenewSession(ctx, p, nil, client); !errors.Is(err, authframe.ErrSessionInvalid) {
		t.Fatalf("renewal for a disabled user = %v, want the session refused", err)
	}
	if _, err := g.Authenticate(ctx, cookieReq(g, "GET", grant.Cookie.Value, "")); err == nil {
		t.Fatal("the session whose renewal was refused still works")
	}
}
