package scale

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/authframe/authframe/core/store"
)

// PrincipalBytes is what one verified token costs the in-process cache, measured on the
// heap of a Guard whose cache was filled with Entries tokens.
type PrincipalBytes struct {
	Entries int `json:"entries"`
	// Profile is the in-use bytes per entry that the heap profile (every allocation
	// sampled) attributes to allocations made under Guard.VerifyToken: the Principal,
	// its strings and slices, the cache entry and its copy of the token, and the LRU's
	// own element.
	Profile float64 `json:"profile_bytes"`
	// Heap is the growth of the live heap per entry, as a cross-check.
	Heap float64 `json:"heap_bytes"`
}

// CachedPrincipalBytes fills a Guard's cache (of cacheSize entries) with the first
// min(d.N, cacheSize) tokens of d, each verified twice so that the cache's admission
// policy lets in those refused by a full shard the first time, and measures the heap.
func CachedPrincipalBytes(ctx context.Context, d *Dataset, cacheSize int) (PrincipalBytes, error) {
	sub := *d
	sub.N = min(d.N, cacheSize)
	st := NewMemoryStore(nil)
	defer st.Close()
	if err := seedSessions(ctx, st, &sub); err != nil {
		return PrincipalBytes{}, err
	}
	g, err := NewGuard(st, d.Secret, cacheSize, TierObserver{})
	if err != nil {
		return PrincipalBytes{}, err
	}
	defer g.Close()
	tokens := make([]string, sub.N)
	for i := range tokens {
		tokens[i] = sub.Token(i)
	}
	var tier string
	tctx := context.WithValue(ctx, tierKey{}, &tier)

	before := liveHeap()
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	for range 2 {
		for _, tok := range tokens {
			if _, err := g.VerifyToken(tctx, tok); err != nil {
				runtime.MemProfileRate = old
				return PrincipalBytes{}, fmt.Errorf("fill the cache: %w", err)
			}
		}
	}
	after := liveHeap()
	profiled := inUseUnder("(*Guard).VerifyToken")
	runtime.MemProfileRate = old

	entries := 0
	for _, tok := range tokens {
		tier = ""
		if _, err := g.VerifyToken(tctx, tok); err != nil {
			return PrincipalBytes{}, err
		}
		if tier == "lru" {
			entries++
		}
	}
	runtime.KeepAlive(tokens)
	if entries == 0 {
		return PrincipalBytes{}, fmt.Errorf("the cache holds nothing after the fill")
	}
	return PrincipalBytes{Entries: entries, Profile: float64(profiled) / float64(entries),
		Heap: float64(after-before) / float64(entries)}, nil
}

// seedSessions stores d's sessions only: all a token verification reads.
func seedSessions(ctx context.Context, st store.Store, d *Dataset) error {
	for i := range d.N {
		if err := st.CreateSession(ctx, d.Session(i)); err != nil {
			return err
		}
	}
	return nil
}

// liveHeap is the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// inUseUnder sums the in-use bytes of the heap profile's records whose stack passes
// through a function whose name contains fn.
func inUseUnder(fn string) int64 {
	// The profile is published a collection cycle late.
	for range 3 {
		runtime.GC()
	}
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+256)
	}
	var total int64
	for i := range recs {
		r := &recs[i]
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if strings.Contains(f.Function, fn) {
				total += r.InUseBytes()
				break
			}
			if !more {
				break
			}
		}
	}
	return total
}
