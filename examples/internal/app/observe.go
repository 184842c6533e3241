package app

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/store"
	authprom "github.com/authframe/authframe/observability/prometheus"
)

// observe attaches the audit log and the Prometheus collectors (on a registry of the
// app's own, served at /metrics) as Guard observers.
func (b *backends) observe(logger *slog.Logger) error {
	var opts []authprom.Option
	if sr, ok := b.store.(store.StatsReporter); ok {
		opts = append(opts, authprom.WithStats(sr))
	}
	if b.cache != nil {
		opts = append(opts, authprom.WithSharedCacheTier())
	}
	collector, err := authprom.New(opts...)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector); err != nil {
		return err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	b.observers = append(b.observers,
		authframe.WithObserver(collector),
		authframe.WithObserver(audit.NewLogger(logger)),
	)
	return nil
}
