package authframe_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
)

type tenantClaims struct {
	TenantID string   `json:"tenant_id"`
	Plan     string   `json:"plan,omitempty"`
	Features []string `json:"features,omitempty"`
}

func TestCustomClaimsAreIssuedAndReadBack(t *testing.T) {
	ctx := context.Background()
	var seen []string
	g := newIssuer(t, authframe.WithClaims(func(ctx context.Context, u authframe.User) (tenantClaims, error) {
		seen = append(seen, u.Username)
		return tenantClaims{TenantID: "t-" + u.Username, Plan: "pro", Features: []string{"a", "b"}}, nil
	}))
	_, pair := registerAndLogin(t, g, "tenant-user")
	// The claims are in the token itself, beside the Guard's own.
	var mc jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(pair.AccessToken, &mc); err != nil {
		t.Fatal(err)
	}
	if mc["tenant_id"] != "t-tenant-user" || mc["sub"] == nil || mc["sid"] == nil {
		t.Fatalf("token claims %v", mc)
	}
	for i := 0; i < 2; i++ { // a miss, then an LRU hit
		p, err := g.VerifyToken(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := authframe.Claims[tenantClaims](p)
		if !ok || c.TenantID != "t-tenant-user" || c.Plan != "pro" || len(c.Features) != 2 {
			t.Fatalf("Claims = %+v, %v", c, ok)
		}
		if _, ok := authframe.Claims[struct{ X int }](p); ok {
			t.Fatal("a claims type the Guard was not given answered")
		}
	}
	// Refresh runs the hook again.
	if _, err := g.Refresh(ctx, pair.RefreshToken, client); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("the hook ran %d times, want 2 (login, refresh)", len(seen))
	}
}

func TestCustomClaimsCannotShadowRegisteredOnes(t *testing.T) {
	type bad struct {
		Sub string `json:"sub"`
	}
	type badRoles struct {
		Roles []string
	}
	type embedded struct {
		tenantClaims
		SID string `json:"sid"`
	}
	for name, opt := range map[string]authframe.Option{
		"sub":          authframe.WithClaims(func(context.Context, authframe.User) (bad, error) { return bad{}, nil }),
		"roles":        authframe.WithClaims(func(context.Context, authframe.User) (badRoles, error) { return badRoles{}, nil }),
		"embedded sid": authframe.WithClaims(func(context.Context, authframe.User) (embedded, error) { return embedded{}, nil }),
		"not a struct": authframe.WithClaims(func(context.Context, authframe.User) (map[string]any, error) { return nil, nil }),
	} {
		t.Run(name, func(t *testing.T) {
			g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), opt)
			if err == nil {
				g.Close()
				t.Fatal("New accepted it")
			}
			if !strings.Contains(err.Error(), "WithClaims") {
				t.Fatalf("error %q does not name WithClaims", err)
			}
		})
	}
}

func TestAClaimsHookErrorFailsTheLogin(t *testing.T) {
	g := newIssuer(t, authframe.WithClaims(func(context.Context, authframe.User) (tenantClaims, error) {
		return tenantClaims{}, errors.New("tenant service down")
	}))
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "hooked", "password123"); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, client, "hooked", "password123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.IssueTokens(ctx, u, client); !errors.Is(err, authframe.ErrInternal) {
		t.Fatalf("IssueTokens with a failing hook = %v, want internal", err)
	}
}

func TestCustomClaimsTravelThroughTheSharedCache(t *testing.T) {
	shared := newMapCache()
	hook := authframe.WithClaims(func(_ context.Context, u authframe.User) (tenantClaims, error) {
		return tenantClaims{TenantID: "t-" + u.Username}, nil
	})
	a := newIssuer(t, hook, authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	_, pair := registerAndLogin(t, a, "shared-claims")
	if _, err := a.VerifyToken(context.Background(), pair.AccessToken); err != nil {
		t.Fatal(err)
	}
	b := newIssuer(t, hook, authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	sets := shared.sets.Load()
	p, err := b.VerifyToken(context.Background(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if shared.sets.Load() != sets {
		t.Fatal("B verified the token afresh instead of using the shared entry")
	}
	if c, ok := authframe.Claims[tenantClaims](p); !ok || c.TenantID != "t-shared-claims" {
		t.Fatalf("claims from the shared cache = %+v, %v", c, ok)
	}
}

func TestACachedHitWithCustomClaimsAllocatesNothing(t *testing.T) {
	g := newIssuer(t, authframe.WithClaims(func(_ context.Context, u authframe.User) (tenantClaims, error) {
		return tenantClaims{TenantID: "t-" + u.Username}, nil
	}))
	_, pair := registerAndLogin(t, g, "alloc-claims")
	ctx := context.Background()
	if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatal(err)
	}
	var got tenantClaims
	allocs := testing.AllocsPerRun(200, func() {
		p, _ := g.VerifyToken(ctx, pair.AccessToken)
		got, _ = authframe.Claims[tenantClaims](p)
	})
	if allocs != 0 || got.TenantID == "" {
		t.Fatalf("a cached hit and Claims allocated %.1f times (claims %+v)", allocs, got)
	}
}
