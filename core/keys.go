package authframe

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/core/internal/engine"
	ijwk "github.com/authframe/authframe/core/internal/jwk"
	"github.com/authframe/authframe/core/store"
)

// minHMACSecret is the shortest HMAC secret accepted: 32 bytes, the output size of SHA-256.
const minHMACSecret = 32

// key is one verification key, and a signing key when priv is set.
type key struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	// verify is what golang-jwt verifies with: []byte for HMAC, a public key otherwise.
	verify any
	// sign is what golang-jwt signs with: []byte for HMAC, a private key otherwise.
	sign any
	// state is where the key stands in a rotation (see Key.State).
	state store.KeyState
	// info is what a rotating ring says of the key (its times), without the PEM.
	info engine.RingKey
}

// parsePEMKey reads the first key block of a PEM document: PKCS#8, PKCS#1 or SEC1 private
// keys, or PKIX / PKCS#1 public keys. rsaAlg picks RS256/384/512 or PS256/384/512 for RSA.
func parsePEMKey(data []byte, rsaAlg string) (*key, error) {
	var block *pem.Block
	rest := data
	for {
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM key block found")
		}
		if block.Type != "EC PARAMETERS" {
			break
		}
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		parsed, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			parsed = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	return newAsymmetricKey(parsed, rsaAlg)
}

// newAsymmetricKey wraps a crypto key, deriving its single algorithm and RFC 7638 kid.
func newAsymmetricKey(k any, rsaAlg string) (*key, error) {
	out := &key{}
	var pub crypto.PublicKey
	switch k := k.(type) {
	case *rsa.PrivateKey:
		out.sign, pub = k, &k.PublicKey
	case *rsa.PublicKey:
		pub = k
	case *ecdsa.PrivateKey:
		out.sign, pub = k, &k.PublicKey
	case *ecdsa.PublicKey:
		pub = k
	case ed25519.PrivateKey:
		out.sign, pub = k, k.Public()
	case *ed25519.PrivateKey:
		out.sign, pub = *k, k.Public()
	case ed25519.PublicKey:
		pub = k
	default:
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	out.verify = pub
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too short (at least 2048)", p.N.BitLen())
		}
		if rsaAlg == "" {
			rsaAlg = "RS256"
		}
		switch rsaAlg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		default:
			return nil, fmt.Errorf("algorithm %q does not fit an RSA key", rsaAlg)
		}
		out.alg = rsaAlg
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			out.alg = "ES256"
		case elliptic.P384():
			out.alg = "ES384"
		case elliptic.P521():
			out.alg = "ES512"
		default:
			return nil, errors.New("unsupported elliptic curve")
		}
	case ed25519.PublicKey:
		out.alg = "EdDSA"
	}
	out.method = jwt.GetSigningMethod(out.alg)
	jwk, err := publicJWK(pub)
	if err != nil {
		return nil, err
	}
	out.kid = jwk.thumbprint()
	return out, nil
}

func newHMACKey(kid string, secret []byte, alg string) (*key, error) {
	if len(secret) < minHMACSecret {
		return nil, fmt.Errorf("HMAC secret is %d bytes, at least %d are required", len(secret), minHMACSecret)
	}
	if alg == "" {
		alg = "HS256"
	}
	switch alg {
	case "HS256", "HS384", "HS512":
	default:
		return nil, fmt.Errorf("algorithm %q is not an HMAC algorithm", alg)
	}
	s := append([]byte(nil), secret...)
	return &key{kid: kid, alg: alg, method: jwt.GetSigningMethod(alg), verify: s, sign: s}, nil
}

// jwk is a public JSON Web Key, as served by the JWKS endpoint.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a JSON Web Key Set.
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

var b64 = base64.RawURLEncoding

func publicJWK(pub crypto.PublicKey) (jwk, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64.EncodeToString(p.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		raw, err := p.Bytes() // uncompressed point: 0x04 || X || Y
		if err != nil {
			return jwk{}, err
		}
		return jwk{Kty: "EC", Crv: p.Curve.Params().Name, X: b64.EncodeToString(raw[1 : 1+size]), Y: b64.EncodeToString(raw[1+size:])}, nil
	case ed25519.PublicKey:
		return jwk{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(p)}, nil
	}
	return jwk{}, fmt.Errorf("unsupported public key %T", pub)
}

// thumbprint is the RFC 7638 jwk thumbprint: SHA-256 over the required members in
// lexicographic order, base64url without padding.
func (j jwk) thumbprint() string {
	return ijwk.Public{Kty: j.Kty, Crv: j.Crv, N: j.N, E: j.E, X: j.X, Y: j.Y}.Thumbprint()
}

// jwksJSON renders the public keys among ks (HMAC keys are never published).
func jwksJSON(ks []*key) []byte {
	set := jwkSet{Keys: []jwk{}}
	for _, k := range ks {
		if _, sym := k.verify.([]byte); sym {
			continue
		}
		j, err := publicJWK(k.verify)
		if err != nil {
			continue
		}
		j.Kid, j.Use, j.Alg = k.kid, "sig", k.alg
		set.Keys = append(set.Keys, j)
	}
	b, _ := json.Marshal(set)
	return b
}
