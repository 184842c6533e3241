package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

var (
	_ store.ClientStore = (*Store)(nil)
	_ store.APIKeyStore = (*Store)(nil)
)

// clientDest lists the scan targets of clientCols for c.
func clientDest(c *store.Client) []any {
	return []any{&c.ID, &c.Name, &c.Scopes, &c.SecretHash, &c.CreatedAt, &c.Disabled}
}

// CreateClient implements store.ClientStore; a taken id is store.ErrConflict, decided by
// the primary key.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	cl, err := s.begin(ctx, "create client", true)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(cl.ctx, s.q.createClient, c.ID, c.Name, c.Scopes, c.SecretHash, c.CreatedAt, c.Disabled)
	s.end(cl, err)
	if err != nil {
		if pgCode(err) == codeUniqueViolation {
			return store.ErrConflict
		}
		return wrap("create client", err)
	}
	return nil
}

// GetClient implements store.ClientStore.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, bool, error) {
	cl, err := s.begin(ctx, "get client", true)
	if err != nil {
		return store.Client{}, false, err
	}
	var c store.Client
	err = s.pool.QueryRow(cl.ctx, s.q.getClient, id).Scan(clientDest(&c)...)
	s.end(cl, err)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.Client{}, false, nil
		}
		return store.Client{}, false, wrap("get client", err)
	}
	return c, true, nil
}

// ListClients implements store.ClientStore, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	cl, err := s.begin(ctx, "list clients", true)
	if err != nil {
		return nil, err
	}
	var out []store.Client
	rows, err := s.pool.Query(cl.ctx, s.q.listClients)
	if err == nil {
		var c store.Client
		_, err = pgx.ForEachRow(rows, clientDest(&c), func() error {
			out = append(out, c)
			c = store.Client{} // the next row must not share Scopes or SecretHash
			return nil
		})
	}
	s.end(cl, err)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	return out, nil
}

// DeleteClient implements store.ClientStore.
func (s *Store) DeleteClient(ctx context.Context, id string) (bool, error) {
	cl, err := s.begin(ctx, "delete client", true)
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(cl.ctx, s.q.deleteClient, id)
	s.end(cl, err)
	if err != nil {
		return false, wrap("delete client", err)
	}
	return tag.RowsAffected() == 1, nil
}

// apiKeyRow is the scan target of apiKeyCols: the optional times are NULL for never.
type apiKeyRow struct {
	k                store.APIKey
	expires, lastUse *time.Time
}

func (r *apiKeyRow) dest() []any {
	return []any{&r.k.ID, &r.k.UserID, &r.k.Name, &r.k.Permissions, &r.k.Hash, &r.k.CreatedAt, &r.expires, &r.lastUse, &r.k.Username}
}

func (r *apiKeyRow) key() store.APIKey {
	k := r.k
	if r.expires != nil {
		k.ExpiresAt = *r.expires
	}
	if r.lastUse != nil {
		k.LastUsedAt = *r.lastUse
	}
	return k
}

// orNull is t, or NULL for the zero time.
func orNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CreateAPIKey implements store.APIKeyStore. An id or a hash held by a live key is
// store.ErrConflict, decided by the unique indexes; one held by an expired key that the
// cleanup job has not deleted yet is taken over.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	c, err := s.begin(ctx, "create api key", true)
	if err != nil {
		return err
	}
	err = s.createAPIKey(c.ctx, k)
	s.end(c, err)
	switch {
	case err == nil, errors.Is(err, store.ErrConflict):
		return err
	}
	return wrap("create api key", err)
}

func (s *Store) createAPIKey(ctx context.Context, k store.APIKey) error {
	insert := func() error {
		_, err := s.pool.Exec(ctx, s.q.createAPIKey, k.ID, k.UserID, k.Name, k.Permissions, k.Hash, k.CreatedAt,
			orNull(k.ExpiresAt), orNull(k.LastUsedAt), k.Username)
		return err
	}
	err := insert()
	if pgCode(err) != codeUniqueViolation {
		return err
	}
	// As for sessions: the conditional DELETE removes only expired holders of the id or the
	// hash; whoever inserts next wins, and a loser gets the unique violation again.
	tag, err := s.pool.Exec(ctx, s.q.deleteExpiredAPIKey, k.ID, k.Hash, s.now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	err = insert()
	if pgCode(err) == codeUniqueViolation {
		return store.ErrConflict
	}
	return err
}

// GetAPIKeyByHash implements store.APIKeyStore: one probe of the unique index on the hash.
// The expiry is checked in the query, so an expired key is never returned even before the
// cleanup job deletes it.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, bool, error) {
	c, err := s.begin(ctx, "get api key", true)
	if err != nil {
		return store.APIKey{}, false, err
	}
	var r apiKeyRow
	err = s.pool.QueryRow(c.ctx, s.q.getAPIKeyByHash, hash, s.now()).Scan(r.dest()...)
	s.end(c, err)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.APIKey{}, false, nil
		}
		return store.APIKey{}, false, wrap("get api key", err)
	}
	return r.key(), true, nil
}

// ListAPIKeys implements store.APIKeyStore, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]store.APIKey, error) {
	c, err := s.begin(ctx, "list api keys", true)
	if err != nil {
		return nil, err
	}
	var out []store.APIKey
	rows, err := s.pool.Query(c.ctx, s.q.listAPIKeys, userID, s.now())
	if err == nil {
		var r apiKeyRow
		_, err = pgx.ForEachRow(rows, r.dest(), func() error {
			out = append(out, r.key())
			r = apiKeyRow{} // the next row must not share Permissions or Hash
			return nil
		})
	}
	s.end(c, err)
	if err != nil {
		return nil, wrap("list api keys", err)
	}
	return out, nil
}

// DeleteAPIKey implements store.APIKeyStore. The user is part of the condition, so another
// user's key is left alone.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) (bool, error) {
	c, err := s.begin(ctx, "delete api key", true)
	if err != nil {
		return false, err
	}
	var live bool
	err = s.pool.QueryRow(c.ctx, s.q.deleteAPIKey, id, userID, s.now()).Scan(&live)
	s.end(c, err)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return false, wrap("delete api key", err)
	}
	return live, nil
}

// TouchAPIKey implements store.APIKeyStore. LastUsedAt only moves forward.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	c, err := s.begin(ctx, "touch api key", true)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(c.ctx, s.q.touchAPIKey, id, at, s.now())
	s.end(c, err)
	if err != nil {
		return wrap("touch api key", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}
