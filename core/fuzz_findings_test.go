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
	if err := json.Unmarshal(newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, k)})).JWKS(), &jwks); err != nil || len(jwks.Keys) != 1 {
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

func TestTokensWithLineBreaksAreRefused(t *testing.T) {
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithTokens(authframe.TokenConfig{Cookie: "__Host-token"}))
	tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), nil)
	ctx := context.Background()
	if _, err := g.VerifyToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Go's base64 decoders skip CR and LF even in strict mode, and the signature is the one
	// part that the signature itself does not cover: each of these would otherwise be one
	// more spelling of the same token, verified and cached on its own.
	for name, alt := range map[string]string{
		"a trailing CR":                 tok + "\r",
		"a trailing LF":                 tok + "\n",
		"a line break in the signature": tok[:len(tok)-4] + "\r\n" + tok[len(tok)-4:],
	} {
		if _, err := g.VerifyToken(ctx, alt); err == nil {
			t.Errorf("a token with %s verified", name)
		}
		if _, err := g.Authenticate(ctx, fakeReq{cookies: map[string]string{"__Host-token": alt}}); err == nil {
			t.Errorf("a token cookie with %s authenticated", name)
		}
	}
}
