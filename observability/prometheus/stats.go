package authprom

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authframe/authframe/core/store"
)

// statsCollector exports authframe_sessions_active from a store's Stats at scrape time.
// Answers and failures are reused for maxAge; one call runs at a time, and a scrape waits
// for it at most timeout, even if the store ignores its context, so that a slow store never
// holds up the scrape of everything else.
type statsCollector struct {
	desc    *prometheus.Desc
	r       store.StatsReporter
	timeout time.Duration
	maxAge  time.Duration
	onErr   func()
	now     func() time.Time

	mu      sync.Mutex
	at      time.Time // when the last call ended; zero before the first
	val     float64
	valid   bool
	pending chan struct{} // closed when the running call ends; nil when none runs
}

func newStatsCollector(cfg config, onErr func()) *statsCollector {
	return &statsCollector{
		desc: prometheus.NewDesc("authframe_sessions_active",
			"Live sessions (cookie sessions and token families) in the store, read at scrape time.", nil, cfg.constLabels),
		r:       cfg.stats,
		timeout: cfg.statsTimeout,
		maxAge:  cfg.statsMaxAge,
		onErr:   onErr,
		now:     time.Now,
	}
}

func (s *statsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *statsCollector) Collect(ch chan<- prometheus.Metric) {
	if v, ok := s.value(); ok {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, v)
	}
}

// value returns the live session count, or false when the store could not say in time.
func (s *statsCollector) value() (float64, bool) {
	s.mu.Lock()
	if v, ok, fresh := s.cachedLocked(); fresh {
		s.mu.Unlock()
		return v, ok
	}
	done := s.pending
	if done == nil {
		done = make(chan struct{})
		s.pending = done
		go s.refresh(done)
	}
	s.mu.Unlock()

	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case <-done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.val, s.valid
	case <-t.C:
		// The call goes on and its answer serves the next scrapes.
		return 0, false
	}
}

func (s *statsCollector) cachedLocked() (v float64, ok, fresh bool) {
	if s.at.IsZero() || s.now().Sub(s.at) >= s.maxAge {
		return 0, false, false
	}
	return s.val, s.valid, true
}

func (s *statsCollector) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	st, err := s.r.Stats(ctx)
	cancel()
	s.mu.Lock()
	s.at, s.valid = s.now(), err == nil
	if err == nil {
		s.val = float64(st.LiveSessions)
	}
	s.pending = nil
	s.mu.Unlock()
	if err != nil {
		s.onErr()
	}
	close(done)
}
