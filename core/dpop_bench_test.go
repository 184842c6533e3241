package authframe_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/dpop"
	"github.com/authframe/authframe/core/memstore"
)

// BenchmarkDPoPCached is what DPoP adds to a cached token: Authenticate of a bound token
// already in the LRU, with a fresh proof each time (its signature verified, its jti written
// to the memory store), against Authenticate of a cached bearer token on the same Guard.
// The proofs are signed with the timer stopped, in batches. The floors are the proof's
// verification alone and the replay write alone.
func BenchmarkDPoPCached(b *testing.B) {
	ctx := context.Background()
	ms := memstore.New()
	defer ms.Close()
	g := dpopGuard(b, ms)
	u, err := g.Register(ctx, authframe.ClientInfo{}, "bench-dpop", "password123")
	if err != nil {
		b.Fatal(err)
	}
	plain, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		b.Fatal(err)
	}
	bearer := dpopReq{method: "GET", path: "/api/me", auth: "Bearer " + plain.AccessToken}
	if _, err := g.Authenticate(ctx, bearer); err != nil {
		b.Fatal(err)
	}
	b.Run("bearer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.Authenticate(ctx, bearer); err != nil {
				b.Fatal(err)
			}
		}
	})
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"EdDSA", edKey}, {"ES256", ecKey}} {
		p, err := dpop.NewProver(k.key)
		if err != nil {
			b.Fatal(err)
		}
		pair := boundPair(b, g, u, p)
		at := pair.AccessToken
		const batch = 512
		proofs := make([]string, 0, batch)
		next := func(b *testing.B) string {
			if len(proofs) == 0 {
				b.StopTimer()
				for range batch {
					proofs = append(proofs, proof(b, p, "GET", "/api/me", dpop.WithAccessToken(at)))
				}
				b.StartTimer()
			}
			s := proofs[len(proofs)-1]
			proofs = proofs[:len(proofs)-1]
			return s
		}
		// The token enters the cache.
		if _, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + at, proof: next(b)}); err != nil {
			b.Fatal(err)
		}
		b.Run("dpop/"+k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + at, proof: next(b)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("floor/verify-proof/"+k.name, func(b *testing.B) {
			v, err := dpop.NewVerifier(dpopPublicURL)
			if err != nil {
				b.Fatal(err)
			}
			pr := next(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(pr, dpop.Request{Method: "GET", Path: "/api/me", AccessToken: at}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("floor/replay-write", func(b *testing.B) {
		// Each key is new, as a proof's jti is: its string is built outside the timer's
		// concern only in that it costs one small allocation, as the Guard's own key does.
		until := time.Now().Add(time.Minute)
		prefix := "dpop:bench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if fresh, err := ms.Remember(ctx, prefix+strconv.Itoa(i), until); err != nil || !fresh {
				b.Fatal(fresh, err)
			}
			i++
		}
	})
}
