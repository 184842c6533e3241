package memstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// rotationSessions is the number of sessions the rotation benchmarks spread their
// rotations over, as many as the scale cells' dataset; a run of a million rotations takes
// each family past store.SpentRefreshKept spent tokens, as a long-lived session's.
const rotationSessions = 100_000

// rotationBlock is the sessions of one goroutine of the benchmark: at most eight
// goroutines, so that no two rotate the same family at once.
const rotationBlock = rotationSessions / 8

func rotationHash(k, gen int) []byte {
	h := make([]byte, 32)
	copy(h, "bench-refresh-token")
	binary.BigEndian.PutUint32(h[20:], uint32(k))
	binary.BigEndian.PutUint64(h[24:], uint64(gen))
	return h
}

// rawFamilies is the baseline of the rotation benchmarks: the map writes a rotation needs
// (the spend, the new token, the touch) under one Mutex, as plain Go would do them,
// without reuse detection or a bound on the family.
type rawFamilies struct {
	mu       sync.Mutex
	sessions map[string]*rawFamily
}

type rawFamily struct {
	s       store.Session
	refresh map[string]bool
}

func (r *rawFamilies) rotate(id string, oldHash, newHash []byte, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.sessions[id]
	if !ok || !e.s.Live(now) {
		return store.ErrNotFound
	}
	if spent, ok := e.refresh[string(oldHash)]; !ok || spent {
		return store.ErrNotFound
	}
	e.refresh[string(oldHash)] = true
	e.refresh[string(newHash)] = false
	e.s.LastSeenAt = now
	return nil
}

// BenchmarkRotateRefreshToken sets the rotation beside the raw map writes, one caller
// and then one per processor. Each caller rotates sessions of its own.
func BenchmarkRotateRefreshToken(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	st := memstore.New(memstore.WithCleanupInterval(0))
	defer st.Close()
	raw := &rawFamilies{sessions: map[string]*rawFamily{}}
	ids := make([]string, rotationSessions)
	for k := range ids {
		ids[k] = fmt.Sprintf("bench-session-%06d", k)
		se := store.Session{ID: ids[k], UserID: "u", Username: "bench", Roles: []string{"member"}, Kind: "token",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)}
		if err := st.CreateSession(ctx, se); err != nil {
			b.Fatal(err)
		}
		if err := st.AddRefreshToken(ctx, store.RefreshToken{SessionID: ids[k], Hash: rotationHash(k, 0), CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		raw.sessions[ids[k]] = &rawFamily{s: se, refresh: map[string]bool{string(rotationHash(k, 0)): false}}
	}
	// The live generation of each session, for each side, across runs.
	gens := map[string][]atomic.Int64{"raw": make([]atomic.Int64, rotationSessions), "store": make([]atomic.Int64, rotationSessions)}
	sides := []struct {
		name   string
		rotate func(k int, old, new []byte) error
	}{
		{"raw map writes under Mutex", func(k int, old, new []byte) error { return raw.rotate(ids[k], old, new, time.Now()) }},
		{"RotateRefreshToken", func(k int, old, new []byte) error {
			_, err := st.RotateRefreshToken(ctx, ids[k], old, new, time.Now())
			return err
		}},
	}
	for _, side := range sides {
		g := gens["store"]
		if side.name != "RotateRefreshToken" {
			g = gens["raw"]
		}
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				block := int(next.Add(1)-1) % 8 * rotationBlock
				i := 0
				for pb.Next() {
					k := block + i%rotationBlock
					i++
					gen := int(g[k].Load())
					if err := side.rotate(k, rotationHash(k, gen), rotationHash(k, gen+1)); err != nil {
						b.Error(err)
						return
					}
					g[k].Store(int64(gen + 1))
				}
			})
		})
	}
}

// BenchmarkGetAPIKeyByHash is a key's first sight: the lookup by the hash of the key
// presented, among 10 000 keys.
func BenchmarkGetAPIKeyByHash(b *testing.B) {
	ctx := context.Background()
	st := memstore.New(memstore.WithCleanupInterval(0))
	defer st.Close()
	now := time.Now()
	hashes := make([][]byte, 10_000)
	for i := range hashes {
		hashes[i] = []byte(fmt.Sprintf("api-key-hash-%027d", i))
		if err := st.CreateAPIKey(ctx, store.APIKey{ID: fmt.Sprint("key_", i), UserID: "u", Username: "alice", Name: "ci",
			Permissions: []string{"read:reports"}, Hash: hashes[i], CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, err := st.GetAPIKeyByHash(ctx, hashes[i%len(hashes)]); !ok || err != nil {
			b.Fatal(ok, err)
		}
		i++
	}
}
