package authframe

import (
	"context"
	"time"

	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// internals is what engine.Of hands to authframe's subpackages: its exported methods are
// reached through interfaces those packages declare, and appear in no public API.
type internals struct{ g *Guard }

func init() {
	engine.Of = func(guard any) any {
		g, ok := guard.(*Guard)
		if !ok || g == nil {
			panic("authframe: a nil Guard or something else than *authframe.Guard")
		}
		return internals{g}
	}
	engine.Option = func(apply func(cfg any)) any {
		return optionFunc(func(c *config) { apply(c) })
	}
}

// The service-client and API key operations, for packages oauth and apikey.

func (i internals) CreateClient(ctx context.Context, name string, scopes []string) (store.Client, string, error) {
	return i.g.createClient(ctx, name, scopes)
}

func (i internals) ListClients(ctx context.Context) ([]store.Client, error) {
	cs, err := i.g.clientStore()
	if err != nil {
		return nil, err
	}
	out, err := cs.ListClients(ctx)
	if err != nil {
		return nil, i.g.storeErr(ctx, "list_clients", err)
	}
	return out, nil
}

func (i internals) DeleteClient(ctx context.Context, id string) error {
	return i.g.deleteClient(ctx, id)
}

func (i internals) AuthenticateClient(ctx context.Context, client ClientInfo, id, secret string) (store.Client, error) {
	return i.g.authenticateClient(ctx, client, id, secret)
}

func (i internals) GrantScopes(c store.Client, requested []string) ([]string, error) {
	return grantScopes(c, requested)
}

func (i internals) IssueClientToken(ctx context.Context, c store.Client, scopes []string) (string, time.Duration, error) {
	return i.g.issueClientToken(ctx, c, scopes)
}

func (i internals) Introspect(ctx context.Context, tok string) (*Principal, string, error) {
	return i.g.introspect(ctx, tok)
}

func (i internals) RevokeCredential(ctx context.Context, tok string) error {
	return i.g.revokeCredential(ctx, tok)
}

func (i internals) ValidPermission(p string) error { return validPermission(p) }

// The DPoP operation, for package dpop.

func (i internals) DPoPTokenRequest(ctx context.Context, r Request) (context.Context, error) {
	return i.g.dpopTokenRequest(ctx, r)
}

func (i internals) CreateAPIKey(ctx context.Context, p *Principal, name string, perms []string, ttl time.Duration) (store.APIKey, string, error) {
	return i.g.createAPIKey(ctx, p, name, perms, ttl)
}

func (i internals) ListAPIKeys(ctx context.Context, p *Principal) ([]store.APIKey, error) {
	return i.g.listAPIKeys(ctx, p)
}

func (i internals) VerifyAPIKey(ctx context.Context, key string) (*Principal, error) {
	return i.g.verifyAPIKey(ctx, key)
}

func (i internals) DeleteAPIKey(ctx context.Context, p *Principal, id string) error {
	return i.g.deleteAPIKey(ctx, p, id)
}
