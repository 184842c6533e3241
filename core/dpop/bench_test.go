package dpop

import (
	"crypto"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	k := keys(b)
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{{"EdDSA", k.ed}, {"ES256", k.ec256}, {"RS256", k.rsa}} {
		b.Run(tc.alg, func(b *testing.B) {
			proof := craft(b, tc.alg, tc.key, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(b, tc.key.Public())}, goodClaims())
			v := newTestVerifier(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(proof, getMe); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkProof(b *testing.B) {
	k := keys(b)
	for name, key := range map[string]crypto.Signer{"EdDSA": k.ed, "ES256": k.ec256} {
		b.Run(name, func(b *testing.B) {
			p, err := NewProver(key)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Proof("GET", publicURL+"/api/me", WithAccessToken("tok")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
