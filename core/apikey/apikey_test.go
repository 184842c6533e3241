package apikey_test

import (
	"context"
	"errors"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/apikey"
	"github.com/authframe/authframe/core/oauth"
)

// keyRequest presents an API key as X-API-Key.
type keyRequest string

func (k keyRequest) Header(name string) string {
	if name == "X-Api-Key" || name == "X-API-Key" {
		return string(k)
	}
	return ""
}
func (keyRequest) Cookie(string) string { return "" }
func (keyRequest) Query(string) string  { return "" }
func (keyRequest) Method() string       { return "GET" }
func (keyRequest) Path() string         { return "/" }
func (keyRequest) RemoteAddr() string   { return "192.0.2.1:1234" }

// A key manages no keys, not even itself through Revoke; its holder ends it by RFC 7009
// revocation, and its owner with Revoke.
func TestOnlyTheOwnerLoggedInManagesKeys(t *testing.T) {
	ctx := context.Background()
	g, err := authframe.New(authframe.WithHMACSecret([]byte("apikey-test-secret-0123456789abcdef")),
		authframe.WithIssuer("https://auth.test"), authframe.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	owner := &authframe.Principal{UserID: "u1", Username: "alice", Permissions: []string{"read:notes"}, Method: authframe.MethodBearer, Local: true}
	k, key, err := apikey.Create(ctx, g, owner, "ci", []string{"read:notes"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.Authenticate(ctx, keyRequest(key))
	if err != nil || p.Method != authframe.MethodAPIKey || p.KeyID != k.ID || p.UserID != "u1" {
		t.Fatalf("Authenticate with the key: %+v, %v", p, err)
	}
	if _, _, err := apikey.Create(ctx, g, p, "child", []string{"read:notes"}, 0); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a key made a key: %v", err)
	}
	if _, err := apikey.List(ctx, g, p); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a key listed keys: %v", err)
	}
	if err := apikey.Revoke(ctx, g, p, k.ID); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a key deleted itself through Revoke: %v", err)
	}
	if _, err := g.Authenticate(ctx, keyRequest(key)); err != nil {
		t.Fatalf("the key stopped working after a refused Revoke: %v", err)
	}
	// RFC 7009: the holder ends the key.
	if err := oauth.Revoke(ctx, g, key); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(ctx, keyRequest(key)); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("a revoked key: %v", err)
	}
	// The owner deletes a key; a second delete is ErrNotFound.
	k2, key2, err := apikey.Create(ctx, g, owner, "deploy", []string{"read:notes"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := apikey.Revoke(ctx, g, owner, k2.ID); err != nil {
		t.Fatal(err)
	}
	if err := apikey.Revoke(ctx, g, owner, k2.ID); !errors.Is(err, authframe.ErrNotFound) {
		t.Fatalf("deleting a deleted key: %v", err)
	}
	if _, err := g.Authenticate(ctx, keyRequest(key2)); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("a deleted key: %v", err)
	}
}
