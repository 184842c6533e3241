package jwk

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"testing"
)

// The example key of RFC 7638 §3.1 and its thumbprint.
const (
	rfc7638N   = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638E   = "AQAB"
	rfc7638Kid = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	// RFC 8037 §A.3: the thumbprint of the Ed25519 key of §A.2.
	rfc8037X   = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Kid = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

func TestThumbprintsOfTheRFCExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		jwk  map[string]any
		want string
	}{
		{"RFC 7638 §3.1 (RSA)", map[string]any{"kty": "RSA", "n": rfc7638N, "e": rfc7638E, "alg": "RS256", "kid": "2011-04-29"}, rfc7638Kid},
		{"RFC 8037 §A.3 (Ed25519)", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": rfc8037X}, rfc8037Kid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := func(k string) string { v, _ := tc.jwk[k].(string); return v }
			direct := Public{Kty: s("kty"), Crv: s("crv"), N: s("n"), E: s("e"), X: s("x")}.Thumbprint()
			if direct != tc.want {
				t.Fatalf("Thumbprint of the members = %s, want %s", direct, tc.want)
			}
			pub, err := ParsePublic(tc.jwk)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := Thumbprint(pub); err != nil || got != tc.want {
				t.Fatalf("Thumbprint of the parsed key = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestParsedKeysThumbprintAsTheirOwnMembers(t *testing.T) {
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, pub := range map[string]any{"P-256": &ec256.PublicKey, "P-384": &ec384.PublicKey, "Ed25519": ed, "RSA": &rs.PublicKey} {
		p, err := FromKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		b, _ := json.Marshal(map[string]string{"kty": p.Kty, "crv": p.Crv, "n": p.N, "e": p.E, "x": p.X, "y": p.Y})
		_ = json.Unmarshal(b, &m)
		for k, v := range m {
			if v == "" {
				delete(m, k)
			}
		}
		back, err := ParsePublic(m)
		if err != nil {
			t.Fatalf("%s: ParsePublic of its own members: %v", name, err)
		}
		if got, _ := Thumbprint(back); got != p.Thumbprint() {
			t.Fatalf("%s: the parsed key's thumbprint differs", name)
		}
	}
}

func TestParsePublicRefuses(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p, _ := FromKey(&ec.PublicKey)
	ecJWK := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"kty": "EC", "crv": "P-256", "x": p.X, "y": p.Y}
		edit(m)
		return m
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	sp, _ := FromKey(&small.PublicKey)
	for _, tc := range []struct {
		name    string
		jwk     map[string]any
		private bool
	}{
		{"a private EC key", ecJWK(func(m map[string]any) { m["d"] = p.X }), true},
		{"a symmetric key", map[string]any{"kty": "oct", "k": "c2VjcmV0"}, true},
		{"an RSA key with its primes", map[string]any{"kty": "RSA", "n": rfc7638N, "e": "AQAB", "p": "AQAB"}, true},
		{"an RSA key with qi", map[string]any{"kty": "RSA", "n": rfc7638N, "e": "AQAB", "qi": "AQAB"}, true},
		{"no kty", map[string]any{"crv": "P-256", "x": p.X, "y": p.Y}, false},
		{"a kty that is a number", ecJWK(func(m map[string]any) { m["kty"] = 1.0 }), false},
		{"an unknown kty", map[string]any{"kty": "oct"}, false},
		{"P-521", ecJWK(func(m map[string]any) { m["crv"] = "P-521" }), false},
		{"secp256k1", ecJWK(func(m map[string]any) { m["crv"] = "secp256k1" }), false},
		{"a point off the curve", ecJWK(func(m map[string]any) { m["y"] = p.X }), false},
		{"padded base64url", ecJWK(func(m map[string]any) { m["x"] = p.X + "=" }), false},
		{"standard base64", ecJWK(func(m map[string]any) { m["x"] = "+/" + p.X[2:] }), false},
		{"a short coordinate", ecJWK(func(m map[string]any) { m["x"] = p.X[:40] }), false},
		{"an X25519 key", map[string]any{"kty": "OKP", "crv": "X25519", "x": rfc8037X}, false},
		{"a short Ed25519 key", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": rfc8037X[:40]}, false},
		{"an RSA key of 1024 bits", map[string]any{"kty": "RSA", "n": sp.N, "e": sp.E}, false},
		{"an RSA modulus with a leading zero", map[string]any{"kty": "RSA", "n": "AA" + rfc7638N, "e": "AQAB"}, false},
		{"an even RSA exponent", map[string]any{"kty": "RSA", "n": rfc7638N, "e": "AQAA"}, false},
		{"an RSA exponent of 1", map[string]any{"kty": "RSA", "n": rfc7638N, "e": "AQ"}, false},
		{"a huge RSA exponent", map[string]any{"kty": "RSA", "n": rfc7638N, "e": "AQAAAAAB"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := ParsePublic(tc.jwk)
			if err == nil {
				t.Fatalf("ParsePublic = %T, want an error", pub)
			}
			if errors.Is(err, ErrPrivate) != tc.private {
				t.Fatalf("ParsePublic = %v; ErrPrivate expected: %v", err, tc.private)
			}
		})
	}
}
