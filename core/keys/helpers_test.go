package keys_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// publicPEM returns the public half of a PKCS#8 private key PEM, as PKIX PEM.
func publicPEM(t testing.TB, private []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(private)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.(crypto.Signer).Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
