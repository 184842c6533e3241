package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/authframe/authframe/observability/prometheus/dashboards/internal/promql"
)

// scraper reads an app's /metrics into a promql.Store, adding the job label as
// Prometheus would.
type scraper struct {
	url    string
	job    string
	client *http.Client
	store  *promql.Store
	times  []time.Time
}

func (s *scraper) scrape(ctx context.Context, at time.Time) error {
	req, err := http.NewRequestWithContext(ctx, "GET", s.url, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", s.url, err)
	}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			labels := promql.Labels{"job": s.job}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			add := func(name string, v float64, extra ...string) {
				l := make(promql.Labels, len(labels)+2)
				for k, v := range labels {
					l[k] = v
				}
				l["__name__"] = name
				for i := 0; i+1 < len(extra); i += 2 {
					l[extra[i]] = extra[i+1]
				}
				s.store.Add(l, at, v)
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					if math.IsInf(b.GetUpperBound(), 1) {
						continue // added below from the sample count, whether listed or not
					}
					add(name+"_bucket", float64(b.GetCumulativeCount()), "le", formatLE(b.GetUpperBound()))
				}
				add(name+"_bucket", float64(h.GetSampleCount()), "le", "+Inf")
				add(name+"_sum", h.GetSampleSum())
				add(name+"_count", float64(h.GetSampleCount()))
			}
		}
	}
	s.times = append(s.times, at)
	return nil
}

func formatLE(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}
