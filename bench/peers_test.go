package bench_test

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/bench"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
)

// fixtures are generated once per test binary and shared by tests and benchmarks; pools
// are grown on demand (benchmarks need bench.PoolSize tokens, tests far fewer).
var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*bench.Fixture{}
)

func fixture(tb testing.TB, alg string, poolSize int) *bench.Fixture {
	tb.Helper()
	poolSize = max(poolSize, 8)
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f, ok := fixtures[alg]; ok && len(f.Pool) >= poolSize {
		return f
	}
	f, err := bench.NewFixture(alg, poolSize)
	if err != nil {
		tb.Fatal(err)
	}
	fixtures[alg] = f
	return f
}

func bearer(tok string) string { return "Bearer " + tok }

const okBody = "ok " + bench.Subject

// rejected is a token every contender must refuse, and why.
type rejected struct {
	name  string
	token string
}

// rejections builds, for f's algorithm, one token per check the contenders must all make.
func rejections(t *testing.T, f *bench.Fixture) []rejected {
	t.Helper()
	sign := func(k *bench.Keys, c bench.TokenClaims) string {
		tok, err := k.Token(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := bench.ValidClaims("neg")
	wrongIss, wrongAud, expired, noExp := valid, valid, valid, valid
	wrongIss.Issuer = "https://other.test"
	wrongAud.Audience = "api://other"
	expired.Expires = time.Now().Add(-time.Hour)
	noExp.NoExpiry = true

	// A token of another algorithm: for HMAC an RS256 token, for the public-key
	// algorithms the classic confusion, HS256 keyed with the public key's PEM.
	var otherAlg string
	if f.Alg == "HS256" {
		otherAlg = sign(fixture(t, "RS256", 0).Keys, valid)
	} else {
		hs := &bench.Keys{Alg: "HS256", Method: jwt.SigningMethodHS256, Sign: f.PublicPEM}
		otherAlg = sign(hs, valid)
	}
	return []rejected{
		{"bad signature", bearer(f.Invalid)},
		{"wrong issuer", bearer(sign(f.Keys, wrongIss))},
		{"wrong audience", bearer(sign(f.Keys, wrongAud))},
		{"expired", bearer(sign(f.Keys, expired))},
		{"no exp", bearer(sign(f.Keys, noExp))},
		{"other alg", bearer(otherAlg)},
		{"no token", ""},
	}
}

// statusExceptions are the refusals a peer answers with 400 instead of 401, by its own
// design: gin-jwt treats a token without exp as a bad request, and Auth0's middleware and
// Fiber's jwt a request without a token.
var statusExceptions = map[[2]string]int{
	{"auth0", "no token"}:     400,
	{"gin-jwt", "no exp"}:     400,
	{"fiber-jwt", "no token"}: 400,
}

// TestMatrix checks every cell of the benchmark matrix: each contender accepts the valid
// token (twice, the second time from authframe's cache), answers the handler's body with
// the subject, and refuses the corrupted signature with 401 and every other bad token
// without reaching the handler.
func TestMatrix(t *testing.T) {
	for _, alg := range bench.Algs {
		f := fixture(t, alg, 8)
		bad := rejections(t, f)
		for _, fw := range bench.Frameworks {
			for _, mw := range fw.Middlewares {
				t.Run(alg+"/"+mw.Name, func(t *testing.T) {
					s, err := mw.New(f.Keys, bench.Options{})
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					for i, tok := range []string{f.Valid, f.Valid, f.Pool[0]} {
						if code, body := s.Do(bearer(tok)); code != 200 || body != okBody {
							t.Fatalf("valid token %d: %d %q", i, code, body)
						}
					}
					for _, r := range bad {
						want := 401
						if c, ok := statusExceptions[[2]string{mw.Name, r.name}]; ok {
							want = c
						}
						code, body := s.Do(r.token)
						if code != want || strings.HasPrefix(body, "ok") {
							t.Errorf("%s: %d %q, want %d", r.name, code, body, want)
						}
					}
				})
			}
		}
	}
}

// TestBare checks the baselines answer like the guarded servers.
func TestBare(t *testing.T) {
	for _, fw := range bench.Frameworks {
		s := fw.Bare()
		if code, body := s.Do(""); code != 200 || body != okBody {
			t.Errorf("%s: %d %q", fw.Name, code, body)
		}
	}
}

// TestFirstSeenMissesCache proves the FirstSeen case of authframe is a cache miss on
// every request: with the benchmark's cache size and pool size, cycling through the pool
// twice never hits the in-process cache (every validation is tier "verify"), while a
// repeated token is served from it (tier "lru").
func TestFirstSeenMissesCache(t *testing.T) {
	f := fixture(t, "HS256", bench.PoolSize+bench.FirstSeenCacheSize)
	var mu sync.Mutex
	tiers := map[string]int{}
	obs := audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.TokenValidated {
			mu.Lock()
			tiers[e.Result+"/"+e.Tier]++
			mu.Unlock()
		}
	})
	g, err := bench.NewGuard(f.Keys, bench.Options{CacheSize: bench.FirstSeenCacheSize, Prefill: f.Prefill()}, authframe.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	clear(tiers) // the prefill
	for range 2 {
		for _, tok := range f.Pool[:bench.PoolSize] {
			if _, err := g.VerifyToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := map[string]int{"ok/verify": 2 * bench.PoolSize}; !maps.Equal(tiers, want) {
		t.Fatalf("FirstSeen tiers %v, want %v", tiers, want)
	}

	clear(tiers)
	for range 3 {
		if _, err := g.VerifyToken(ctx, f.Valid); err != nil {
			t.Fatal(err)
		}
	}
	// The cache is full, so a token in steady use is admitted on its second miss and
	// served from the cache from then on (the Repeated case's Guard has room and caches
	// it at once).
	if want := map[string]int{"ok/verify": 2, "ok/lru": 1}; !maps.Equal(tiers, want) {
		t.Fatalf("Repeated tiers %v, want %v", tiers, want)
	}
}

// TestCorruptSignature checks the corrupted token differs only in its signature and still
// has a signature of the right length.
func TestCorruptSignature(t *testing.T) {
	for _, alg := range bench.Algs {
		f := fixture(t, alg, 0)
		i := strings.LastIndexByte(f.Valid, '.')
		if f.Invalid == f.Valid || f.Invalid[:i] != f.Valid[:i] || len(f.Invalid) != len(f.Valid) {
			t.Errorf("%s: bad corruption", alg)
		}
	}
}
