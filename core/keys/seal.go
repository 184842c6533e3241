package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// MinKEK is the shortest key-encryption key accepted: 32 bytes.
const MinKEK = 32

// sealVersion is the first byte of every sealed key: the format (AES-256-GCM under a key
// derived from the KEK, a random 96-bit nonce, the kid as associated data).
const sealVersion = 1

// sealer seals private keys under a KEK.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(kek []byte) (*sealer, error) {
	if len(kek) < MinKEK {
		return nil, fmt.Errorf("keys: the KEK is %d bytes, at least %d are required", len(kek), MinKEK)
	}
	k, err := hkdf.Key(sha256.New, kek, nil, "authframe signing-key seal v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// associated binds a sealed key to its kid: a sealed key moved to another key's record
// does not open.
func associated(kid string) []byte { return []byte("authframe signing key\x00" + kid) }

func (s *sealer) seal(kid string, pemBytes []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(pemBytes)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:], pemBytes, associated(kid)), nil
}

var errOpen = errors.New("keys: a sealed key does not open: another KEK sealed it, or it was altered")

func (s *sealer) open(kid string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("keys: key %s: unknown sealed format", kid)
	}
	out, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], associated(kid))
	if err != nil {
		return nil, fmt.Errorf("%w (key %s)", errOpen, kid)
	}
	return out, nil
}

// ringSecrets derives from the KEK what the Guard needs besides the keys: the secret of
// the shared cache's MAC and the ring's public name in shared-cache keys. Both are the same
// on every instance sharing the KEK, whatever the ring holds at the moment.
func ringSecrets(kek []byte) (secret []byte, id string, err error) {
	secret, err = hkdf.Key(sha256.New, kek, nil, "authframe shared cache v1", 32)
	if err != nil {
		return nil, "", err
	}
	idb, err := hkdf.Key(sha256.New, kek, nil, "authframe ring id v1", 16)
	if err != nil {
		return nil, "", err
	}
	return secret, hex.EncodeToString(idb), nil
}

// newPrivateKey makes a key for alg and returns its kid (the RFC 7638 thumbprint, as
// authframe computes it) and its PKCS#8 PEM.
func newPrivateKey(alg string) (kid string, normalized string, pemBytes []byte, err error) {
	normalized, err = normalizeAlg(alg)
	if err != nil {
		return "", "", nil, err
	}
	pemBytes, err = GeneratePEM(normalized)
	if err != nil {
		return "", "", nil, err
	}
	block, _ := pem.Decode(pemBytes)
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "", "", nil, err
	}
	kid, err = thumbprint(priv)
	return kid, normalized, pemBytes, err
}

func normalizeAlg(alg string) (string, error) {
	switch alg {
	case "", "EdDSA", "Ed25519", "EDDSA", "ED25519":
		return "EdDSA", nil
	case "ES256", "ES384", "RS256":
		return alg, nil
	}
	return "", fmt.Errorf("keys: unsupported algorithm %q (want EdDSA, ES256, ES384 or RS256)", alg)
}

var b64 = base64.RawURLEncoding

// thumbprint is the RFC 7638 JWK thumbprint of a private key's public half: SHA-256 over
// the required members in lexicographic order, base64url without padding.
func thumbprint(priv any) (string, error) {
	var canon string
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		canon = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64.EncodeToString(k.Public().(ed25519.PublicKey)))
	case *ecdsa.PrivateKey:
		raw, err := k.PublicKey.Bytes()
		if err != nil {
			return "", err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		canon = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, k.Curve.Params().Name, b64.EncodeToString(raw[1:1+size]), b64.EncodeToString(raw[1+size:]))
	case *rsa.PrivateKey:
		canon = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()), b64.EncodeToString(k.N.Bytes()))
	default:
		return "", fmt.Errorf("keys: unsupported key type %T", priv)
	}
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:]), nil
}
