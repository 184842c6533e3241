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
	// Profile is the in-use bytes per entry that the heap profile attributes to
	// allocations made under Guard.VerifyToken while the first Profiled tokens were
	// verified with every allocation sampled: the Principal, its strings and slices, the
	// cache entry and its copy of the token, and the LRU's own element and map slot.
	Profile  float64 `json:"profile_bytes"`
	Profiled int     `json:"profiled"`
	// Heap is the growth of the live heap per entry over the whole fill, a cross-check
	// that needs no sampling.
	Heap float64 `json:"heap_bytes"`
}

// CachedPrincipalBytes fills a Guard's cache (of cacheSize entries) with the first
// min(d.N, cacheSize) tokens of d, each verified twice so that the cache's admission
// policy lets in those refused by a full shard the first time, and measures the heap.
// Sampling every allocation costs microseconds each, so only the first profiled tokens
// are verified under it.
func CachedPrincipalBytes(ctx context.Context, d *Dataset, cacheSize, profiled int) (PrincipalBytes, error) {
	sub := *d
	sub.N = min(d.N, cacheSize)
	profiled = min(profiled, sub.N)
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
	verify := func(toks []string) error {
		for _, tok := range toks {
			if _, err := g.VerifyToken(tctx, tok); err != nil {
				return fmt.Errorf("fill the cache: %w", err)
			}
		}
		return nil
	}

	before := liveHeap()
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	err = verify(tokens[:profiled])
	runtime.MemProfileRate = old
	if err != nil {
		return PrincipalBytes{}, err
	}
	if err := verify(tokens[profiled:]); err != nil {
		return PrincipalBytes{}, err
	}
	if err := verify(tokens); err != nil {
		return PrincipalBytes{}, err
	}
	after := liveHeap()
	inUse := inUseUnder("(*Guard).VerifyToken")

	// An entry is counted by a hit; the profiled tokens that a full shard evicted since
	// have freed their bytes and are not counted either.
	entries, profiledEntries := 0, 0
	for i, tok := range tokens {
		tier = ""
		if _, err := g.VerifyToken(tctx, tok); err != nil {
			return PrincipalBytes{}, err
		}
		if tier == "lru" {
			entries++
			if i < profiled {
				profiledEntries++
			}
		}
	}
	runtime.KeepAlive(tokens)
	if profiledEntries == 0 {
		return PrincipalBytes{}, fmt.Errorf("the cache holds none of the profiled tokens after the fill")
	}
	return PrincipalBytes{Entries: entries, Profiled: profiledEntries, Profile: float64(inUse) / float64(profiledEntries),
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
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// inUseUnder sums the in-use bytes of the heap profile's records whose stack passes
// through a function whose name contains fn.
func inUseUnder(fn string) int64 {
	// The profile is published a collection cycle or two late; each cycle marks the
	// whole heap, a million users' worth at the largest size.
	for range 2 {
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
