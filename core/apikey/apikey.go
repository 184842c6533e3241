// Package apikey manages API keys: long-lived credentials a user makes for scripts and CI,
// each with permissions of its own, a subset of its owner's.
//
// A key is "afk_" followed by 256 random bits in base64url (secret scanners can find leaked
// keys with the pattern afk_[A-Za-z0-9_-]{43}); the store keeps only its SHA-256. A Guard
// accepts a key as "X-API-Key: <key>" or "Authorization: Bearer <key>": the first time an
// instance sees it costs one store round trip, and after that it is a memory lookup like a
// cached token. Its Principal has Method authframe.MethodAPIKey, KeyID the key's id, the
// owner's UserID and Username, no roles, and the key's Permissions. Deleting a key reaches
// every instance within a second; its last use is written at most once a minute.
package apikey

import (
	"context"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/oauth"
	"github.com/authframe/authframe/core/store"
)

// Prefix starts every key.
const Prefix = credential.APIKeyPrefix

type guardOps interface {
	CreateAPIKey(ctx context.Context, p *authframe.Principal, name string, perms []string, ttl time.Duration) (store.APIKey, string, error)
	ListAPIKeys(ctx context.Context, p *authframe.Principal) ([]store.APIKey, error)
	DeleteAPIKey(ctx context.Context, p *authframe.Principal, id string) error
	VerifyAPIKey(ctx context.Context, key string) (*authframe.Principal, error)
}

func ops(g *authframe.Guard) guardOps { return engine.Of(g).(guardOps) }

// Key is an API key as its owner sees it: never the key itself, which Create shows once.
// ExpiresAt is zero for a key that lives until deleted, LastUsedAt until its first use.
type Key struct {
	ID          string
	Name        string
	Permissions []string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LastUsedAt  time.Time
}

func fromStore(k store.APIKey) Key {
	return Key{ID: k.ID, Name: k.Name, Permissions: k.Permissions, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt}
}

// Create makes a key for p, who must be a user logged in with a token or a session (not a
// key, not a client): a name of 1 to 64 printable characters, 1 to 32 permissions that p
// holds (authframe.ErrForbidden names one p lacks), living ttl (0: until deleted). It
// returns the key's record and the key: show the key once.
func Create(ctx context.Context, g *authframe.Guard, p *authframe.Principal, name string, permissions []string, ttl time.Duration) (Key, string, error) {
	if err := oauth.CheckName(name); err != nil {
		return Key{}, "", &authframe.Error{Code: authframe.ErrInvalidRequest, Message: "key " + err.Error()}
	}
	if err := oauth.CheckPermissions(g, permissions); err != nil {
		return Key{}, "", &authframe.Error{Code: authframe.ErrInvalidRequest, Message: "permissions: " + err.Error()}
	}
	if ttl < 0 {
		return Key{}, "", &authframe.Error{Code: authframe.ErrInvalidRequest, Message: "expiry must be positive"}
	}
	k, key, err := ops(g).CreateAPIKey(ctx, p, name, permissions, ttl)
	if err != nil {
		return Key{}, "", err
	}
	return fromStore(k), key, nil
}

// Verify checks a key presented some other way than the Guard's Authenticate reads (gRPC
// metadata, a message header): the same check, a memory lookup for a key this instance has
// seen, one store round trip for one it has not. An unknown, expired or deleted key is
// authframe.ErrInvalidToken.
func Verify(ctx context.Context, g *authframe.Guard, key string) (*authframe.Principal, error) {
	return ops(g).VerifyAPIKey(ctx, key)
}

// List returns p's live keys, oldest first.
func List(ctx context.Context, g *authframe.Guard, p *authframe.Principal) ([]Key, error) {
	ks, err := ops(g).ListAPIKeys(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, fromStore(k))
	}
	return out, nil
}

// Revoke deletes p's key id: it is refused here at once and by every instance within a
// second. p must be the owner logged in with a token or a session (authframe.ErrForbidden
// for a key or a client: a key's holder ends it with oauth.Revoke instead).
// authframe.ErrNotFound for an unknown id or another user's key.
func Revoke(ctx context.Context, g *authframe.Guard, p *authframe.Principal, id string) error {
	return ops(g).DeleteAPIKey(ctx, p, id)
}
