// Package authprom exports the events of an authframe Guard as Prometheus metrics.
//
// A Collector is both an audit.Observer and a prometheus.Collector: register it on
// your own registry (never the default one behind your back) and give it to the Guard.
//
//	metrics, err := authprom.New(authprom.WithStats(st))
//	reg.MustRegister(metrics)
//	guard, err := authframe.New(key, authframe.WithIssuer(iss), authframe.WithAudience(aud), authframe.WithStore(st), authframe.WithObserver(metrics))
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Every label value comes from a closed set fixed in New, and every series is created
// there, so the output has the same shape from the first scrape and an unexpected value
// is counted as "other" instead of growing the series count. No label holds a user id, a
// username, a session id, a path or a token. Observe is a switch and an atomic add per
// metric: it does not allocate and adds tens of nanoseconds to a cached validation.
//
// authframe_sessions_active (with WithStats) is read from the store at scrape time,
// bounded by a timeout and cached for a few seconds, so that a slow store never holds up
// a scrape and frequent scrapes do not load it.
package authprom
