package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"regexp"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/authframe/authframe/observability/prometheus/dashboards/internal/promql"
)

// panel is what the rendering needs of a panel of the dashboard's JSON.
type panel struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// readPanels returns the dashboard's panels in layout order, rows left out.
func readPanels(file string) ([]panel, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out, nil
}

var legendVar = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// line is one series of a panel over the run.
type line struct {
	name string
	xys  plotter.XYs
}

// evaluate computes every target of p at every time of times, as Grafana's range query
// would, and returns one line per resulting series.
func evaluate(p panel, store *promql.Store, times []time.Time, start time.Time, vars promql.Vars) ([]line, error) {
	var lines []line
	for _, tg := range p.Targets {
		q, err := promql.Expand(tg.Expr, vars)
		if err != nil {
			return nil, fmt.Errorf("panel %q: %w", p.Title, err)
		}
		e, err := promql.Parse(q)
		if err != nil {
			return nil, fmt.Errorf("panel %q: %w", p.Title, err)
		}
		index := map[string]int{}
		for _, t := range times {
			v, err := promql.Eval(e, store, t)
			if err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			for _, el := range v.Elements {
				name := legendVar.ReplaceAllStringFunc(tg.LegendFormat, func(m string) string {
					return el.Labels[legendVar.FindStringSubmatch(m)[1]]
				})
				if name == "" {
					name = el.Labels.String()
				}
				i, ok := index[name]
				if !ok {
					i = len(lines)
					index[name] = i
					lines = append(lines, line{name: name})
				}
				if !math.IsNaN(el.V) && !math.IsInf(el.V, 0) {
					lines[i].xys = append(lines[i].xys, plotter.XY{X: t.Sub(start).Minutes(), Y: el.V})
				}
			}
		}
	}
	return lines, nil
}

// unitScale turns a Grafana unit into a y axis label and a multiplier for readable
// numbers.
func unitScale(unit string) (string, float64) {
	switch unit {
	case "reqps":
		return "req/s", 1
	case "ops":
		return "ops/s", 1
	case "percentunit":
		return "%", 100
	case "s":
		return "ms", 1000
	}
	return "", 1
}

// drawPanel is one panel as a gonum plot: the lines of a time series, or for a stat the
// sparkline with its last value in the title.
func drawPanel(p panel, lines []line) (*plot.Plot, error) {
	pl := plot.New()
	label, scale := unitScale(p.FieldConfig.Defaults.Unit)
	pl.Title.Text = p.Title
	pl.Title.TextStyle.Font.Size = vg.Points(11)
	pl.X.Label.Text = "minutes"
	pl.Y.Label.Text = label
	for _, ax := range []*plot.Axis{&pl.X, &pl.Y} {
		ax.Label.TextStyle.Font.Size = vg.Points(8)
		ax.Tick.Label.Font.Size = vg.Points(7)
	}
	pl.Y.Min = 0
	pl.Legend.Top = true
	pl.Legend.TextStyle.Font.Size = vg.Points(7)
	pl.Legend.ThumbnailWidth = vg.Points(10)
	pl.Add(plotter.NewGrid())
	if p.Type == "stat" {
		last := math.NaN()
		if len(lines) > 0 && len(lines[0].xys) > 0 {
			last = lines[0].xys[len(lines[0].xys)-1].Y * scale
		}
		pl.Title.Text = fmt.Sprintf("%s: %s %s (stat)", p.Title, formatValue(last), label)
		pl.Legend.Top = false
	}
	// Series that stay at zero the whole run (most label values of a healthy service)
	// would only crowd the legend; Grafana would draw them flat along the axis.
	zero := 0
	for i, ln := range lines {
		if p.Type != "stat" && allZero(ln.xys) {
			zero++
			continue
		}
		xys := make(plotter.XYs, len(ln.xys))
		for j, xy := range ln.xys {
			xys[j] = plotter.XY{X: xy.X, Y: xy.Y * scale}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.2)
		if p.Type == "stat" {
			l.FillColor = color.NRGBA{R: 0x73, G: 0xbf, B: 0x69, A: 0x60}
		}
		pl.Add(l)
		if p.Type != "stat" {
			pl.Legend.Add(shorten(ln.name), l)
		}
	}
	if zero > 0 && zero == len(lines) {
		pl.Title.Text += " (all series zero)"
		pl.Y.Max = 1
		if xys := lines[0].xys; len(xys) > 0 {
			pl.X.Min, pl.X.Max = xys[0].X, xys[len(xys)-1].X
		}
	} else if zero > 0 {
		pl.Title.Text += fmt.Sprintf(" (%d zero series hidden)", zero)
	}
	return pl, nil
}

func allZero(xys plotter.XYs) bool {
	for _, xy := range xys {
		if xy.Y != 0 {
			return false
		}
	}
	return true
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "no data"
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// render draws the plots in a grid of cols columns into a PNG of width w pixels.
func render(plots []*plot.Plot, cols int, w, tileH int, file, heading string) error {
	rows := (len(plots) + cols - 1) / cols
	headH := 40
	dpi := 96
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / vg.Length(dpi) }
	img := vgimg.NewWith(vgimg.UseWH(px(w), px(rows*tileH+headH)), vgimg.UseDPI(dpi))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	ts := draw.TextStyle{Color: color.Black, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler}
	ts.Font.Size = vg.Points(13)
	dc.FillText(ts, vg.Point{X: px(12), Y: dc.Max.Y - px(26)}, heading)

	grid := make([][]*plot.Plot, rows)
	for r := range rows {
		grid[r] = make([]*plot.Plot, cols)
		for c := range cols {
			if i := r*cols + c; i < len(plots) {
				grid[r][c] = plots[i]
			}
		}
	}
	body := dc
	body.Max.Y -= px(headH)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: px(10), PadY: px(10), PadTop: px(6), PadBottom: px(6), PadLeft: px(6), PadRight: px(6)}
	canvases := plot.Align(grid, tiles, body)
	for r := range rows {
		for c := range cols {
			if grid[r][c] != nil {
				grid[r][c].Draw(canvases[r][c])
			}
		}
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img.Image()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shorten trims a legend entry that would not fit a tile.
func shorten(s string) string {
	if len(s) > 28 {
		return s[:27] + "…"
	}
	return strings.TrimSpace(s)
}
