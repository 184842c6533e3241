// Package jwk computes RFC 7638 JSON Web Key thumbprints and reads public JWKs. It is the
// one place that does either: the JWKS kid of the Guard's keys and the cnf.jkt of DPoP
// proofs both come from here, so that the two can never disagree.
package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// Public holds the members of a public JWK that its RFC 7638 thumbprint covers, as
// base64url strings (RFC 7518).
type Public struct {
	Kty, Crv, N, E, X, Y string
}

var b64 = base64.RawURLEncoding

// FromKey returns the members of pub: an *rsa.PublicKey, an *ecdsa.PublicKey or an
// ed25519.PublicKey.
func FromKey(pub crypto.PublicKey) (Public, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return Public{Kty: "RSA", N: b64.EncodeToString(p.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		raw, err := p.Bytes() // uncompressed point: 0x04 || X || Y
		if err != nil {
			return Public{}, err
		}
		return Public{Kty: "EC", Crv: p.Curve.Params().Name, X: b64.EncodeToString(raw[1 : 1+size]), Y: b64.EncodeToString(raw[1+size:])}, nil
	case ed25519.PublicKey:
		return Public{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(p)}, nil
	}
	return Public{}, fmt.Errorf("unsupported public key %T", pub)
}

// Thumbprint is the RFC 7638 thumbprint: SHA-256 over the JSON object of the required
// members of the key type, in lexicographic order and without white space, base64url
// without padding. A key type other than RSA, EC and OKP hashes the empty string.
func (p Public) Thumbprint() string {
	q := func(s string) string {
		b, _ := json.Marshal(s) // a string always marshals
		return string(b)
	}
	var canon string
	switch p.Kty {
	case "RSA":
		canon = `{"e":` + q(p.E) + `,"kty":"RSA","n":` + q(p.N) + `}`
	case "EC":
		canon = `{"crv":` + q(p.Crv) + `,"kty":"EC","x":` + q(p.X) + `,"y":` + q(p.Y) + `}`
	case "OKP":
		canon = `{"crv":` + q(p.Crv) + `,"kty":"OKP","x":` + q(p.X) + `}`
	}
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:])
}

// Thumbprint is the RFC 7638 thumbprint of pub.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	p, err := FromKey(pub)
	if err != nil {
		return "", err
	}
	return p.Thumbprint(), nil
}

// privateMembers are the members that only a private or symmetric JWK holds (RFC 7518
// §6.2.2, §6.3.2, §6.4; RFC 8037 for OKP's d).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ErrPrivate is returned by ParsePublic for a JWK that holds private or symmetric key
// material: a key that was meant to stay secret has been published, and is refused.
var ErrPrivate = errors.New("jwk holds private key material")

// Limits of the RSA keys ParsePublic accepts: below 2048 bits a key is too weak, and above
// 8192 its verification costs enough to make proofs a cheap way to load a server.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// ParsePublic reads a public JWK (a JSON object already decoded into a map): EC P-256 and
// P-384, OKP Ed25519, or RSA of MinRSABits to MaxRSABits. Members are strict base64url
// (no padding, one spelling per value), EC coordinates of the curve's exact size, RSA
// values without leading zeros, so that the key has one encoding and one thumbprint. A JWK
// with a private member is ErrPrivate.
func ParsePublic(m map[string]any) (crypto.PublicKey, error) {
	for _, name := range privateMembers {
		if _, ok := m[name]; ok {
			return nil, ErrPrivate
		}
	}
	str := func(name string) (string, error) {
		v, ok := m[name]
		if !ok {
			return "", fmt.Errorf("jwk has no %q", name)
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("jwk member %q is not a string", name)
		}
		return s, nil
	}
	bin := func(name string) ([]byte, error) {
		s, err := str(name)
		if err != nil {
			return nil, err
		}
		b, err := b64.Strict().DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("jwk member %q is not base64url", name)
		}
		return b, nil
	}
	kty, err := str("kty")
	if err != nil {
		return nil, err
	}
	switch kty {
	case "EC":
		crv, err := str("crv")
		if err != nil {
			return nil, err
		}
		var curve elliptic.Curve
		switch crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("jwk curve %q is not supported (P-256, P-384)", crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := bin("x")
		if err != nil {
			return nil, err
		}
		y, err := bin("y")
		if err != nil {
			return nil, err
		}
		if len(x) != size || len(y) != size {
			return nil, fmt.Errorf("jwk coordinates of %s must be %d bytes each", crv, size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("jwk point is not on its curve")
		}
		return pub, nil
	case "OKP":
		crv, err := str("crv")
		if err != nil {
			return nil, err
		}
		if crv != "Ed25519" {
			return nil, fmt.Errorf("jwk curve %q is not supported (Ed25519)", crv)
		}
		x, err := bin("x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("jwk Ed25519 key must be %d bytes", ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(x), nil
	case "RSA":
		n, err := bin("n")
		if err != nil {
			return nil, err
		}
		e, err := bin("e")
		if err != nil {
			return nil, err
		}
		if len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 {
			return nil, errors.New("jwk RSA values must be non-empty and without leading zeros")
		}
		if bits := new(big.Int).SetBytes(n).BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return nil, fmt.Errorf("jwk RSA key of %d bits is not allowed (%d to %d)", bits, MinRSABits, MaxRSABits)
		}
		if len(e) > 4 {
			return nil, errors.New("jwk RSA exponent is too large")
		}
		var exp int64
		for _, b := range e {
			exp = exp<<8 | int64(b)
		}
		if exp < 3 || exp > 1<<31-1 || exp%2 == 0 {
			return nil, errors.New("jwk RSA exponent must be odd, at least 3 and below 2^31")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}, nil
	}
	return nil, fmt.Errorf("jwk key type %q is not supported (EC, OKP, RSA)", kty)
}
