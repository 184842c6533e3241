package scale

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/store"
)

// OpAPIKeyLookup is the first sight of an API key on an instance: its record found by the
// hash of the presented key (after that, the Guard answers from its in-process cache).
const OpAPIKeyLookup = "api-key-lookup"

// APIKeyCount is how many keys the API key cells seed and spread their lookups over.
const APIKeyCount = 10_000

// apiKeyHashes seeds APIKeyCount keys into st (an APIKeyStore) and returns their hashes.
func apiKeyHashes(ctx context.Context, st store.Store, d *Dataset) ([][]byte, error) {
	ks, ok := store.As[store.APIKeyStore](st)
	if !ok {
		return nil, fmt.Errorf("the store keeps no API keys")
	}
	hashes := make([][]byte, APIKeyCount)
	now := time.Now()
	err := parallel(16, APIKeyCount, func(i int) error {
		h := credential.Hash("afk_scale_" + strconv.Itoa(i) + "_" + d.SessionID(i%d.N))
		hashes[i] = h
		return ks.CreateAPIKey(ctx, store.APIKey{ID: "key_scale_" + strconv.Itoa(i), UserID: d.UserID(i % d.N), Username: d.Username(i % d.N),
			Name: "scale", Permissions: []string{"read:reports"}, Hash: h, CreatedAt: now})
	})
	if err != nil {
		return nil, fmt.Errorf("seed API keys: %w", err)
	}
	return hashes, nil
}

func lookupKey(ks store.APIKeyStore, hashes [][]byte, pick func(w, i int) int) Op {
	return func(ctx context.Context, w, i int) error {
		_, ok, err := ks.GetAPIKeyByHash(ctx, hashes[pick(w, i)])
		return found(ok, err)
	}
}

// MemoryAPIKeyBenches: the memory store's lookup beside a map read under an RWMutex.
func MemoryAPIKeyBenches(ctx context.Context, st store.Store, d *Dataset) ([]Bench, error) {
	hashes, err := apiKeyHashes(ctx, st, d)
	if err != nil {
		return nil, err
	}
	ks, _ := store.As[store.APIKeyStore](st)
	var mu sync.RWMutex
	raw := make(map[string]store.APIKey, len(hashes))
	for i, h := range hashes {
		raw[string(h)] = store.APIKey{ID: "key_scale_" + strconv.Itoa(i), Hash: h}
	}
	pick := picker(len(hashes))
	return []Bench{{Store: "memory", Op: OpAPIKeyLookup, RawOp: "map read under RWMutex", Prepare: func(int) (Op, Op) {
		return lookupKey(ks, hashes, pick), func(_ context.Context, w, i int) error {
			mu.RLock()
			k, ok := raw[string(hashes[pick(w, i)])]
			mu.RUnlock()
			if !ok || !k.Live(time.Now()) {
				return errNotFound
			}
			return nil
		}
	}}}, nil
}

// RedisAPIKeyBenches: the Redis store's lookup (one HGETALL of the record named by the
// hash) beside a bare HGETALL of the same record.
func RedisAPIKeyBenches(ctx context.Context, st store.Store, c redis.UniversalClient, prefix string, d *Dataset) ([]Bench, error) {
	hashes, err := apiKeyHashes(ctx, st, d)
	if err != nil {
		return nil, err
	}
	ks, _ := store.As[store.APIKeyStore](st)
	records := make([]string, len(hashes))
	for i, h := range hashes {
		records[i] = prefix + "apikey:" + hex.EncodeToString(h)
	}
	pick := picker(len(hashes))
	return []Bench{{Store: "redis", Op: OpAPIKeyLookup, RawOp: "HGETALL of the record", Prepare: func(int) (Op, Op) {
		return lookupKey(ks, hashes, pick), func(ctx context.Context, w, i int) error {
			m, err := c.HGetAll(ctx, records[pick(w, i)]).Result()
			if err == nil && len(m) == 0 {
				return errNotFound
			}
			return err
		}
	}}}, nil
}

// PostgresAPIKeyBenches: the PostgreSQL store's lookup beside the bare SELECT by the unique
// hash.
func PostgresAPIKeyBenches(ctx context.Context, st store.Store, pool *pgxpool.Pool, schema, prefix string, d *Dataset) ([]Bench, error) {
	hashes, err := apiKeyHashes(ctx, st, d)
	if err != nil {
		return nil, err
	}
	ks, _ := store.As[store.APIKeyStore](st)
	q := "SELECT id, user_id, name, permissions, hash, created_at, expires_at, last_used_at, username FROM " +
		pgx.Identifier{schema, prefix + "api_keys"}.Sanitize() + " WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
	pick := picker(len(hashes))
	return []Bench{{Store: "postgres", Op: OpAPIKeyLookup, RawOp: "SELECT by unique hash", Prepare: func(int) (Op, Op) {
		return lookupKey(ks, hashes, pick), func(ctx context.Context, w, i int) error {
			var k store.APIKey
			var exp, last *time.Time
			return pool.QueryRow(ctx, q, hashes[pick(w, i)], time.Now()).Scan(&k.ID, &k.UserID, &k.Name, &k.Permissions, &k.Hash, &k.CreatedAt, &exp, &last, &k.Username)
		}
	}}}, nil
}
