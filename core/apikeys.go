package authframe

import (
	"context"
	"time"

	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/store"
)

// apiKeyTouchEvery is how often a key's last_used_at is written at most (per instance).
const apiKeyTouchEvery = time.Minute

// apiKeyTouch is one last_used_at write, queued to the Guard's toucher.
type apiKeyTouch struct {
	id string
	at time.Time
}

func (g *Guard) apiKeyStore() (store.APIKeyStore, error) {
	ks, ok := store.As[store.APIKeyStore](g.store)
	if !ok {
		return nil, ErrInternal.with(errNoAPIKeyStore)
	}
	return ks, nil
}

// apiKeyTTL bounds how long a verified key answers from the in-process cache: as long as an
// access token lives, so that the revocation of a deleted key, kept that long, covers every
// cached copy of it.
func (g *Guard) apiKeyTTL() time.Duration { return g.cfg.accessTTL }

// verifyAPIKey checks an API key: the in-process cache first (a lookup like a cached
// token's), else one store round trip.
func (g *Guard) verifyAPIKey(ctx context.Context, key string) (*Principal, error) {
	// The cache answers only the exact string it holds, which was a well-formed key: the
	// shape is checked on a miss.
	if g.cache != nil {
		if e, ok := g.cache.get(key); ok {
			var now time.Time
			if g.coarse != nil {
				now = g.coarse.now()
			} else {
				now = g.cfg.now()
			}
			if now.Before(e.exp) {
				if g.revs.check(e) {
					return nil, g.keyResult(ctx, e.p, "revoked", "lru", time.Time{}, ErrTokenRevoked)
				}
				if !g.revocationsKnown() {
					return g.unknownRevocation(ctx, e.p, "lru", time.Time{})
				}
				g.touchAPIKey(e, now)
				if g.obs != nil {
					g.keyResult(ctx, e.p, "ok", "lru", time.Time{}, nil)
				}
				return e.p, nil
			}
			g.cache.remove(key)
		}
	}
	return g.verifyAPIKeyMiss(ctx, key, g.cfg.now())
}

func (g *Guard) verifyAPIKeyMiss(ctx context.Context, key string, now time.Time) (*Principal, error) {
	if !credential.LooksLikeAPIKey(key) {
		return nil, g.keyResult(ctx, nil, "malformed", "", time.Time{}, invalidToken("malformed API key", errShape))
	}
	gen := g.revs.gen.Load()
	ks, err := g.apiKeyStore()
	if err != nil {
		return nil, err
	}
	k, found, err := ks.GetAPIKeyByHash(ctx, credential.Hash(key))
	if err != nil {
		g.depError(ctx, "store", "get_api_key", err)
		return nil, g.keyResult(ctx, nil, "unavailable", "verify", now, ErrUnavailable.with(err))
	}
	if !found || !k.Live(now) {
		return nil, g.keyResult(ctx, nil, "invalid", "verify", now, invalidToken("API key is not valid", nil))
	}
	p := &Principal{
		UserID: k.UserID, Username: k.Username, Permissions: append([]string{}, k.Permissions...),
		KeyID: k.ID, Method: MethodAPIKey, Issuer: g.issuer(), Local: true, IssuedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
	}
	if p.Username == "" {
		p.Username = p.UserID
	}
	if g.revs.revoked(p) {
		return nil, g.keyResult(ctx, p, "revoked", "verify", now, ErrTokenRevoked)
	}
	if !g.revocationsKnown() {
		return g.unknownRevocation(ctx, p, "verify", now)
	}
	exp := now.Add(g.apiKeyTTL())
	if !k.ExpiresAt.IsZero() && k.ExpiresAt.Before(exp) {
		exp = k.ExpiresAt
	}
	e := &cacheEntry{p: p, exp: exp}
	e.gen.Store(gen)
	if now.Sub(k.LastUsedAt) < apiKeyTouchEvery {
		e.touched.Store(k.LastUsedAt.Unix())
	}
	g.touchAPIKey(e, now)
	if g.cache != nil {
		g.cache.add(key, e)
	}
	g.keyResult(ctx, p, "ok", "verify", now, nil)
	return p, nil
}

// touchAPIKey queues a write of the key's last use when the last one is a minute old. The
// queue never blocks a request: when it is full the write waits for the next minute.
func (g *Guard) touchAPIKey(e *cacheEntry, now time.Time) {
	last := e.touched.Load()
	sec := now.Unix()
	if sec-last < int64(apiKeyTouchEvery/time.Second) || !e.touched.CompareAndSwap(last, sec) {
		return
	}
	select {
	case g.touches <- apiKeyTouch{id: e.p.KeyID, at: now}:
	default:
	}
}

