package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The claims every middleware checks, and the subject every valid token carries.
const (
	Issuer   = "https://issuer.bench.test"
	Audience = "api://bench"
	Subject  = "user-42"
)

// PoolSize is the number of distinct valid tokens the FirstSeen case cycles through, and
// FirstSeenCacheSize the size of authframe's validation cache in that case. The cache is
// first filled with FirstSeenCacheSize other tokens (Fixture.Prefill), so every pool token
// meets a full cache, which admits a token only on its second miss while its doorkeeper
// (FirstSeenCacheSize slots) still remembers the first; PoolSize is large enough that
// PoolSize-1 other misses have overwritten that slot by the time a token comes round
// again. Every request is a miss (TestFirstSeenMissesCache checks it).
const (
	PoolSize           = 16384
	FirstSeenCacheSize = 1024
)

// Algs are the signing algorithms of the matrix.
var Algs = []string{"HS256", "RS256", "ES256"}

// Keys is one algorithm's key material. Verify is what the peers are given (the HMAC
// secret or the public key); authframe gets the same secret or the public key as PEM.
type Keys struct {
	Alg       string
	Method    jwt.SigningMethod
	Sign      any // []byte, *rsa.PrivateKey or *ecdsa.PrivateKey
	Verify    any // []byte, *rsa.PublicKey or *ecdsa.PublicKey
	PublicPEM []byte
}

// NewKeys generates fresh keys for alg: a 32-byte HMAC secret, an RSA-2048 key or a P-256
// key.
func NewKeys(alg string) (*Keys, error) {
	k := &Keys{Alg: alg, Method: jwt.GetSigningMethod(alg)}
	var pub any
	switch alg {
	case "HS256":
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		k.Sign, k.Verify = secret, secret
		return k, nil
	case "RS256":
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		k.Sign, k.Verify, pub = priv, &priv.PublicKey, &priv.PublicKey
	case "ES256":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		k.Sign, k.Verify, pub = priv, &priv.PublicKey, &priv.PublicKey
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	k.PublicPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return k, nil
}

// TokenClaims are the claims of the benchmark tokens. The zero value of each field but
// Subject and ID is filled in by Keys.Token.
type TokenClaims struct {
	Issuer   string
	Audience string
	Subject  string
	ID       string
	Expires  time.Time
	NoExpiry bool
}

// ValidClaims are the claims of a token every middleware accepts; id tells tokens apart.
func ValidClaims(id string) TokenClaims {
	return TokenClaims{Issuer: Issuer, Audience: Audience, Subject: Subject, ID: id, Expires: time.Now().Add(2 * time.Hour)}
}

// Token signs c with k: header {"alg","typ":"at+jwt"} (no kid), claims iss, sub, aud, exp,
// iat and jti.
func (k *Keys) Token(c TokenClaims) (string, error) {
	rc := jwt.RegisteredClaims{
		Issuer:   c.Issuer,
		Subject:  c.Subject,
		ID:       c.ID,
		IssuedAt: jwt.NewNumericDate(time.Now().Add(-time.Minute)),
	}
	if c.Audience != "" {
		rc.Audience = jwt.ClaimStrings{c.Audience}
	}
	if !c.NoExpiry {
		rc.ExpiresAt = jwt.NewNumericDate(c.Expires)
	}
	t := jwt.NewWithClaims(k.Method, rc)
	// An access token as RFC 9068 types it, which authframe requires; the peers ignore it.
	t.Header["typ"] = "at+jwt"
	return t.SignedString(k.Sign)
}

// CorruptSignature changes one character in the middle of tok's signature, so that the
// token still parses (the signature keeps its length and decodes) but does not verify.
// The middle is used because the last base64url character may carry only padding bits.
func CorruptSignature(tok string) string {
	dot := -1
	for i := len(tok) - 1; i >= 0; i-- {
		if tok[i] == '.' {
			dot = i
			break
		}
	}
	b := []byte(tok)
	i := dot + 1 + (len(tok)-dot-1)/2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// Fixture is one algorithm's keys and tokens.
type Fixture struct {
	*Keys
	// Valid is the token of the Repeated case.
	Valid string
	// Invalid is Valid with a corrupted signature.
	Invalid string
	// Pool holds distinct valid tokens (different jti) for the FirstSeen case: the first
	// PoolSize are the requests, the next FirstSeenCacheSize the Prefill.
	Pool []string
}

// Prefill returns the tokens that fill authframe's cache before the FirstSeen case: the
// FirstSeenCacheSize after the first PoolSize of the pool (nil when the pool is smaller).
func (f *Fixture) Prefill() []string {
	if len(f.Pool) < PoolSize+FirstSeenCacheSize {
		return nil
	}
	return f.Pool[PoolSize : PoolSize+FirstSeenCacheSize]
}

// NewFixture generates keys for alg and poolSize distinct valid tokens, signed in
// parallel (RSA signing dominates the set-up).
func NewFixture(alg string, poolSize int) (*Fixture, error) {
	k, err := NewKeys(alg)
	if err != nil {
		return nil, err
	}
	f := &Fixture{Keys: k}
	if f.Valid, err = k.Token(ValidClaims("repeated")); err != nil {
		return nil, err
	}
	f.Invalid = CorruptSignature(f.Valid)
	f.Pool = make([]string, poolSize)
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < poolSize; i += workers {
				tok, err := k.Token(ValidClaims("pool-" + strconv.Itoa(i)))
				if err != nil {
					errs[w] = err
					return
				}
				f.Pool[i] = tok
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// Claims is the claims type given to the peers that take one (echo-jwt, Fiber's jwt, the
// hand-rolled middleware's parser does the same checks with options). golang-jwt calls
// Validate after its own checks of exp, nbf and iat, so a token passes only with an exp,
// the expected issuer and the expected audience: the checks authframe makes.
type Claims struct {
	jwt.RegisteredClaims
}

// Validate implements jwt.ClaimsValidator.
func (c *Claims) Validate() error {
	if c.ExpiresAt == nil {
		return fmt.Errorf("%w: exp", jwt.ErrTokenRequiredClaimMissing)
	}
	if c.Issuer != Issuer {
		return jwt.ErrTokenInvalidIssuer
	}
	if !slices.Contains(c.Audience, Audience) {
		return jwt.ErrTokenInvalidAudience
	}
	return nil
}
