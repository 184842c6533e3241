package authprom

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authframe/authframe/core/audit"
)

// validationMetrics holds what is touched on every request: the validation counts and
// their latency. It keeps plain atomics and builds the metrics at scrape time, because
// this is the cost every cached validation pays:
//
//   - a validation is one atomic add, and the cache hit and miss counts are derived from
//     the validation counts by tier when scraped, instead of being counted again;
//   - a latency observation is two atomic adds (its bucket, and the sum in integer
//     nanoseconds), where a prometheus.Histogram takes four and a compare-and-swap loop
//     on a float for the sum; the count is the sum of the buckets.
type validationMetrics struct {
	counts     [numResults][numTiers]atomic.Uint64
	latency    [numTiers]latencyHistogram
	bounds     []float64
	sharedTier bool

	validationsDesc *prometheus.Desc
	durationDesc    *prometheus.Desc
	hitsDesc        *prometheus.Desc
	missesDesc      *prometheus.Desc
}

type latencyHistogram struct {
	// buckets[i] counts observations in (bounds[i-1], bounds[i]]; the last one those
	// above every bound.
	buckets []atomic.Uint64
	sumNs   atomic.Int64
}

func newValidationMetrics(cfg config) *validationMetrics {
	cl := cfg.constLabels
	v := &validationMetrics{
		bounds:     cfg.buckets,
		sharedTier: cfg.sharedTier,
		validationsDesc: prometheus.NewDesc("authframe_validations_total",
			"Bearer token and session validations by result and by the tier that answered.", []string{"result", "tier"}, cl),
		durationDesc: prometheus.NewDesc("authframe_validation_duration_seconds",
			"Latency of bearer token and session validations by the tier that answered (in-process lru answers are not timed and count as zero).", []string{"tier"}, cl),
		hitsDesc: prometheus.NewDesc("authframe_cache_hits_total",
			"Validations answered by a cache tier.", []string{"tier"}, cl),
		missesDesc: prometheus.NewDesc("authframe_cache_misses_total",
			"Validations a cache tier could not answer.", []string{"tier"}, cl),
	}
	for t := range v.latency {
		v.latency[t].buckets = make([]atomic.Uint64, len(cfg.buckets)+1)
	}
	return v
}

func (v *validationMetrics) observe(e audit.Event) {
	t := tierOf(e.Tier)
	v.counts[resultOf(e.Result)][t].Add(1)
	if t == tierNone {
		return
	}
	d := e.Duration
	if d < 0 {
		d = 0
	}
	h := &v.latency[t]
	s := d.Seconds()
	i := 0
	for i < len(v.bounds) && s > v.bounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNs.Add(int64(d))
}

func (v *validationMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- v.validationsDesc
	ch <- v.durationDesc
	ch <- v.hitsDesc
	ch <- v.missesDesc
}

func (v *validationMetrics) Collect(ch chan<- prometheus.Metric) {
	var byTier [numTiers]uint64
	for r := range numResults {
		for t := range numTiers {
			n := v.counts[r][t].Load()
			byTier[t] += n
			ch <- prometheus.MustNewConstMetric(v.validationsDesc, prometheus.CounterValue, float64(n), resultNames[r], tierNames[t])
		}
	}
	// Every validation that reached a tier behind the LRU was an LRU miss; every full
	// verification was also a miss of the shared tier, when there is one.
	sharedMisses := uint64(0)
	if v.sharedTier {
		sharedMisses = byTier[tierVerify]
	}
	ch <- prometheus.MustNewConstMetric(v.hitsDesc, prometheus.CounterValue, float64(byTier[tierLRU]), "lru")
	ch <- prometheus.MustNewConstMetric(v.hitsDesc, prometheus.CounterValue, float64(byTier[tierShared]), "shared")
	ch <- prometheus.MustNewConstMetric(v.missesDesc, prometheus.CounterValue, float64(byTier[tierShared]+byTier[tierVerify]), "lru")
	ch <- prometheus.MustNewConstMetric(v.missesDesc, prometheus.CounterValue, float64(sharedMisses), "shared")

	for t := range numTiers {
		if t == tierNone {
			continue
		}
		h := &v.latency[t]
		buckets := make(map[float64]uint64, len(v.bounds))
		var cum uint64
		for i, b := range v.bounds {
			cum += h.buckets[i].Load()
			buckets[b] = cum
		}
		count := cum + h.buckets[len(v.bounds)].Load()
		sum := time.Duration(h.sumNs.Load()).Seconds()
		ch <- prometheus.MustNewConstHistogram(v.durationDesc, count, sum, buckets, tierNames[t])
	}
}
