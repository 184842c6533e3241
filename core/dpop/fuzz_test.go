package dpop

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerify feeds the proof parser arbitrary headers: it never panics, refuses with
// ErrInvalidProof (or ErrUseNonce), and what it accepts is a proof of the request with a
// thumbprint and a jti.
func FuzzVerify(f *testing.F) {
	k := keys(f)
	for _, key := range []struct {
		alg string
		key any
		pub any
	}{{"EdDSA", k.ed, k.ed.Public()}, {"ES256", k.ec256, k.ec256.Public()}, {"RS256", k.rsa, k.rsa.Public()}} {
		good := craft(f, key.alg, key.key, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(f, key.pub)}, goodClaims())
		f.Add(good)
		parts := strings.Split(good, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + ".." + parts[2])
		f.Add(good[:len(good)-3])
		f.Add(good + "=")
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(b64.EncodeToString([]byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"","y":""}}`)) + ".e30.AA")
	f.Add(b64.EncodeToString([]byte(`{"typ":"dpop+jwt","alg":"RS256","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`)) + ".e30.AA")
	v := newTestVerifier(f)
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := v.Verify(proof, getMe)
		if err != nil {
			if p != nil || !errors.Is(err, ErrInvalidProof) && !errors.Is(err, ErrUseNonce) {
				t.Fatalf("Verify = %+v, %v", p, err)
			}
			return
		}
		if len(p.JKT) != 43 || p.JTI == "" || p.Key == nil {
			t.Fatalf("Verify accepted a proof and returned %+v", p)
		}
	})
}

// FuzzNormalizeHTU checks that normalising a URI never panics and is idempotent.
func FuzzNormalizeHTU(f *testing.F) {
	for _, s := range []string{"https://example.com/a/../b", "HTTP://[::1]:80/%7e", "https://x/%zz", "https://x:/", "http://a@b/", "https://x/a%2f..%2Fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := normalizeHTU(s)
		if err != nil {
			return
		}
		again, err := normalizeHTU(n)
		if err != nil || again != n {
			t.Fatalf("normalizeHTU(%q) = %q, and again %q, %v: not idempotent", s, n, again, err)
		}
	})
}
