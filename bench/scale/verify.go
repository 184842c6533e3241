package scale

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
)

// Verification is a Zipf-distributed token workload against a Guard: the latency of the
// calls that missed the in-process cache (first sight: signature, claims, the store's
// session lookup) and of those it answered, and the share it answered.
type Verification struct {
	FirstP50  time.Duration `json:"first_p50_ns"`
	FirstP99  time.Duration `json:"first_p99_ns"`
	CachedP50 time.Duration `json:"cached_p50_ns"`
	CachedP99 time.Duration `json:"cached_p99_ns"`
	HitRatio  float64       `json:"hit_ratio"`
	Calls     int           `json:"calls"`
	// Failed counts the calls refused (warm-up included), which the percentiles leave out.
	Failed int `json:"failed,omitempty"`
}

// WorkloadConfig shapes the verification workload.
type WorkloadConfig struct {
	// Callers run the workload in closed loops. More callers than processors measure the
	// scheduler more than the store: with most calls answered by the cache without ever
	// blocking, a caller whose store call has returned waits for a processor that the
	// others keep busy: on this machine's two processors, the median Redis first sight
	// at 10 000 users (98% hits) took 545 µs with 8 callers and 97 to 117 µs with 2.
	Callers int
	// Warm calls run first and are not recorded, so that the cache holds what the
	// workload keeps asking for; Calls are then recorded.
	Warm, Calls int
	// ZipfS is the exponent of the token popularity (> 1): rank k is asked for in
	// proportion to (k+1)^-ZipfS.
	ZipfS float64
	Seed  uint64
}

type tierKey struct{}

// TierObserver records, for each VerifyToken call whose context carries a *string under
// its key, which tier answered ("lru", "shared" or "verify").
type TierObserver struct{}

// Observe implements audit.Observer.
func (TierObserver) Observe(ctx context.Context, e audit.Event) {
	if ctx == nil || e.Type != audit.TokenValidated {
		return
	}
	if p, ok := ctx.Value(tierKey{}).(*string); ok {
		*p = e.Tier
	}
}

// VerifyWorkload runs cfg against g (built with a TierObserver) over d's tokens.
func VerifyWorkload(ctx context.Context, g *authframe.Guard, d *Dataset, tokens *TokenCache, cfg WorkloadConfig) (Verification, error) {
	type sample struct {
		d   time.Duration
		hit bool
	}
	per := cfg.Calls / cfg.Callers
	warm := cfg.Warm / cfg.Callers
	results := make([][]sample, cfg.Callers)
	errs := make([]error, cfg.Callers)
	failed := make([]int, cfg.Callers)
	var wg sync.WaitGroup
	for w := range cfg.Callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			z := rand.NewZipf(rand.New(rand.NewPCG(cfg.Seed, uint64(w))), cfg.ZipfS, 1, uint64(d.N-1))
			var tier string
			wctx := context.WithValue(ctx, tierKey{}, &tier)
			out := make([]sample, 0, per)
			for i := range warm + per {
				if ctx.Err() != nil {
					errs[w] = ctx.Err()
					failed[w]++
					return
				}
				tok := tokens.Get(int(z.Uint64()))
				tier = ""
				t0 := time.Now()
				_, err := g.VerifyToken(wctx, tok)
				el := time.Since(t0)
				if err != nil {
					failed[w]++
					if errs[w] == nil {
						errs[w] = err
					}
					continue
				}
				if i >= warm {
					out = append(out, sample{el, tier == "lru"})
				}
			}
			results[w] = out
		}()
	}
	wg.Wait()
	var first, cached []time.Duration
	for _, rs := range results {
		for _, s := range rs {
			if s.hit {
				cached = append(cached, s.d)
			} else {
				first = append(first, s.d)
			}
		}
	}
	v := Verification{Calls: len(first) + len(cached)}
	for _, f := range failed {
		v.Failed += f
	}
	// A store that misses its operation timeout under load makes the Guard answer 503:
	// that is a figure to report, not a broken run, unless it is more than the odd call.
	if err := ctx.Err(); err != nil {
		return v, err
	}
	if v.Failed*100 > v.Calls+v.Failed {
		return v, fmt.Errorf("%d verifications failed: %w", v.Failed, errors.Join(errs...))
	}
	if v.Calls > 0 {
		v.HitRatio = float64(len(cached)) / float64(v.Calls)
	}
	v.FirstP50, v.FirstP99 = percentile(first, 0.50), percentile(first, 0.99)
	v.CachedP50, v.CachedP99 = percentile(cached, 0.50), percentile(cached, 0.99)
	return v, nil
}

// percentile is the q-quantile of ds (nearest rank), 0 for none. It sorts ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// TokenCache builds each token of a dataset once, on first use, and keeps the most popular
// ranks (those below Keep) so that the workload spends its time verifying, not signing.
type TokenCache struct {
	d    *Dataset
	keep []string
	mu   []sync.Mutex
}

// NewTokenCache keeps the tokens of ranks below keep.
func NewTokenCache(d *Dataset, keep int) *TokenCache {
	keep = min(keep, d.N)
	return &TokenCache{d: d, keep: make([]string, keep), mu: make([]sync.Mutex, 256)}
}

// Get is token i of the dataset.
func (t *TokenCache) Get(i int) string {
	if i >= len(t.keep) {
		return t.d.Token(i)
	}
	m := &t.mu[i%len(t.mu)]
	m.Lock()
	tok := t.keep[i]
	if tok == "" {
		tok = t.d.Token(i)
		t.keep[i] = tok
	}
	m.Unlock()
	return tok
}
