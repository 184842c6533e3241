package bench_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/authframe/authframe/bench"
)

// nopWriter is the cheapest http.ResponseWriter, so that the figures are the framework's
// and the middleware's, not a recorder's. It keeps the status of the last response, which
// the benchmarks check after the loop.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}
func (w *nopWriter) WriteString(s string) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(s), nil
}
func (w *nopWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// reset starts a new response, as a server does for each request on a connection.
func (w *nopWriter) reset() {
	clear(w.h)
	w.code = 0
}

// benchCase is a column of the matrix: which tokens the requests carry, the status they
// must get, and how authframe's Guard is set up.
type benchCase struct {
	name   string
	status int
	tokens func(*bench.Fixture) []string
	opts   func(*bench.Fixture) bench.Options
}

func defaults(*bench.Fixture) bench.Options { return bench.Options{} }

var cases = []benchCase{
	// The same valid token on every request: authframe answers from its validation
	// cache (warmed by the status check before the loop), the peers verify it every time.
	{"Repeated", http.StatusOK, func(f *bench.Fixture) []string { return []string{f.Valid} }, defaults},
	// A token the middleware has not seen recently on every request: the requests cycle
	// through bench.PoolSize distinct tokens. authframe's cache is full of other tokens
	// (bench.Fixture.Prefill), so every request misses it and verifies the token in full;
	// see bench.PoolSize for why none is ever admitted.
	{"FirstSeen", http.StatusOK, func(f *bench.Fixture) []string { return f.Pool[:bench.PoolSize] }, firstSeen},
	// The valid token with one character of its signature changed: every contender
	// parses it and fails the signature check.
	{"InvalidSignature", http.StatusUnauthorized, func(f *bench.Fixture) []string { return []string{f.Invalid} }, defaults},
}

func firstSeen(f *bench.Fixture) bench.Options {
	return bench.Options{CacheSize: bench.FirstSeenCacheSize, Prefill: f.Prefill()}
}

// BenchmarkPeers runs the matrix framework × algorithm × case × middleware. Names are
// fw=…/alg=…/case=…/mw=… so that benchstat can group by any of them.
func BenchmarkPeers(b *testing.B) {
	for _, fw := range bench.Frameworks {
		for _, alg := range bench.Algs {
			for _, c := range cases {
				for _, mw := range fw.Middlewares {
					name := fmt.Sprintf("fw=%s/alg=%s/case=%s/mw=%s", fw.Name, alg, c.name, mw.Name)
					b.Run(name, func(b *testing.B) {
						f := fixture(b, alg, bench.PoolSize+bench.FirstSeenCacheSize)
						s, err := mw.New(f.Keys, c.opts(f))
						if err != nil {
							b.Fatal(err)
						}
						defer s.Close()
						run(b, s, c.tokens(f), c.status)
					})
				}
			}
		}
	}
}

// BenchmarkBare is each framework's route without any authentication middleware (the
// request still carries a token), the floor under BenchmarkPeers.
func BenchmarkBare(b *testing.B) {
	for _, fw := range bench.Frameworks {
		b.Run("fw="+fw.Name, func(b *testing.B) {
			f := fixture(b, "HS256", 0)
			run(b, fw.Bare(), []string{f.Valid}, http.StatusOK)
		})
	}
}

// run checks that the first token gets the expected status (and, for 200, the handler's
// body), then serves requests cycling through tokens (len(tokens) must be a power of two),
// and checks the status of the last response.
func run(b *testing.B, s *bench.Server, tokens []string, status int) {
	b.Helper()
	if len(tokens)&(len(tokens)-1) != 0 {
		b.Fatalf("%d tokens: not a power of two", len(tokens))
	}
	mask := len(tokens) - 1
	auth := make([]string, len(tokens))
	for i, tok := range tokens {
		auth[i] = bearer(tok)
	}
	if code, body := s.Do(auth[0]); code != status || (status == http.StatusOK && body != okBody) {
		b.Fatalf("status check: %d %q, want %d", code, body, status)
	}

	var last int
	if s.Fast != nil {
		fctx := bench.NewRequestCtx(auth[0])
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if mask != 0 {
				fctx.Request.Header.Set("Authorization", auth[i&mask])
				i++
			}
			// fasthttp's server resets the response and the user values after each
			// request on a kept-alive connection.
			fctx.ResetUserValues()
			fctx.Response.Reset()
			s.Fast(fctx)
		}
		last = fctx.Response.StatusCode()
	} else {
		reqs := make([]*http.Request, len(auth))
		for i, a := range auth {
			reqs[i] = bench.NewRequest(a)
		}
		w := &nopWriter{h: http.Header{}}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			s.HTTP.ServeHTTP(w, reqs[i&mask])
			i++
		}
		last = w.code
	}
	if last != status {
		b.Fatalf("last response: %d, want %d", last, status)
	}
}