// toucher writes queued last-use times until the Guard closes.
func (g *Guard) toucher(ks store.APIKeyStore) {
	defer g.wg.Done()
	for {
		select {
		case <-g.ctx.Done():
			return
		case t := <-g.touches:
			ctx, cancel := context.WithTimeout(g.ctx, 5*time.Second)
			if err := ks.TouchAPIKey(ctx, t.id, t.at); err != nil && ctx.Err() == nil {
				g.depError(ctx, "store", "touch_api_key", err)
			}
			cancel()
		}
	}
}

// keyResult reports an API key validation and returns err unchanged.
func (g *Guard) keyResult(ctx context.Context, p *Principal, result, tier string, start time.Time, err error) error {
	if g.obs == nil {
		return err
	}
	e := audit.Event{Type: audit.TokenValidated, Result: result, Tier: tier, Method: string(MethodAPIKey), Err: err}
	if !start.IsZero() {
		e.Duration = g.cfg.now().Sub(start)
	}
	if p != nil {
		e.UserID = p.UserID
	}
	g.emit(ctx, e)
	return err
}

// userOf refuses a principal that cannot manage API keys: only a local user who logged in
// (a bearer token or a session), never a key, a client or a remote issuer's subject.
func userOf(p *Principal) error { return localUser(p) }

// createAPIKey makes a key for p with permissions p holds, living ttl (0: until deleted).
func (g *Guard) createAPIKey(ctx context.Context, p *Principal, name string, perms []string, ttl time.Duration) (store.APIKey, string, error) {
	if err := userOf(p); err != nil {
		return store.APIKey{}, "", err
	}
	for _, perm := range perms {
		if !p.Can(perm) {
			return store.APIKey{}, "", &Error{Code: ErrForbidden, Message: "you do not hold permission " + perm}
		}
	}
	ks, err := g.apiKeyStore()
	if err != nil {
		return store.APIKey{}, "", err
	}
	now := g.cfg.now().UTC().Truncate(time.Millisecond)
	key, hash := credential.NewAPIKey()
	k := store.APIKey{ID: credential.NewID("key_"), UserID: p.UserID, Username: p.Username, Name: name,
		Permissions: append([]string{}, perms...), Hash: hash, CreatedAt: now}
	if ttl > 0 {
		k.ExpiresAt = now.Add(ttl)
	}
	if err := ks.CreateAPIKey(ctx, k); err != nil {
		return store.APIKey{}, "", g.storeErr(ctx, "create_api_key", err)
	}
	g.observe(ctx, audit.Event{Type: audit.Registered, Kind: "api_key", UserID: p.UserID})
	return k, key, nil
}

// listAPIKeys returns p's live keys, oldest first.
func (g *Guard) listAPIKeys(ctx context.Context, p *Principal) ([]store.APIKey, error) {
	if err := userOf(p); err != nil {
		return nil, err
	}
	ks, err := g.apiKeyStore()
	if err != nil {
		return nil, err
	}
	keys, err := ks.ListAPIKeys(ctx, p.UserID)
	if err != nil {
		return nil, g.storeErr(ctx, "list_api_keys", err)
	}
	return keys, nil
}

// deleteAPIKey deletes p's key id (ErrNotFound for another user's): p must be its owner,
// logged in with a token or a session. A key or a client manages no keys, not even a key
// itself through DELETE /keys/{id}; a key's holder ends it by RFC 7009 revocation.
func (g *Guard) deleteAPIKey(ctx context.Context, p *Principal, id string) error {
	if err := userOf(p); err != nil {
		return err
	}
	return g.removeAPIKey(ctx, p.UserID, id)
}

// removeAPIKey deletes userID's key id and revokes it here at once and on every instance
// through the revocation feeds.
func (g *Guard) removeAPIKey(ctx context.Context, userID, id string) error {
	ks, err := g.apiKeyStore()
	if err != nil {
		return err
	}
	if id == "" || len(id) > maxClientID {
		return ErrNotFound
	}
	ok, err := ks.DeleteAPIKey(ctx, userID, id)
	if err != nil {
		return g.storeErr(ctx, "delete_api_key", err)
	}
	if !ok {
		return ErrNotFound
	}
	now := g.cfg.now()
	return g.revokeUntil(ctx, store.RevokeAPIKey, id, now, now.Add(g.apiKeyTTL()+g.cfg.leeway), "api_key_deleted", userID)
}
