package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/authframe/authframe/examples/internal/app"
)

// BenchmarkGateway compares authenticated requests with a repeated token through the
// gateway with the same requests through a bare httputil.ReverseProxy: the same upstream,
// the same client, parallel requests over loopback to real listeners, so that the proxying
// costs what it costs in production and the difference is the gateway's own work
// (authentication from the cache, the rules, the header rewriting). The bare proxy uses
// the gateway's Transport, so that only the handlers differ.
//
// Besides wall time per request, each reports cpu-ns/op: the CPU time the whole process
// (client, proxy and upstream) spent per request. A saturated gateway's throughput is
// inversely proportional to it, and unlike wall time it hardly moves when other work
// shares the machine's cores.
func BenchmarkGateway(b *testing.B) {
	body := []byte(`{"items":[1,2,3]}`)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(up.Close)
	target, err := url.Parse(up.URL)
	if err != nil {
		b.Fatal(err)
	}
	bare := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: newTransport(upstreamTimeouts{dial: DialTimeout, header: ResponseHeaderTimeout}),
	})
	b.Cleanup(bare.Close)
	a := newApp(b, app.LoadGatewayConfig, "AUTHFRAME_UPSTREAM="+up.URL, "AUTHFRAME_GATEWAY_REQUIRE=/api/=read:notes")
	gateway := httptest.NewServer(Handler(a))
	b.Cleanup(gateway.Close)
	_, tok := login(b, a, "user")

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	for _, c := range []struct{ name, base string }{{"bare", bare.URL}, {"gateway", gateway.URL}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			// Four requests in flight per core keep both the proxy and the upstream busy
			// while the others wait on loopback.
			b.SetParallelism(4)
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				req, err := http.NewRequest("GET", c.base+"/api/items?page=2", nil)
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				for pb.Next() {
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			if used := processCPU() - cpu; used > 0 {
				b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
