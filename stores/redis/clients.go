package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

var (
	_ store.ClientStore = (*Store)(nil)
	_ store.APIKeyStore = (*Store)(nil)
)

// Service clients are few and made by an administrator, so they share one hash, "<prefix>
// clients", a field per client: every client operation is one command on one key, atomic
// without a script, and listing them needs no index.

// CreateClient implements store.ClientStore with HSETNX.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	const op = "create client"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	created, err := s.c.HSetNX(ctx, s.k.clients, c.ID, encodeClient(&c)).Result()
	if err = s.leave(op, probe, err); err != nil {
		return err
	}
	if !created {
		return store.ErrConflict
	}
	return nil
}

// GetClient implements store.ClientStore: one HGET.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, bool, error) {
	const op = "get client"
	probe, err := s.enter(op)
	if err != nil {
		return store.Client{}, false, err
	}
	v, err := s.c.HGet(ctx, s.k.clients, id).Result()
	if err = s.leave(op, probe, err); err != nil {
		if errors.Is(err, redis.Nil) {
			return store.Client{}, false, nil
		}
		return store.Client{}, false, err
	}
	c, err := decodeClient(id, v)
	if err != nil {
		return store.Client{}, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return c, true, nil
}

// ListClients implements store.ClientStore, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	const op = "list clients"
	probe, err := s.enter(op)
	if err != nil {
		return nil, err
	}
	m, err := s.c.HGetAll(ctx, s.k.clients).Result()
	if err = s.leave(op, probe, err); err != nil {
		return nil, err
	}
	out := make([]store.Client, 0, len(m))
	for id, v := range m {
		c, err := decodeClient(id, v)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b store.Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteClient implements store.ClientStore with HDEL.
func (s *Store) DeleteClient(ctx context.Context, id string) (bool, error) {
	const op = "delete client"
	probe, err := s.enter(op)
	if err != nil {
		return false, err
	}
	n, err := s.c.HDel(ctx, s.k.clients, id).Result()
	if err = s.leave(op, probe, err); err != nil {
		return false, err
	}
	return n == 1, nil
}

// An API key is three keys in three Cluster slots: its record, named by its hash (the
// lookup of every request that presents the key is one HGETALL); the claim on its id, a
// string holding the hash (TouchAPIKey and DeleteAPIKey name the key by id); and an entry
// in its user's index, a hash of id -> hash (ListAPIKeys). The record and the claim expire
// at the key's expiry by TTL; index entries of keys that are gone are pruned when listed.

// CreateAPIKey implements store.APIKeyStore in three steps, ordered so that no crash
// between them leaves a key that works but cannot be deleted: the id is claimed with SET
// NX (of concurrent creations with one id exactly one wins), then the record is created
// if no live key holds the hash (a script; the loser releases its claim), then the key
// joins its user's index. A crash after the first step leaves a claim that leads nowhere;
// after the second, a key that works but is not listed, whose id and value its creator
// never handed out, since creation failed.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	const op = "create api key"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	claim, record := s.k.apiKeyID(k.ID), s.k.apiKey(k.Hash)
	err = s.c.SetArgs(ctx, claim, k.Hash, redis.SetArgs{Mode: "NX", ExpireAt: k.ExpiresAt}).Err()
	if errors.Is(err, redis.Nil) {
		s.leave(op, probe, nil)
		return store.ErrConflict
	}
	if err != nil {
		return s.leave(op, probe, err)
	}
	bg := context.WithoutCancel(ctx)
	args := append([]any{optMS(k.ExpiresAt)}, apiKeyArgs(&k)...)
	created, err := createAPIKeyScript.Run(ctx, s.c, []string{record}, args...).Int()
	if err != nil || created == 0 {
		// Released so that the id is not lost to a key that does not exist.
		rerr := releaseClaimScript.Run(bg, s.c, []string{claim}, k.Hash).Err()
		if err == nil {
			s.leave(op, probe, rerr)
			return store.ErrConflict
		}
		return s.leave(op, probe, err)
	}
	err = indexAPIKeyScript.Run(ctx, s.c, []string{s.k.userAPIKeys(k.UserID)}, k.ID, k.Hash, optMS(k.ExpiresAt), ms(time.Now())).Err()
	if err != nil {
		// Undone, so that the caller's retry is not refused and no unlisted key works.
		_ = releaseAPIKeyScript.Run(bg, s.c, []string{record}, k.ID).Err()
		_ = releaseClaimScript.Run(bg, s.c, []string{claim}, k.Hash).Err()
		return s.leave(op, probe, err)
	}
	return s.leave(op, probe, nil)
}

