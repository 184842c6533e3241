package authframe

import (
	"context"
	"hash/maphash"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache is a shared validation cache tier behind the in-process LRU (for example the Redis
// one). Keys are derived by the Guard from the whole token and the verifier's
// configuration; values are the Guard's own encoding. A Cache may also implement
// RevocationPublisher, store.RevocationFeed and HealthChecker, and Available() bool, which
// reports false while it knows a call would fail (its circuit breaker is open), so that
// the Guard skips the call and the work of preparing it.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores val for at most ttl.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// RevocationPublisher is an optional ability of a Cache: it tells other instances about a
// revocation made here.
type RevocationPublisher interface {
	PublishRevocation(ctx context.Context, r Revocation) error
}

// cacheEntry is a verified token. p is shared by every hit and never mutated.
type cacheEntry struct {
	p   *Principal
	exp time.Time
	// gen is the revocation generation this entry was last checked against.
	gen atomic.Uint64
}

// lruCache shards golang-lru caches so that hits on many cores do not queue on one lock.
//
// A shard with room takes every verified token. A full shard admits a token only on its
// second miss while a small doorkeeper still remembers the first (the admission policy of
// TinyLFU caches): a stream of tokens seen once (a burst of fresh logins, or someone
// replaying many distinct tokens) neither evicts the tokens in steady use nor pays for an
// eviction on every request.
type lruCache struct {
	seed   maphash.Seed
	shards []*lru.Cache[string, *cacheEntry]
	mask   uint64
	per    int

	door     []atomic.Uint64 // hashes of tokens missed once while their shard was full
	doorMask uint64
}

func newLRUCache(size int) *lruCache {
	n := 1
	for n < 64 && n*1024 < size {
		n <<= 1
	}
	per := size / n
	if per < 1 {
		per = 1
	}
	d := 1024
	for d < size && d < 1<<20 {
		d <<= 1
	}
	c := &lruCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), per: per, door: make([]atomic.Uint64, d), doorMask: uint64(d - 1)}
	for i := 0; i < n; i++ {
		l, _ := lru.New[string, *cacheEntry](per) // only fails for size <= 0
		c.shards = append(c.shards, l)
	}
	return c
}

// hash is a seeded hash of the token's last bytes (a JWT's signature): it picks the shard
// and the doorkeeper slot, so that the whole token is hashed only by the shard's own map.
func (c *lruCache) hash(tok string) uint64 {
	if len(tok) > shardBytes {
		tok = tok[len(tok)-shardBytes:]
	}
	return maphash.String(c.seed, tok)
}

// shardBytes is how much of a token's tail picks its shard.
const shardBytes = 16

func (c *lruCache) get(tok string) (*cacheEntry, bool) {
	return c.shards[c.hash(tok)&c.mask].Get(tok)
}

// add caches e under tok, subject to admission (see lruCache). It keeps its own copy of
// tok: the caller's string may be a view of a request buffer.
func (c *lruCache) add(tok string, e *cacheEntry) {
	h := c.hash(tok)
	s := c.shards[h&c.mask]
	if s.Len() >= c.per && !c.admit(h) {
		return
	}
	s.Add(strings.Clone(tok), e)
}

// admit records a miss of a full shard and reports whether it is the token's second.
func (c *lruCache) admit(h uint64) bool {
	h |= 1 // 0 marks an empty slot
	slot := &c.door[(h>>32)&c.doorMask]
	if slot.Load() == h {
		slot.Store(0)
		return true
	}
	slot.Store(h)
	return false
}

func (c *lruCache) remove(tok string) { c.shards[c.hash(tok)&c.mask].Remove(tok) }

// purge drops everything, for instance after revocations may have been missed.
func (c *lruCache) purge() {
	for _, s := range c.shards {
		s.Purge()
	}
}

func (c *lruCache) len() int {
	n := 0
	for _, s := range c.shards {
		n += s.Len()
	}
	return n
}
