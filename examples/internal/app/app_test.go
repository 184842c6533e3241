package app

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/examples/internal/slowclient"
)

// TestATrickledBodyIsCutOffByTheReadTimeout defends the net/http-served examples (nethttp,
// gin, echo) against a client that keeps a request, and its goroutine, alive forever by
// trickling the body.
func TestATrickledBodyIsCutOffByTheReadTimeout(t *testing.T) {
	const timeout = time.Second
	a := &App{Config: Config{Timeouts: Timeouts{Read: timeout}}}
	srv := a.server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := endpoint.ReadBody(r.Body, BodyLimit); err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	took, closed := slowclient.Trickle(t, ln.Addr().String(), timeout+4*time.Second)
	if !closed {
		t.Fatalf("the connection was still open after %v", took.Round(time.Millisecond))
	}
	if took < timeout/2 || took > timeout+3*time.Second {
		t.Fatalf("the connection was closed after %v, want about %v", took.Round(time.Millisecond), timeout)
	}
}

func TestServersAlwaysHaveTimeouts(t *testing.T) {
	a := &App{Config: Config{Timeouts: Timeouts{Read: time.Second}}}
	want := Timeouts{ReadHeader: ReadHeaderTimeout, Read: time.Second, Write: WriteTimeout, Idle: IdleTimeout}
	if got := a.Timeouts(); got != want {
		t.Fatalf("Timeouts() = %+v, want %+v", got, want)
	}
	srv := a.server(http.NotFoundHandler())
	if srv.ReadHeaderTimeout != ReadHeaderTimeout || srv.ReadTimeout != time.Second || srv.WriteTimeout != WriteTimeout || srv.IdleTimeout != IdleTimeout {
		t.Fatalf("server timeouts %v %v %v %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	cfg, err := LoadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timeouts != (Timeouts{ReadHeader: ReadHeaderTimeout, Read: ReadTimeout, Write: WriteTimeout, Idle: IdleTimeout}) {
		t.Fatalf("LoadConfig timeouts %+v", cfg.Timeouts)
	}
}
