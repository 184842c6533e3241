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
// RevocationPublisher, store.RevocationFeed and HealthChecker.
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
type lruCache struct {
	seed   maphash.Seed
	shards []*lru.Cache[string, *cacheEntry]
	mask   uint64
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
	c := &lruCache{seed: maphash.MakeSeed(), mask: uint64(n - 1)}
	for i := 0; i < n; i++ {
		l, _ := lru.New[string, *cacheEntry](per) // only fails for size <= 0
		c.shards = append(c.shards, l)
	}
	return c
}

// shard picks a shard from the token's last bytes (a JWT's signature), so that the whole
// token is hashed once, by the shard's own map, rather than twice.
func (c *lruCache) shard(tok string) *lru.Cache[string, *cacheEntry] {
	if len(tok) > shardBytes {
		tok = tok[len(tok)-shardBytes:]
	}
	return c.shards[maphash.String(c.seed, tok)&c.mask]
}

// shardBytes is how much of a token's tail picks its shard.
const shardBytes = 16

func (c *lruCache) get(tok string) (*cacheEntry, bool) { return c.shard(tok).Get(tok) }

// add keeps its own copy of tok: the caller's string may be a view of a request buffer.
func (c *lruCache) add(tok string, e *cacheEntry) {
	c.shard(tok).Add(strings.Clone(tok), e)
}

func (c *lruCache) remove(tok string) { c.shard(tok).Remove(tok) }

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
