package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authframe/authframe/examples/internal/app"
)

// inFlight is how many requests each core keeps in flight: enough to keep the proxy and
// the upstream busy while others wait on loopback.
const inFlight = 4

// BenchmarkGateway compares authenticated requests with a repeated token through the
// gateway with the same requests through a bare httputil.ReverseProxy: the same upstream,
// the same client, parallel requests over loopback to real listeners, so that the proxying
// costs what it costs in production and the difference is the gateway's work
// (authentication from the cache, the rule, the headers it rewrites, and the upstream
// reading the headers it adds). The bare proxy uses the gateway's Transport, so that only
// the handlers differ.
//
// bare and gateway measure each alone. paired alternates blocks of the two, so that both
// meet the same load on a shared machine, and reports the median of the per-block
// throughput ratios (gateway/bare: 1 is no cost at all).
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
	request := func(base string) *http.Request {
		req, err := http.NewRequest("GET", base+"/api/items?page=2", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}
	for _, c := range []struct{ name, base string }{{"bare", bare.URL}, {"gateway", gateway.URL}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(inFlight)
			b.RunParallel(func(pb *testing.PB) {
				req := request(c.base)
				for pb.Next() {
					if err := send(client, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}

	b.Run("paired", func(b *testing.B) {
		const n = 400 // requests per block, about 30 ms
		var tb, tg, ratio []float64
		for i := 0; i < b.N; i += n {
			// Alternating which goes first cancels what one block leaves the next (a GC
			// cycle, a warm cache).
			var x, y float64
			if i/n%2 == 0 {
				x = burst(b, client, request(bare.URL), n)
				y = burst(b, client, request(gateway.URL), n)
			} else {
				y = burst(b, client, request(gateway.URL), n)
				x = burst(b, client, request(bare.URL), n)
			}
			tb, tg, ratio = append(tb, x), append(tg, y), append(ratio, x/y)
		}
		b.ReportMetric(median(tb), "bare-ns/op")
		b.ReportMetric(median(tg), "gateway-ns/op")
		b.ReportMetric(median(ratio), "gateway/bare")
		b.ReportMetric(0, "ns/op") // two kinds of request: the figures above say what each costs
	})
}

// send makes one request and reads the whole answer.
func send(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// burst sends about n copies of req with inFlight requests per core in flight, as
// RunParallel does, and returns the wall time per request.
func burst(b *testing.B, client *http.Client, req *http.Request, n int) float64 {
	workers := inFlight * runtime.GOMAXPROCS(0)
	each := max(1, n/workers)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req.Clone(req.Context())
			for range each {
				if err := send(client, r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / float64(each*workers)
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
