package promql

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Lookback is how far back an instant selector looks for a series' latest sample, as in
// Prometheus.
const Lookback = 5 * time.Minute

// Labels are a series' labels, the metric name under "__name__".
type Labels map[string]string

// key is a canonical spelling of l without the metric name, for matching.
func (l Labels) key() string {
	names := make([]string, 0, len(l))
	for k := range l {
		if k != "__name__" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}

// String spells l as {a="x", b="y"} without the metric name.
func (l Labels) String() string {
	names := make([]string, 0, len(l))
	for k := range l {
		if k != "__name__" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + strconv.Quote(l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (l Labels) without(names ...string) Labels {
	out := make(Labels, len(l))
	for k, v := range l {
		if !slices.Contains(names, k) {
			out[k] = v
		}
	}
	return out
}

// Sample is one value of a series at a time.
type Sample struct {
	T time.Time
	V float64
}

// Series is a series and its samples in time order.
type Series struct {
	Labels  Labels
	Samples []Sample
}

// Store holds the scraped series.
type Store struct {
	series map[string]*Series
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{series: map[string]*Series{}} }

// Add appends a sample to the series of labels (which must include __name__). Samples of
// one series must be added in time order.
func (s *Store) Add(labels Labels, t time.Time, v float64) {
	k := labels["__name__"] + "\x00" + labels.key()
	sr, ok := s.series[k]
	if !ok {
		sr = &Series{Labels: labels}
		s.series[k] = sr
	}
	sr.Samples = append(sr.Samples, Sample{T: t, V: v})
}

// Element is one series of an instant vector.
type Element struct {
	Labels Labels
	V      float64
}

// Vector is the value of an expression at one time. Scalar is set for a number.
type Vector struct {
	Elements []Element
	Scalar   *float64
}

// Eval evaluates e at time t over the samples of s.
func Eval(e Expr, s *Store, t time.Time) (Vector, error) {
	switch x := e.(type) {
	case Number:
		v := float64(x)
		return Vector{Scalar: &v}, nil
	case *Paren:
		return Eval(x.Expr, s, t)
	case *Selector:
		var out []Element
		for _, sr := range s.matching(x) {
			i := sort.Search(len(sr.Samples), func(i int) bool { return sr.Samples[i].T.After(t) }) - 1
			if i >= 0 && t.Sub(sr.Samples[i].T) < Lookback {
				out = append(out, Element{Labels: sr.Labels, V: sr.Samples[i].V})
			}
		}
		return Vector{Elements: out}, nil
	case *Call:
		return evalCall(x, s, t)
	case *Aggregate:
		in, err := Eval(x.Expr, s, t)
		if err != nil {
			return Vector{}, err
		}
		if in.Scalar != nil {
			return Vector{}, fmt.Errorf("promql: %s of a number", x.Op)
		}
		return aggregate(x, in.Elements), nil
	case *Binary:
		l, err := Eval(x.Left, s, t)
		if err != nil {
			return Vector{}, err
		}
		r, err := Eval(x.Right, s, t)
		if err != nil {
			return Vector{}, err
		}
		return binary(x.Op, l, r), nil
	}
	return Vector{}, fmt.Errorf("promql: cannot evaluate %T", e)
}

func (s *Store) matching(sel *Selector) []*Series {
	var out []*Series
next:
	for _, sr := range s.series {
		if sr.Labels["__name__"] != sel.Name {
			continue
		}
		for _, m := range sel.Matchers {
			if !m.Matches(sr.Labels[m.Label]) {
				continue next
			}
		}
		out = append(out, sr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Labels.key() < out[j].Labels.key() })
	return out
}

func evalCall(c *Call, s *Store, t time.Time) (Vector, error) {
	switch c.Func {
	case "rate", "increase":
		sel := c.Args[0].(*Selector)
		var out []Element
		for _, sr := range s.matching(sel) {
			lo := sort.Search(len(sr.Samples), func(i int) bool { return !sr.Samples[i].T.Before(t.Add(-sel.Range)) })
			hi := sort.Search(len(sr.Samples), func(i int) bool { return sr.Samples[i].T.After(t) })
			win := sr.Samples[lo:hi]
			if len(win) < 2 {
				continue
			}
			delta := 0.0
			for i := 1; i < len(win); i++ {
				if win[i].V < win[i-1].V { // a counter reset: it restarted from zero
					delta += win[i].V
				} else {
					delta += win[i].V - win[i-1].V
				}
			}
			rate := delta / win[len(win)-1].T.Sub(win[0].T).Seconds()
			v := rate
			if c.Func == "increase" {
				v = rate * sel.Range.Seconds()
			}
			out = append(out, Element{Labels: sr.Labels.without("__name__"), V: v})
		}
		return Vector{Elements: out}, nil
	case "histogram_quantile":
		q := float64(c.Args[0].(Number))
		in, err := Eval(c.Args[1], s, t)
		if err != nil {
			return Vector{}, err
		}
		return Vector{Elements: quantiles(q, in.Elements)}, nil
	}
	return Vector{}, fmt.Errorf("promql: function %s is not supported", c.Func)
}

func aggregate(a *Aggregate, in []Element) Vector {
	type group struct {
		labels Labels
		sum    float64
		min    float64
		max    float64
		n      int
	}
	groups := map[string]*group{}
	var order []string
	for _, e := range in {
		l := Labels{}
		for _, name := range a.By {
			if v, ok := e.Labels[name]; ok {
				l[name] = v
			}
		}
		k := l.key()
		g, ok := groups[k]
		if !ok {
			g = &group{labels: l, min: math.Inf(1), max: math.Inf(-1)}
			groups[k] = g
			order = append(order, k)
		}
		g.sum += e.V
		g.min = math.Min(g.min, e.V)
		g.max = math.Max(g.max, e.V)
		g.n++
	}
	sort.Strings(order)
	out := make([]Element, 0, len(order))
	for _, k := range order {
		g := groups[k]
		v := g.sum
		switch a.Op {
		case "avg":
			v = g.sum / float64(g.n)
		case "min":
			v = g.min
		case "max":
			v = g.max
		}
		out = append(out, Element{Labels: g.labels, V: v})
	}
	return Vector{Elements: out}
}

func arith(op byte, a, b float64) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	}
	return a / b
}

// binary applies op between two vectors matched one-to-one on all their labels (the
// metric name aside), or between a vector and a number.
func binary(op byte, l, r Vector) Vector {
	switch {
	case l.Scalar != nil && r.Scalar != nil:
		v := arith(op, *l.Scalar, *r.Scalar)
		return Vector{Scalar: &v}
	case l.Scalar != nil:
		out := make([]Element, len(r.Elements))
		for i, e := range r.Elements {
			out[i] = Element{Labels: e.Labels.without("__name__"), V: arith(op, *l.Scalar, e.V)}
		}
		return Vector{Elements: out}
	case r.Scalar != nil:
		out := make([]Element, len(l.Elements))
		for i, e := range l.Elements {
			out[i] = Element{Labels: e.Labels.without("__name__"), V: arith(op, e.V, *r.Scalar)}
		}
		return Vector{Elements: out}
	}
	right := make(map[string]float64, len(r.Elements))
	for _, e := range r.Elements {
		right[e.Labels.key()] = e.V
	}
	var out []Element
	for _, e := range l.Elements {
		if v, ok := right[e.Labels.key()]; ok {
			out = append(out, Element{Labels: e.Labels.without("__name__"), V: arith(op, e.V, v)})
		}
	}
	return Vector{Elements: out}
}

// quantiles is histogram_quantile over cumulative buckets labelled le, grouped by their
// other labels, interpolating linearly inside the bucket as Prometheus does.
func quantiles(q float64, in []Element) []Element {
	type bucket struct{ le, count float64 }
	groups := map[string][]bucket{}
	labels := map[string]Labels{}
	for _, e := range in {
		le, err := strconv.ParseFloat(e.Labels["le"], 64)
		if err != nil {
			continue
		}
		l := e.Labels.without("le", "__name__")
		k := l.key()
		groups[k] = append(groups[k], bucket{le, e.V})
		labels[k] = l
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Element
	for _, k := range keys {
		bs := groups[k]
		sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
		for i := 1; i < len(bs); i++ { // rates of cumulative counts can dip by rounding
			bs[i].count = math.Max(bs[i].count, bs[i-1].count)
		}
		v := math.NaN()
		if n := len(bs); n >= 2 && math.IsInf(bs[n-1].le, 1) && bs[n-1].count > 0 && q >= 0 && q <= 1 {
			rank := q * bs[n-1].count
			i := sort.Search(n, func(i int) bool { return bs[i].count >= rank })
			switch {
			case i == n-1:
				v = bs[n-2].le
			case i == 0:
				lower := 0.0
				if bs[0].le <= 0 {
					lower = bs[0].le
				}
				v = lower + (bs[0].le-lower)*rank/bs[0].count
			default:
				lo, hi := bs[i-1], bs[i]
				v = lo.le + (hi.le-lo.le)*(rank-lo.count)/(hi.count-lo.count)
			}
		}
		out = append(out, Element{Labels: labels[k], V: v})
	}
	return out
}
