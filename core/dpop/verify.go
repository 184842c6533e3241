package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/core/internal/jwk"
	"github.com/authframe/authframe/core/store"
)

var (
	// ErrInvalidProof is matched (errors.Is) by every refusal of a proof, replays
	// included: the answer is invalid_dpop_proof (RFC 9449 §5, §7.1). The error's text
	// says why, without quoting the proof.
	ErrInvalidProof = errors.New("dpop: invalid proof")
	// ErrReplayed is returned by Remember for a proof whose jti was seen before. It
	// matches ErrInvalidProof too.
	ErrReplayed = fmt.Errorf("%w: jti seen before (replay)", ErrInvalidProof)
	// ErrUseNonce is returned when the Verifier requires server nonces (WithNonces) and
	// the proof has none, or a stale or foreign one: the answer is use_dpop_nonce, with
	// the DPoP-Nonce header set to Nonces.Current, and the client retries with it.
	ErrUseNonce = errors.New("dpop: a fresh server nonce is required")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidProof}, args...)...)
}

// DefaultAlgorithms are the algorithms a Verifier accepts unless WithAlgorithms narrows
// them: asymmetric only.
var DefaultAlgorithms = []string{"ES256", "ES384", "EdDSA", "RS256", "PS256"}

// Limits of a proof.
const (
	// DefaultMaxProofSize bounds the DPoP header: a proof with an RSA-8192 jwk fits.
	DefaultMaxProofSize = 8 << 10
	// MaxJTILength bounds the jti: RFC 9449 asks for 96 random bits, 16 base64url bytes.
	MaxJTILength = 256
	// DefaultMaxAge and DefaultMaxAhead are the iat window: a proof is accepted from
	// DefaultMaxAhead before its iat (clocks that run fast) to DefaultMaxAge after it.
	DefaultMaxAge   = 60 * time.Second
	DefaultMaxAhead = 5 * time.Second
)

// Option configures a Verifier.
type Option interface{ apply(*Verifier) }

type optionFunc func(*Verifier)

func (f optionFunc) apply(v *Verifier) { f(v) }

// WithWindow sets how old (maxAge, 1 second to 10 minutes) and how far ahead of the
// server's clock (maxAhead, 0 to 1 minute) a proof's iat may be. Replay entries are kept
// for maxAge.
func WithWindow(maxAge, maxAhead time.Duration) Option {
	return optionFunc(func(v *Verifier) {
		if maxAge < time.Second || maxAge > 10*time.Minute || maxAhead < 0 || maxAhead > time.Minute {
			v.errs = append(v.errs, fmt.Errorf("dpop: WithWindow(%v, %v): want 1s to 10m back and 0 to 1m ahead", maxAge, maxAhead))
			return
		}
		v.maxAge, v.maxAhead = maxAge, maxAhead
	})
}

