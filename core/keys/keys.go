package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// GenerateEd25519PEM returns a fresh Ed25519 private key in PKCS#8 PEM, the form
// authframe.WithKey and the authframe command's keygen use. Ed25519 (EdDSA) signs and
// verifies fastest of the asymmetric algorithms and has no parameters to get wrong.
func GenerateEd25519PEM() ([]byte, error) { return GeneratePEM("EdDSA") }

// GeneratePEM returns a fresh private key in PKCS#8 PEM for a JWS algorithm: EdDSA
// (Ed25519), ES256 (P-256), ES384 (P-384), or RS256 (a 3072-bit RSA key, NIST's size for
// use past 2030).
func GeneratePEM(alg string) ([]byte, error) {
	var key any
	var err error
	switch strings.ToUpper(alg) {
	case "EDDSA", "ED25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q (want EdDSA, ES256, ES384 or RS256)", alg)
	}
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