// GetAPIKeyByHash implements store.APIKeyStore: one HGETALL of the record named by hash.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, bool, error) {
	const op = "get api key"
	probe, err := s.enter(op)
	if err != nil {
		return store.APIKey{}, false, err
	}
	m, err := s.c.HGetAll(ctx, s.k.apiKey(hash)).Result()
	if err = s.leave(op, probe, err); err != nil {
		return store.APIKey{}, false, err
	}
	k, found, err := decodeAPIKey(hash, m)
	if err != nil {
		return store.APIKey{}, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	// The TTL ends the record at the expiry to the millisecond; the check covers the
	// millisecond Redis still keeps it and a server whose clock runs behind ours.
	if !found || !k.Live(time.Now()) {
		return store.APIKey{}, false, nil
	}
	return k, true, nil
}

// ListAPIKeys implements store.APIKeyStore from the user's index, oldest first: one HGETALL
// of the index, then one pipeline of the records. Entries of keys that are gone are
// pruned on the way.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]store.APIKey, error) {
	const op = "list api keys"
	probe, err := s.enter(op)
	if err != nil {
		return nil, err
	}
	index := s.k.userAPIKeys(userID)
	entries, err := s.c.HGetAll(ctx, index).Result()
	if err != nil || len(entries) == 0 {
		return nil, s.leave(op, probe, err)
	}
	ids := make([]string, 0, len(entries))
	cmds := make([]*redis.MapStringStringCmd, 0, len(entries))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, hash := range entries {
			ids = append(ids, id)
			cmds = append(cmds, p.HGetAll(ctx, s.k.apiKey([]byte(hash))))
		}
		return nil
	})
	if err != nil {
		return nil, s.leave(op, probe, err)
	}
	now := time.Now()
	out := make([]store.APIKey, 0, len(ids))
	var gone []any
	for i, cmd := range cmds {
		hash := entries[ids[i]]
		k, found, err := decodeAPIKey([]byte(hash), cmd.Val())
		if err != nil {
			s.leave(op, probe, nil)
			return nil, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		// A record under the hash that is another key's means the listed key expired and
		// its hash was taken again.
		if !found || k.ID != ids[i] || k.UserID != userID || !k.Live(now) {
			gone = append(gone, ids[i], hash)
			continue
		}
		out = append(out, k)
	}
	if len(gone) > 0 {
		err = unindexAPIKeysScript.Run(context.WithoutCancel(ctx), s.c, []string{index}, gone...).Err()
	}
	slices.SortFunc(out, func(a, b store.APIKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, s.leave(op, probe, err)
}

// DeleteAPIKey implements store.APIKeyStore: the claim leads to the record, which a script
// deletes only if it is that user's key; the claim and the index entry follow.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) (bool, error) {
	const op = "delete api key"
	probe, err := s.enter(op)
	if err != nil {
		return false, err
	}
	claim := s.k.apiKeyID(id)
	hash, err := s.c.Get(ctx, claim).Result()
	if errors.Is(err, redis.Nil) {
		s.leave(op, probe, nil)
		return false, nil
	}
	if err != nil {
		return false, s.leave(op, probe, err)
	}
	n, err := deleteAPIKeyScript.Run(ctx, s.c, []string{s.k.apiKey([]byte(hash))}, id, userID, ms(time.Now())).Int()
	if err != nil || n == 0 {
		return false, s.leave(op, probe, err)
	}
	// The key no longer works; what follows only tidies, and ListAPIKeys prunes an index
	// entry left behind.
	bg := context.WithoutCancel(ctx)
	err = releaseClaimScript.Run(bg, s.c, []string{claim}, hash).Err()
	if err == nil {
		err = unindexAPIKeysScript.Run(bg, s.c, []string{s.k.userAPIKeys(userID)}, id, hash).Err()
	}
	return n == 1, s.leave(op, probe, err)
}

// TouchAPIKey implements store.APIKeyStore: the claim leads to the record, whose l a
// script moves forward.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	const op = "touch api key"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	hash, err := s.c.Get(ctx, s.k.apiKeyID(id)).Result()
	if errors.Is(err, redis.Nil) {
		s.leave(op, probe, nil)
		return store.ErrNotFound
	}
	if err != nil {
		return s.leave(op, probe, err)
	}
	n, err := touchAPIKeyScript.Run(ctx, s.c, []string{s.k.apiKey([]byte(hash))}, id, ms(at), ms(time.Now())).Int()
	if err = s.leave(op, probe, err); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