// WithAlgorithms narrows the accepted algorithms to a non-empty subset of
// DefaultAlgorithms.
func WithAlgorithms(algs ...string) Option {
	return optionFunc(func(v *Verifier) {
		if len(algs) == 0 {
			v.errs = append(v.errs, errors.New("dpop: WithAlgorithms needs at least one algorithm"))
			return
		}
		for _, a := range algs {
			if !slicesContains(DefaultAlgorithms, a) {
				v.errs = append(v.errs, fmt.Errorf("dpop: WithAlgorithms: %q is not one of %v", a, DefaultAlgorithms))
				return
			}
		}
		v.algs = append([]string(nil), algs...)
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// WithMaxProofSize sets the largest proof accepted, in bytes (512 to 64 KiB; default
// DefaultMaxProofSize).
func WithMaxProofSize(n int) Option {
	return optionFunc(func(v *Verifier) {
		if n < 512 || n > 64<<10 {
			v.errs = append(v.errs, fmt.Errorf("dpop: WithMaxProofSize(%d): want 512 to 65536", n))
			return
		}
		v.maxSize = n
	})
}

// WithNonces requires every proof to carry a nonce that n issued (the current or the
// previous slice's); a proof without one is ErrUseNonce.
func WithNonces(n *Nonces) Option {
	return optionFunc(func(v *Verifier) {
		if n == nil {
			v.errs = append(v.errs, errors.New("dpop: WithNonces(nil)"))
			return
		}
		v.nonces = n
	})
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(v *Verifier) {
		if now == nil {
			v.errs = append(v.errs, errors.New("dpop: WithClock(nil)"))
			return
		}
		v.now = now
	})
}

// Verifier checks DPoP proofs sent to one service. It is immutable and safe for
// concurrent use.
type Verifier struct {
	base     string // the normalised public URL, without a trailing slash
	maxAge   time.Duration
	maxAhead time.Duration
	maxSize  int
	algs     []string
	nonces   *Nonces
	now      func() time.Time
	parser   *jwt.Parser
	errs     []error
}

// NewVerifier returns a Verifier for the service whose public URL is publicURL: the
// scheme, host, port and base path that clients call (AUTHFRAME_PUBLIC_URL), against
// which a proof's htu is compared. It is configuration, never read from a request's Host
// or forwarded headers, which a client controls.
func NewVerifier(publicURL string, opts ...Option) (*Verifier, error) {
	base, err := normalizeHTU(publicURL)
	if err != nil {
		return nil, fmt.Errorf("dpop: public URL: %v", err)
	}
	if u := publicURL; strings.ContainsAny(u, "?#") {
		return nil, errors.New("dpop: public URL: has a query or a fragment")
	}
	v := &Verifier{
		base: strings.TrimSuffix(base, "/"), maxAge: DefaultMaxAge, maxAhead: DefaultMaxAhead,
		maxSize: DefaultMaxProofSize, algs: DefaultAlgorithms, now: time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(v)
		}
	}
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	v.parser = jwt.NewParser(jwt.WithValidMethods(v.algs), jwt.WithStrictDecoding(), jwt.WithoutClaimsValidation())
	return v, nil
}

// Request is what a proof is checked against.
type Request struct {
	// Method is the request's method, which htm must equal exactly.
	Method string
	// Path is the request's path as received (r.URL.EscapedPath()); the proof's htu must
	// be the public URL followed by it. The query is not part of it.
	Path string
	// AccessToken is the token the proof accompanies (Authorization: DPoP <token>): when
	// set, the proof's ath must be its hash. Leave it empty at a token endpoint.
	AccessToken string
}

// Proof is what a verified proof tells.
type Proof struct {
	// JKT is the RFC 7638 thumbprint (base64url SHA-256) of the proof's key: the cnf.jkt
	// of a token bound to it.
	JKT string
	// JTI is the proof's unique id, for the replay check (Remember).
	JTI string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
	// Nonce is the proof's server nonce, empty when none.
	Nonce string
	// Key is the proof's public key.
	Key crypto.PublicKey
}

type proofClaims struct {
	HTM   string           `json:"htm"`
	HTU   string           `json:"htu"`
	IAT   *jwt.NumericDate `json:"iat"`
	JTI   string           `json:"jti"`
	ATH   string           `json:"ath"`
	Nonce string           `json:"nonce"`
}

// The jwt.Claims methods; claims validation is the Verifier's own.
func (c *proofClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (c *proofClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IAT, nil }
func (c *proofClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *proofClaims) GetIssuer() (string, error)                   { return "", nil }
func (c *proofClaims) GetSubject() (string, error)                  { return "", nil }
func (c *proofClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// keyFits reports whether pub is a key of algorithm alg.
func keyFits(alg string, pub crypto.PublicKey) bool {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		return alg == "ES256" && p.Curve == elliptic.P256() || alg == "ES384" && p.Curve == elliptic.P384()
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "PS256"
	}
	return false
}

// keyOf reads the proof's key from its jwk header, after checking the header's typ and
// that the key fits alg (which the parser has checked against the allowed algorithms).
func (v *Verifier) keyOf(t *jwt.Token) (crypto.PublicKey, error) {
	if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, "dpop+jwt") {
		return nil, errors.New("typ is not dpop+jwt")
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("crit header is not supported")
	}
	m, ok := t.Header["jwk"].(map[string]any)
	if !ok {
		return nil, errors.New("no jwk header")
	}
	pub, err := jwk.ParsePublic(m)
	if err != nil {
		return nil, err
	}
	alg, _ := t.Header["alg"].(string)
	if !keyFits(alg, pub) {
		return nil, errors.New("jwk does not fit alg")
	}
	if a, ok := m["alg"]; ok && a != alg {
		return nil, errors.New("jwk alg differs from the header's")
	}
	return pub, nil
}

// Verify checks proof (the DPoP header's value) against r: its form, signature and key,
// htm, htu, iat, ath when r has an access token, and the server nonce when the Verifier
// requires one. A refusal matches ErrInvalidProof, or ErrUseNonce for a missing or stale
// nonce. Verify does not check replay: call Remember with the result.
func (v *Verifier) Verify(proof string, r Request) (*Proof, error) {
	switch {
	case proof == "":
		return nil, invalid("no proof")
	case len(proof) > v.maxSize:
		return nil, invalid("proof larger than %d bytes", v.maxSize)
	case strings.Count(proof, ".") != 2:
		return nil, invalid("not a compact JWS")
	}
	var c proofClaims
	var key crypto.PublicKey
	_, err := v.parser.ParseWithClaims(proof, &c, func(t *jwt.Token) (any, error) {
		k, err := v.keyOf(t)
		key = k
		return k, err
	})
	if err != nil {
		return nil, invalid("%v", err)
	}
	if c.JTI == "" || len(c.JTI) > MaxJTILength {
		return nil, invalid("jti missing or longer than %d bytes", MaxJTILength)
	}
	if c.HTM == "" || c.HTM != r.Method {
		return nil, invalid("htm is not the request's method")
	}
	got, err := normalizeHTU(c.HTU)
	if err != nil {
		return nil, invalid("htu: %v", err)
	}
	want, err := v.target(r.Path)
	if err != nil {
		return nil, invalid("request path: %v", err)
	}
	if got != want {
		return nil, invalid("htu is not this resource's URI")
	}
	if c.IAT == nil {
		return nil, invalid("no iat")
	}
	now, iat := v.now(), c.IAT.Time
	if iat.After(now.Add(v.maxAhead)) {
		return nil, invalid("iat is in the future")
	}
	if iat.Before(now.Add(-v.maxAge)) {
		return nil, invalid("iat is too old")
	}
	if r.AccessToken != "" {
		sum := sha256.Sum256([]byte(r.AccessToken))
		if c.ATH == "" || subtle.ConstantTimeCompare([]byte(c.ATH), []byte(b64.EncodeToString(sum[:]))) != 1 {
			return nil, invalid("ath is not the access token's hash")
		}
	}
	if v.nonces != nil && !v.nonces.ValidAt(c.Nonce, now) {
		return nil, ErrUseNonce
	}
	jkt, err := jwk.Thumbprint(key)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return &Proof{JKT: jkt, JTI: c.JTI, IssuedAt: iat, Nonce: c.Nonce, Key: key}, nil
}

// target is the normalised htu a proof for path must carry.
func (v *Verifier) target(path string) (string, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if strings.ContainsAny(path, "?#") {
		return "", errors.New("has a query or a fragment")
	}
	return normalizeHTU(v.base + path)
}

// Remember records the proof's jti in rs until the proof is too old to be accepted, so
// that every instance sharing rs accepts it once; ErrReplayed (which matches
// ErrInvalidProof) when it was seen before. The key is the proof's key thumbprint and jti,
// so that clients never collide on each other's jti.
func (v *Verifier) Remember(ctx context.Context, rs store.ReplayStore, p *Proof) error {
	if rs == nil || p == nil {
		return errors.New("dpop: Remember needs a replay store and a proof")
	}
	fresh, err := rs.Remember(ctx, "dpop:"+p.JKT+":"+p.JTI, p.IssuedAt.Add(v.maxAge))
	if err != nil {
		return fmt.Errorf("dpop: replay check: %w", err)
	}
	if !fresh {
		return ErrReplayed
	}
	return nil
}
