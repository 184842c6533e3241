package dpop

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authframe/authframe/core/memstore"
)

// dpopServer is a resource server that asks for a nonce, checks every proof (replay
// included) and echoes the body of what it accepts. Its token endpoint answers as an
// authorization server does (400 with a JSON error).
type dpopServer struct {
	*httptest.Server
	calls atomic.Int32
	jkts  chan string
}

func newDPoPServer(t *testing.T) *dpopServer {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	nonces, err := NewNonces(bytes.Repeat([]byte{7}, 32), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s := &dpopServer{jkts: make(chan string, 16)}
	var v *Verifier
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		w.Header().Set("DPoP-Nonce", nonces.Current())
		req := Request{Method: r.Method, Path: r.URL.EscapedPath()}
		if r.URL.Path != "/token" {
			scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if scheme != "DPoP" {
				http.Error(w, "no DPoP token", http.StatusUnauthorized)
				return
			}
			req.AccessToken = tok
		}
		p, err := v.Verify(r.Header.Get("DPoP"), req)
		if err == nil {
			err = v.Remember(r.Context(), st, p)
		}
		switch {
		case errors.Is(err, ErrUseNonce) && r.URL.Path == "/token":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"use_dpop_nonce","error_description":"a nonce is required"}`)
		case errors.Is(err, ErrUseNonce):
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="a nonce is required"`)
			w.WriteHeader(http.StatusUnauthorized)
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
		default:
			s.jkts <- p.JKT
			_, _ = io.Copy(w, r.Body)
		}
	}))
	t.Cleanup(s.Close)
	var err2 error
	v, err2 = NewVerifier(s.URL, WithNonces(nonces))
	if err2 != nil {
		t.Fatal(err2)
	}
	return s
}

func TestTransportRetriesOnceWithTheServersNonceAndRemembersIt(t *testing.T) {
	s := newDPoPServer(t)
	tr, err := NewTransport(keys(t).ed, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: tr}
	for i, body := range []string{"first", "second"} {
		req, _ := http.NewRequest("POST", s.URL+"/api/echo?x=1", strings.NewReader(body))
		req.Header.Set("Authorization", "DPoP tok")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != body {
			t.Fatalf("request %d: %d %q, want 200 and the body echoed", i, resp.StatusCode, got)
		}
		if jkt := <-s.jkts; jkt != tr.Prover().JKT() {
			t.Fatalf("the server saw key %s, want %s", jkt, tr.Prover().JKT())
		}
	}
	if n := s.calls.Load(); n != 3 {
		t.Fatalf("the server was called %d times, want 3 (one refusal for want of a nonce, then two)", n)
	}
}

func TestTransportRetriesAtATokenEndpoint(t *testing.T) {
	s := newDPoPServer(t)
	c, err := NewClient(keys(t).ec256)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(s.URL+"/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=password"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "grant_type=password" {
		t.Fatalf("%d %q, want 200 and the form echoed", resp.StatusCode, got)
	}
}

func TestTransportGivesUpWhenTheBodyCannotBeSentAgain(t *testing.T) {
	s := newDPoPServer(t)
	c, _ := NewClient(keys(t).ed)
	req, _ := http.NewRequest("POST", s.URL+"/api/echo", io.NopCloser(strings.NewReader("once")))
	req.GetBody = nil
	req.Header.Set("Authorization", "DPoP tok")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce") {
		t.Fatalf("%d, want the server's 401 use_dpop_nonce handed back", resp.StatusCode)
	}
	if n := s.calls.Load(); n != 1 {
		t.Fatalf("the server was called %d times, want 1", n)
	}
}

func TestTransportLeavesOtherErrorsAndTheRequestAlone(t *testing.T) {
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		w.Header().Set("DPoP-Nonce", "n")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
	}))
	defer srv.Close()
	c, _ := NewClient(keys(t).ed)
	req, _ := http.NewRequest("POST", srv.URL+"/token", strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || string(got) != `{"error":"invalid_grant"}` || seen.Load() != 1 {
		t.Fatalf("%d %q after %d calls, want the 400 once with its body intact", resp.StatusCode, got, seen.Load())
	}
	if req.Header.Get("DPoP") != "" {
		t.Fatal("the Transport modified the caller's request")
	}
}
