package authprom_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	authprom "github.com/authframe/authframe/observability/prometheus"
)

func Example() {
	st := memstore.New()
	defer st.Close()

	metrics, err := authprom.New(authprom.WithStats(st))
	if err != nil {
		fmt.Println(err)
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)

	guard, err := authframe.New(
		authframe.WithIssuer("https://auth.example"),
		authframe.WithAudience("api.example"),
		authframe.WithHMACSecret([]byte("an example secret of 32 bytes or more")),
		authframe.WithStore(st),
		authframe.WithObserver(metrics),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer guard.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// A token verified once and then served twice from the in-process cache.
	ctx := context.Background()
	pair, _ := guard.IssueTokens(ctx, authframe.User{ID: "u1", Username: "alice"}, authframe.ClientInfo{})
	for range 3 {
		_, _ = guard.VerifyToken(ctx, pair.AccessToken)
	}

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "authframe_cache_hits_total", "authframe_cache_misses_total", "authframe_sessions_active":
				labels := ""
				for _, l := range m.GetLabel() {
					labels = fmt.Sprintf("{%s=%q}", l.GetName(), l.GetValue())
				}
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				fmt.Printf("%s%s %v\n", mf.GetName(), labels, v)
			}
		}
	}
	// Output:
	// authframe_cache_hits_total{tier="lru"} 2
	// authframe_cache_hits_total{tier="shared"} 0
	// authframe_cache_misses_total{tier="lru"} 1
	// authframe_cache_misses_total{tier="shared"} 0
	// authframe_sessions_active 1
}
