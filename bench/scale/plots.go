package scale

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette is one colour per series, told apart in print and by most colour-blind readers
// (Okabe and Ito's).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},
	color.RGBA{213, 94, 0, 255},
	color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255},
	color.RGBA{86, 180, 233, 255},
	color.RGBA{230, 159, 0, 255},
	color.RGBA{0, 0, 0, 255},
}

// Charts draws every chart of r into dir as SVG and returns the files written: one
// throughput-against-concurrency chart per store, and the figures against the number of
// users.
func Charts(r *Results, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	save := func(p *plot.Plot, name string) error {
		f := filepath.Join(dir, name)
		if err := p.Save(20*vg.Centimeter, 12*vg.Centimeter, f); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, f)
		return nil
	}
	for _, st := range []string{Memory, Redis, Postgres, RedisCache} {
		p, ok, err := throughputChart(r, st)
		if err != nil {
			return files, err
		}
		if ok {
			if err := save(p, "throughput-"+st+".svg"); err != nil {
				return files, err
			}
		}
	}
	if len(r.Sizes) == 0 {
		return files, nil
	}
	for _, c := range []struct {
		name string
		draw func(*Results) (*plot.Plot, error)
	}{
		{"latency-by-size.svg", latencyChart},
		{"hit-ratio-by-size.svg", hitRatioChart},
		{"bytes-by-size.svg", bytesChart},
		{"cleanup-by-size.svg", cleanupChart},
	} {
		p, err := c.draw(r)
		if err != nil {
			return files, fmt.Errorf("%s: %w", c.name, err)
		}
		if err := save(p, c.name); err != nil {
			return files, err
		}
	}
	return files, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// logAxis puts a on a logarithmic scale with ticks at the powers of ten.
func logAxis(a *plot.Axis) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = plot.LogTicks{Prec: -1}
}

// addLine adds a series in colour i, dashed when raw, with points, and a legend entry
// unless label is empty.
func addLine(p *plot.Plot, label string, i int, dashed bool, pts plotter.XYs) error {
	if len(pts) == 0 {
		return nil
	}
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	col := palette[i%len(palette)]
	l.Color, s.Color = col, col
	l.Width = vg.Points(1.5)
	s.Shape = draw.CircleGlyph{}
	s.Radius = vg.Points(2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		s.Shape = draw.BoxGlyph{}
	}
	p.Add(l, s)
	if label != "" {
		p.Legend.Add(label, l, s)
	}
	return nil
}

// valueTicks labels a logarithmic axis at the values measured (the callers, the sizes)
// rather than at powers of ten.
type valueTicks []int

func (t valueTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, len(t))
	for i, c := range t {
		out[i] = plot.Tick{Value: float64(c), Label: shortCount(c)}
	}
	return out
}

// shortCount writes 100000 as 100k and 1000000 as 1M.
func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// valueAxis is a logarithmic axis ticked at vs, with room on both sides so that the
// first and last points and their labels are not on the frame.
func valueAxis(a *plot.Axis, vs []int) {
	sort.Ints(vs)
	a.Scale = plot.LogScale{}
	a.Tick.Marker = valueTicks(vs)
	a.Min, a.Max = float64(vs[0])/1.4, float64(vs[len(vs)-1])*1.4
}

func sizes(r *Results) []int {
	var out []int
	for _, s := range r.Sizes {
		out = append(out, s.N)
	}
	return out
}

func throughputChart(r *Results, st string) (*plot.Plot, bool, error) {
	byOp := map[string]plotter.XYs{}
	rawByOp := map[string]plotter.XYs{}
	rawName := map[string]string{}
	var ops []string
	callers := map[int]bool{}
	for _, c := range r.Cells {
		if c.Store != st || c.Diagnostic {
			continue
		}
		if _, seen := byOp[c.Op]; !seen {
			ops = append(ops, c.Op)
		}
		byOp[c.Op] = append(byOp[c.Op], plotter.XY{X: float64(c.Callers), Y: c.Ours})
		rawByOp[c.Op] = append(rawByOp[c.Op], plotter.XY{X: float64(c.Callers), Y: c.Raw})
		rawName[c.Op] = c.RawOp
		callers[c.Callers] = true
	}
	if len(ops) == 0 {
		return nil, false, nil
	}
	p := newPlot(st+": throughput against concurrency", "concurrent callers", "ops/s (dashed: raw driver)")
	p.Y.Min = 0
	var ticks []int
	for c := range callers {
		ticks = append(ticks, c)
	}
	valueAxis(&p.X, ticks)
	top := 0.0
	for i, op := range ops {
		if err := addLine(p, op+" (raw: "+rawName[op]+")", i, false, byOp[op]); err != nil {
			return nil, false, err
		}
		if err := addLine(p, "", i, true, rawByOp[op]); err != nil {
			return nil, false, err
		}
		for j := range byOp[op] {
			top = max(top, byOp[op][j].Y, rawByOp[op][j].Y)
		}
	}
	// Room above the lines for the legend.
	p.Y.Max = top * (1 + 0.12*float64(len(ops)))
	return p, true, nil
}

