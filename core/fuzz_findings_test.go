package authframe_test

// Regression tests of what fuzzing found: each is named after what it defends.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
)

func TestRemoteTokensWithoutKidUseOnlyKeysForTheirAlgorithm(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(newVerifier(t, authframe.WithKeyPEM(pemOf(t, k))).JWKS(), &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("JWKS: %v", err)
	}
	tests := []struct {
		name   string
		member string
		value  any
		ok     bool
	}{
		{"a signature key verifies a token without kid", "use", "sig", true},
		{"a key without use verifies a token without kid", "use", nil, true},
		{"an encryption key does not verify a token without kid", "use", "enc", false},
		{"a key for another algorithm does not verify a token without kid", "alg", "ES384", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jwk := map[string]any{}
			for name, v := range jwks.Keys[0] {
				jwk[name] = v
			}
			if tt.value == nil {
				delete(jwk, tt.member)
			} else {
				jwk[tt.member] = tt.value
			}
			p := newOIDCProvider(t)
			p.jwks.Store(mustJSON(t, map[string]any{"keys": []any{jwk}}))
			g := newVerifier(t, authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, JWKSURL: p.srv.URL + "/jwks"}))
			tok := sign(t, jwt.SigningMethodES256, k, claims(func(c jwt.MapClaims) { c["iss"] = p.srv.URL }), nil)
			_, err := g.VerifyToken(context.Background(), tok)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("accepted under %v", jwk)
			}
		})
	}
}
