package promql

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseNamesEveryMetric(t *testing.T) {
	cases := []struct {
		q    string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (tier) (rate(a_total{job=~".*", tier!="lru"}[1m])) / (sum by (tier) (rate(a_total[1m])) + sum by (tier) (rate(b_total[1m])))`, []string{"a_total", "a_total", "b_total"}},
		{`histogram_quantile(0.99, sum by (le, tier) (rate(d_seconds_bucket{x='y'}[30s])))`, []string{"d_seconds_bucket"}},
		{`max(g{job=~"$x"}) * 2`, []string{"g"}},
		{`sum(increase(c_total[5m])) by (op)`, []string{"c_total"}},
	}
	for _, c := range cases {
		e, err := Parse(c.q)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := MetricNames(e); !slices.Equal(got, c.want) {
			t.Errorf("%s: names %v, want %v", c.q, got, c.want)
		}
	}
}

func TestParseRefusesWhatItCannotCheck(t *testing.T) {
	for _, q := range []string{
		``,
		`rate(a_total)`,                       // rate needs a range
		`a_total[5m]`,                         // a range outside rate
		`sum without (x) (a)`,                 // without is not supported
		`label_replace(a, "x", "y", "z", "")`, // unsupported function
		`a{x="unterminated}`,
		`a{x~"y"}`,
		`a{x=~"("}`,
		`sum(a`,
		`a b`,
		`rate(a[$__rate_interval])`, // variables must be expanded first
		`histogram_quantile(x, a)`,
	} {
		if _, err := Parse(q); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", q)
		}
	}
}

func TestExpand(t *testing.T) {
	got, err := Expand(`rate(a{job=~"$job"}[$__rate_interval]) ${job}`, Vars{"job": ".*", "__rate_interval": "1m"})
	if err != nil || got != `rate(a{job=~".*"}[1m]) .*` {
		t.Fatalf("Expand = %q, %v", got, err)
	}
	for _, q := range []string{`$nope`, `${job`, `$`} {
		if _, err := Expand(q, Vars{"job": "x"}); err == nil {
			t.Errorf("Expand(%q) succeeded, want an error", q)
		}
	}
}

// series of counters sampled every 10 s over a minute.
func testStore() (*Store, time.Time) {
	s := NewStore()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 7 {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		s.Add(Labels{"__name__": "req_total", "tier": "lru"}, at, float64(i*30))    // 3/s
		s.Add(Labels{"__name__": "req_total", "tier": "verify"}, at, float64(i*10)) // 1/s
		v := float64(i * 20)
		if i >= 4 { // a counter reset between samples 3 and 4
			v = float64((i - 3) * 20)
		}
		s.Add(Labels{"__name__": "miss_total", "tier": "lru"}, at, v) // 2/s
		// A histogram: 10 obs/s, 5 of them ≤ 0.1, all ≤ 1.
		s.Add(Labels{"__name__": "lat_bucket", "le": "0.1"}, at, float64(i*50))
		s.Add(Labels{"__name__": "lat_bucket", "le": "1"}, at, float64(i*100))
		s.Add(Labels{"__name__": "lat_bucket", "le": "+Inf"}, at, float64(i*100))
	}
	return s, t0.Add(time.Minute)
}

func eval(t *testing.T, s *Store, at time.Time, q string) []Element {
	t.Helper()
	e, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Eval(e, s, at)
	if err != nil {
		t.Fatal(err)
	}
	return v.Elements
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEval(t *testing.T) {
	s, at := testStore()
	byTier := func(els []Element) map[string]float64 {
		m := map[string]float64{}
		for _, e := range els {
			m[e.Labels["tier"]] = e.V
		}
		return m
	}
	if m := byTier(eval(t, s, at, `rate(req_total[1m])`)); !near(m["lru"], 3) || !near(m["verify"], 1) {
		t.Errorf("rate = %v, want lru 3 and verify 1", m)
	}
	if m := byTier(eval(t, s, at, `rate(miss_total[1m])`)); !near(m["lru"], 2) {
		t.Errorf("rate across a counter reset = %v, want 2", m)
	}
	if els := eval(t, s, at, `sum(rate(req_total[1m]))`); len(els) != 1 || !near(els[0].V, 4) || len(els[0].Labels) != 0 {
		t.Errorf("sum = %v, want one element of 4 without labels", els)
	}
	if els := eval(t, s, at, `sum(increase(req_total{tier="verify"}[1m]))`); len(els) != 1 || !near(els[0].V, 60) {
		t.Errorf("increase = %v, want 60", els)
	}
	ratio := `sum by (tier) (rate(req_total[1m])) / (sum by (tier) (rate(req_total[1m])) + sum by (tier) (rate(miss_total[1m])))`
	if m := byTier(eval(t, s, at, ratio)); len(m) != 1 || !near(m["lru"], 0.6) {
		t.Errorf("ratio = %v, want only lru at 0.6 (verify has no miss series to match)", m)
	}
	if els := eval(t, s, at, `max(req_total) * 2 - 1`); len(els) != 1 || !near(els[0].V, 359) {
		t.Errorf("arithmetic = %v, want 359", els)
	}
	if els := eval(t, s, at, `req_total{tier!~"l.*"}`); len(els) != 1 || els[0].Labels["tier"] != "verify" {
		t.Errorf("matchers = %v, want only verify", els)
	}
	// Median: rank 5 of 10 per second falls at the top of the first bucket; p90 at rank 9,
	// 4/5 of the way through (0.1, 1].
	for _, c := range []struct {
		q    string
		want float64
	}{{"0.5", 0.1}, {"0.9", 0.1 + 0.9*0.8}} {
		els := eval(t, s, at, `histogram_quantile(`+c.q+`, sum by (le) (rate(lat_bucket[1m])))`)
		if len(els) != 1 || !near(els[0].V, c.want) {
			t.Errorf("histogram_quantile(%s) = %v, want %v", c.q, els, c.want)
		}
	}
	// Past the lookback, an instant selector finds nothing.
	if els := eval(t, s, at.Add(Lookback+time.Minute), `req_total`); len(els) != 0 {
		t.Errorf("stale samples returned: %v", els)
	}
	if s := (Labels{"b": "2", "a": "1", "__name__": "x"}).String(); !strings.Contains(s, `a="1", b="2"`) {
		t.Errorf("Labels.String = %s", s)
	}
}
