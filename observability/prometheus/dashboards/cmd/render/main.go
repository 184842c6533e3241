// Command render draws the panels of the authframe Grafana dashboard from real data,
// where no Grafana is at hand: it drives a running example app (examples/README.md) with
// a mix of traffic for -duration, scrapes its /metrics every -scrape, evaluates each
// panel's PromQL over the scrapes with the dashboard test's own small PromQL
// implementation, and draws every panel into one PNG with gonum/plot.
//
// It renders the dashboard's queries, not Grafana's look: series are plain lines (stacked
// panels unstacked), stat panels a sparkline with their last value in the title, and
// rate is the slope over each window without Prometheus' extrapolation.
//
//	AUTHFRAME_INSECURE_COOKIES=1 ADDR=127.0.0.1:8080 go run ./examples/nethttp &
//	go run ./cmd/render -base http://127.0.0.1:8080 -duration 4m -o authframe.png
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"gonum.org/v1/plot"

	"github.com/authframe/authframe/observability/prometheus/dashboards"
	"github.com/authframe/authframe/observability/prometheus/dashboards/internal/promql"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "the running example app")
	duration := flag.Duration("duration", 4*time.Minute, "how long to drive the app")
	every := flag.Duration("scrape", 2*time.Second, "scrape interval")
	window := flag.Duration("rate-interval", 30*time.Second, "the window that stands for Grafana's $__rate_interval")
	workers := flag.Int("workers", 3, "concurrent load workers")
	pause := flag.Duration("pause", 4*time.Millisecond, "pause between the steps of a worker")
	users := flag.Int("users", 30, "users registered before the run")
	in := flag.String("dashboard", dashboards.File, "the dashboard JSON")
	out := flag.String("o", "authframe.png", "the PNG to write")
	flag.Parse()
	if err := run(*base, *in, *out, *duration, *every, *window, *workers, *pause, *users); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(base, in, out string, duration, every, window time.Duration, workers int, pause time.Duration, users int) error {
	switch {
	case duration <= 2*window:
		return fmt.Errorf("-duration %v must exceed twice -rate-interval %v", duration, window)
	case every <= 0 || every*2 > window:
		return fmt.Errorf("-scrape %v must be positive and at most half of -rate-interval %v", every, window)
	case workers < 1 || users < 3:
		return fmt.Errorf("-workers must be at least 1 and -users at least 3")
	}
	panels, err := readPanels(in)
	if err != nil {
		return err
	}
	ld := newLoader(base)
	ctx := context.Background()
	for range users {
		if _, err := ld.register(ctx); err != nil {
			return err
		}
	}
	sc := &scraper{url: ld.base + "/metrics", job: "authframe", client: &http.Client{Timeout: 5 * time.Second}, store: promql.NewStore()}
	start := time.Now()
	if err := sc.scrape(ctx, start); err != nil {
		return err
	}
	loadCtx, stop := context.WithTimeout(ctx, duration)
	defer stop()
	done := make(chan struct{})
	go func() { ld.run(loadCtx, workers, pause, start, duration); close(done) }()
	tick := time.NewTicker(every)
	defer tick.Stop()
scraping:
	for {
		select {
		case <-loadCtx.Done():
			break scraping
		case at := <-tick.C:
			if err := sc.scrape(ctx, at); err != nil {
				return err
			}
		}
	}
	<-done
	fmt.Fprintf(os.Stderr, "render: %d scrapes, %d failed requests\n", len(sc.times), ld.errs)

	var times []time.Time
	for _, t := range sc.times {
		if t.Sub(start) >= window {
			times = append(times, t)
		}
	}
	vars := promql.Vars{"job": ".*", "__rate_interval": window.String(), "datasource": "prometheus"}
	var plots []*plot.Plot
	for _, p := range panels {
		lines, err := evaluate(p, sc.store, times, start, vars)
		if err != nil {
			return err
		}
		pl, err := drawPanel(p, lines)
		if err != nil {
			return err
		}
		plots = append(plots, pl)
	}
	heading := fmt.Sprintf("authframe dashboard (%s), rendered from its PromQL over %d scrapes of a %v load run against examples/nethttp; not a Grafana screenshot",
		in, len(sc.times), duration.Round(time.Second))
	return render(plots, 4, 1400, 230, out, heading)
}
