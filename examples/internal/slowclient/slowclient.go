// Package slowclient is a client that trickles a request body, for the examples' tests of
// their servers' deadlines.
package slowclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Trickle sends a request's headers and then one body byte every 200 ms, faster than any
// timeout under test, so that only a deadline on the whole request can end it. It returns
// how long the server kept the connection, and whether it closed it before limit.
func Trickle(t testing.TB, addr string, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "POST /auth/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", addr); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	conn.SetReadDeadline(start.Add(limit))
	_, err = io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return time.Since(start), false
	}
	return time.Since(start), true
}
