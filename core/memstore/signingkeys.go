package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/authframe/authframe/core/store"
)

var _ store.KeyStore = (*Store)(nil)

// keyRing is the memory store's signing-key ring and rotation lock.
type keyRing struct {
	mu      sync.Mutex
	keys    []store.SigningKey
	version int64
	owner   string
	until   time.Time
}

func cloneSigningKeys(ks []store.SigningKey) []store.SigningKey {
	out := make([]store.SigningKey, len(ks))
	for i, k := range ks {
		k.Sealed = bytes.Clone(k.Sealed)
		out[i] = k
	}
	return out
}

// SigningKeys implements store.KeyStore.
func (s *Store) SigningKeys(context.Context) ([]store.SigningKey, int64, error) {
	s.ring.mu.Lock()
	defer s.ring.mu.Unlock()
	return cloneSigningKeys(s.ring.keys), s.ring.version, nil
}

// PutSigningKeys implements store.KeyStore.
func (s *Store) PutSigningKeys(_ context.Context, keys []store.SigningKey, version int64) (int64, error) {
	if err := store.ValidateSigningKeys(keys); err != nil {
		return 0, err
	}
	out := cloneSigningKeys(keys)
	slices.SortStableFunc(out, compareSigningKeys)
	s.ring.mu.Lock()
	defer s.ring.mu.Unlock()
	if s.ring.version != version {
		return 0, store.ErrConflict
	}
	s.ring.keys = out
	s.ring.version++
	return s.ring.version, nil
}

// AcquireKeyLock implements store.KeyStore, with the store's clock.
func (s *Store) AcquireKeyLock(_ context.Context, owner string, ttl time.Duration) (bool, error) {
	now := s.now()
	s.ring.mu.Lock()
	defer s.ring.mu.Unlock()
	if s.ring.owner != "" && s.ring.owner != owner && now.Before(s.ring.until) {
		return false, nil
	}
	s.ring.owner, s.ring.until = owner, now.Add(ttl)
	return true, nil
}

// ReleaseKeyLock implements store.KeyStore.
func (s *Store) ReleaseKeyLock(_ context.Context, owner string) error {
	s.ring.mu.Lock()
	defer s.ring.mu.Unlock()
	if s.ring.owner == owner {
		s.ring.owner, s.ring.until = "", time.Time{}
	}
	return nil
}

// compareSigningKeys orders a ring oldest first, as every store returns it.
func compareSigningKeys(a, b store.SigningKey) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}
