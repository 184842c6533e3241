package authframe

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// cacheEntry is a verified token. p is shared by every hit and never mutated.
type cacheEntry struct {
	// tok is the whole token, this entry's own copy: a lookup hits only when the token
	// presented equals it byte for byte.
	tok string
	p   *Principal
	exp time.Time
	// gen is the revocation generation this entry was last checked against.
	gen atomic.Uint64
	// touched is when an API key's last use was last written (Unix seconds), so that
	// last_used_at is written at most once a minute however often the key is used.
	touched atomic.Int64
}

// lruCache shards golang-lru's LRU so that hits on many cores do not queue on one lock.
// Each shard is a simplelru.LRU behind a plain mutex of its own, padded to a cache line's
// size: lru.Cache would take a sync.RWMutex's write lock for every Get (a hit moves the
// entry to the front), which costs twice a mutex's atomic operations for nothing here.
//
// Each shard is indexed by a seeded 64-bit hash of the token's tail (its signature, see
// hash), computed once per lookup, and an entry answers only the token it holds in full
// (cacheEntry.tok): the index only says where to look, never what matches, so two tokens
// with the same hash can evict each other's entry but never read it. Keying the LRU by the
// token itself would hash all of it (580 bytes for an RS256 token) on every request, on
// top of the comparison that has to read it anyway.
//
// A shard with room takes every verified token. A full shard admits a token only on its
// second miss while a small doorkeeper still remembers the first (the admission policy of
// TinyLFU caches): a stream of tokens seen once (a burst of fresh logins, or someone
// replaying many distinct tokens) neither evicts the tokens in steady use nor pays for an
// eviction on every request.
type lruCache struct {
	seed   maphash.Seed
	shards []lruShard
	mask   uint64
	per    int

	door     []atomic.Uint64 // hashes of tokens missed once while their shard was full
	doorMask uint64
}

type lruShard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[uint64, *cacheEntry]
	_   [64 - 8 - 8]byte // 64 bytes a shard, so that two shards' locks rarely share a cache line
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
	c := &lruCache{seed: maphash.MakeSeed(), shards: make([]lruShard, n), mask: uint64(n - 1), per: per,
		door: make([]atomic.Uint64, d), doorMask: uint64(d - 1)}
	for i := range c.shards {
		c.shards[i].lru, _ = simplelru.NewLRU[uint64, *cacheEntry](per, nil) // only fails for size <= 0
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
	h := c.hash(tok)
	s := &c.shards[h&c.mask]
	s.mu.Lock()
	e, ok := s.lru.Get(h)
	s.mu.Unlock()
	if !ok || e.tok != tok {
		return nil, false
	}
	return e, true
}

// add caches e for tok, subject to admission (see lruCache), replacing whatever entry had
// the same hash. The entry keeps its own copy of tok: the caller's string may be a view of
// a request buffer.
//
// A token refused admission costs no copy; one admitted is copied outside the shard's lock.
func (c *lruCache) add(tok string, e *cacheEntry) {
	h := c.hash(tok)
	s := &c.shards[h&c.mask]
	s.mu.Lock()
	admitted := s.lru.Len() < c.per || s.lru.Contains(h) || c.admit(h)
	s.mu.Unlock()
	if !admitted {
		return
	}
	e.tok = strings.Clone(tok)
	s.mu.Lock()
	s.lru.Add(h, e)
	s.mu.Unlock()
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

// remove drops tok's entry (not another token's with the same hash).
func (c *lruCache) remove(tok string) {
	h := c.hash(tok)
	s := &c.shards[h&c.mask]
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.lru.Peek(h); ok && e.tok == tok {
		s.lru.Remove(h)
	}
}

// purge drops everything, for instance after revocations may have been missed.
func (c *lruCache) purge() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.lru.Purge()
		s.mu.Unlock()
	}
}

func (c *lruCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}