func latencyChart(r *Results) (*plot.Plot, error) {
	p := newPlot("verification latency against users (Zipf workload, LRU of 100 000)", "users", "µs (solid: p50, dashed: p99)")
	valueAxis(&p.X, sizes(r))
	logAxis(&p.Y)
	i := 0
	top := 0.0
	for _, st := range []string{Memory, Redis, Postgres} {
		var p50, p99 plotter.XYs
		for _, s := range r.Sizes {
			v, ok := s.Verify[st]
			if !ok {
				continue
			}
			p50 = append(p50, plotter.XY{X: float64(s.N), Y: micro(v.FirstP50)})
			p99 = append(p99, plotter.XY{X: float64(s.N), Y: micro(v.FirstP99)})
		}
		if err := addLine(p, st+", first sight", i, false, p50); err != nil {
			return nil, err
		}
		if err := addLine(p, "", i, true, p99); err != nil {
			return nil, err
		}
		for _, pt := range p99 {
			top = max(top, pt.Y)
		}
		i++
	}
	var c50, c99 plotter.XYs
	for _, s := range r.Sizes {
		if v, ok := s.Verify[Memory]; ok {
			c50 = append(c50, plotter.XY{X: float64(s.N), Y: micro(v.CachedP50)})
			c99 = append(c99, plotter.XY{X: float64(s.N), Y: micro(v.CachedP99)})
		}
	}
	if err := addLine(p, "in-process cache hit", i, false, c50); err != nil {
		return nil, err
	}
	if err := addLine(p, "", i, true, c99); err != nil {
		return nil, err
	}
	// Two decades above the slowest line for the legend.
	p.Y.Max = top * 100
	return p, nil
}

func hitRatioChart(r *Results) (*plot.Plot, error) {
	p := newPlot("in-process cache hit ratio against users (LRU of 100 000)", "users", "hit ratio")
	valueAxis(&p.X, sizes(r))
	p.Y.Min, p.Y.Max = 0, 1
	for i, st := range []string{Memory, Redis, Postgres} {
		var pts plotter.XYs
		for _, s := range r.Sizes {
			if v, ok := s.Verify[st]; ok {
				pts = append(pts, plotter.XY{X: float64(s.N), Y: v.HitRatio})
			}
		}
		if err := addLine(p, st, i, false, pts); err != nil {
			return nil, err
		}
	}
	p.Legend.Top = false
	return p, nil
}

func bytesChart(r *Results) (*plot.Plot, error) {
	p := newPlot("bytes against users", "users", "bytes")
	valueAxis(&p.X, sizes(r))
	p.Y.Min = 0
	series := []struct {
		label string
		get   func(SizeResult) float64
	}{
		{"cached principal (heap profile)", func(s SizeResult) float64 { return s.Principal.Profile }},
		{"memory store, per user with session", func(s SizeResult) float64 { return s.MemoryPerUser }},
		{"Redis, per session (MEMORY USAGE)", func(s SizeResult) float64 { return s.Redis.PerSession }},
		{"PostgreSQL, per session (tables and indexes)", func(s SizeResult) float64 { return s.Postgres.PerSession }},
	}
	top := 0.0
	for i, x := range series {
		var pts plotter.XYs
		for _, s := range r.Sizes {
			pts = append(pts, plotter.XY{X: float64(s.N), Y: x.get(s)})
			top = max(top, x.get(s))
		}
		if err := addLine(p, x.label, i, false, pts); err != nil {
			return nil, err
		}
	}
	// Room above the lines for the legend.
	p.Y.Max = top * 1.6
	return p, nil
}

func cleanupChart(r *Results) (*plot.Plot, error) {
	p := newPlot("cleanup of as many expired sessions as users", "users (and expired sessions)", "µs per expired session")
	valueAxis(&p.X, sizes(r))
	p.Y.Min = 0
	top := 0.0
	for i, st := range []string{Memory, Redis, Postgres} {
		var pts plotter.XYs
		for _, s := range r.Sizes {
			if c, ok := s.Cleanup[st]; ok {
				pts = append(pts, plotter.XY{X: float64(s.N), Y: micro(c.PerRow())})
				top = max(top, micro(c.PerRow()))
			}
		}
		if err := addLine(p, st, i, false, pts); err != nil {
			return nil, err
		}
	}
	p.Y.Max = top * 1.4
	return p, nil
}

func micro(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
