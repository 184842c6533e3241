package dpop_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/authframe/authframe/core/dpop"
	"github.com/authframe/authframe/core/memstore"
)

// A service that accepts a DPoP-bound token, and a Go client that calls it in one line.
func Example() {
	replay := memstore.New() // share a Redis or PostgreSQL store between instances
	defer replay.Close()

	var verifier *dpop.Verifier
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
		if !ok {
			http.Error(w, "DPoP token required", http.StatusUnauthorized)
			return
		}
		proof, err := verifier.Verify(r.Header.Get("DPoP"), dpop.Request{Method: r.Method, Path: r.URL.EscapedPath(), AccessToken: tok})
		if err == nil {
			err = verifier.Remember(r.Context(), replay, proof)
		}
		if errors.Is(err, dpop.ErrInvalidProof) {
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof"`)
			http.Error(w, "invalid proof", http.StatusUnauthorized)
			return
		}
		// A real service now checks that the token's cnf.jkt is proof.JKT.
		fmt.Fprintln(w, "hello, key", len(proof.JKT) == 43)
	}))
	defer srv.Close()
	verifier, _ = dpop.NewVerifier(srv.URL) // the service's public URL, from configuration

	_, key, _ := ed25519.GenerateKey(rand.Reader)
	client, err := dpop.NewClient(key)
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/me", nil)
	req.Header.Set("Authorization", "DPoP the-bound-access-token")
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output: 200 hello, key true
}

// A proof for a token request: no access token, the token endpoint's URL.
func ExampleProver_Proof() {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	p, _ := dpop.NewProver(key)
	proof, err := p.Proof("POST", "https://auth.example.com/oauth/token")
	fmt.Println(strings.Count(proof, "."), err, len(p.JKT()))
	// Output: 2 <nil> 43
}

// Server nonces: every instance with the same key issues and accepts the same nonces.
func ExampleNonces() {
	key := make([]byte, dpop.MinNonceKey)
	_, _ = rand.Read(key)
	a, _ := dpop.NewNonces(key, 0)
	b, _ := dpop.NewNonces(key, 0)
	fmt.Println(b.Valid(a.Current()))
	// Output: true
}
