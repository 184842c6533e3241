// Package keys makes signing keys for authframe.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
)

// GenerateEd25519PEM returns a fresh Ed25519 private key in PKCS#8 PEM, the form
// authframe.WithKey and the authframe command's keygen use. Ed25519 (EdDSA) signs and
// verifies fastest of the asymmetric algorithms and has no parameters to get wrong.
func GenerateEd25519PEM() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
