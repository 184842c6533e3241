package dpop

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/authframe/authframe/core/internal/jwk"
)

// Prover signs DPoP proofs with one key. It is safe for concurrent use.
type Prover struct {
	key     crypto.Signer
	alg     string
	hash    crypto.Hash // 0 for Ed25519, which signs the message itself
	size    int         // bytes of r and of s for ECDSA
	header  []byte      // the encoded protected header, the same for every proof
	jkt     string
	nowFunc func() time.Time
}

// NewProver returns a Prover for key: an Ed25519 private key (EdDSA) or an ECDSA P-256
// one (ES256), or any crypto.Signer whose public key is one of those (a key in an HSM or a
// cloud KMS, say).
func NewProver(key crypto.Signer) (*Prover, error) {
	if key == nil {
		return nil, errors.New("dpop: NewProver: nil key")
	}
	p := &Prover{key: key, nowFunc: time.Now}
	pub := key.Public()
	switch k := pub.(type) {
	case ed25519.PublicKey:
		p.alg = "EdDSA"
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("dpop: NewProver: only P-256 ECDSA keys are supported")
		}
		p.alg, p.hash, p.size = "ES256", crypto.SHA256, 32
	default:
		return nil, fmt.Errorf("dpop: NewProver: unsupported key %T (want Ed25519 or ECDSA P-256)", pub)
	}
	members, err := jwk.FromKey(pub)
	if err != nil {
		return nil, fmt.Errorf("dpop: NewProver: %w", err)
	}
	p.jkt = members.Thumbprint()
	j := map[string]string{"kty": members.Kty, "crv": members.Crv, "x": members.X}
	if members.Y != "" {
		j["y"] = members.Y
	}
	h, err := json.Marshal(struct {
		Typ string            `json:"typ"`
		Alg string            `json:"alg"`
		JWK map[string]string `json:"jwk"`
	}{"dpop+jwt", p.alg, j})
	if err != nil {
		return nil, err
	}
	p.header = []byte(b64.EncodeToString(h))
	return p, nil
}

// JKT is the RFC 7638 thumbprint of the Prover's key: the cnf.jkt of the tokens bound
// to it.
func (p *Prover) JKT() string { return p.jkt }

// ProofOption adds to a proof.
type ProofOption interface{ applyProof(*proofClaims) }

type proofOptionFunc func(*proofClaims)

func (f proofOptionFunc) applyProof(c *proofClaims) { f(c) }

// WithAccessToken binds the proof to the access token it accompanies (the ath claim).
func WithAccessToken(token string) ProofOption {
	return proofOptionFunc(func(c *proofClaims) {
		sum := sha256.Sum256([]byte(token))
		c.ATH = b64.EncodeToString(sum[:])
	})
}

// WithNonce adds the server's nonce (from its DPoP-Nonce header).
func WithNonce(nonce string) ProofOption {
	return proofOptionFunc(func(c *proofClaims) { c.Nonce = nonce })
}

// Proof returns a fresh proof for a request of method to target (its query and fragment
// are left out of htu, as RFC 9449 requires), with a random jti and the current time as
// iat. For a token request, pass the token endpoint's URL and no access token.
func (p *Prover) Proof(method, target string, opts ...ProofOption) (string, error) {
	if method == "" {
		return "", errors.New("dpop: proof: empty method")
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("dpop: proof: target is not an absolute http(s) URL")
	}
	htu := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("dpop: proof: %w", err)
	}
	c := proofClaims{HTM: method, HTU: htu, JTI: b64.EncodeToString(jti[:])}
	for _, o := range opts {
		if o != nil {
			o.applyProof(&c)
		}
	}
	payload, err := json.Marshal(struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		ATH   string `json:"ath,omitempty"`
		Nonce string `json:"nonce,omitempty"`
	}{c.JTI, c.HTM, c.HTU, p.nowFunc().Unix(), c.ATH, c.Nonce})
	if err != nil {
		return "", err
	}
	signing := make([]byte, 0, len(p.header)+1+b64.EncodedLen(len(payload)))
	signing = append(signing, p.header...)
	signing = append(signing, '.')
	signing = b64.AppendEncode(signing, payload)
	sig, err := p.sign(signing)
	if err != nil {
		return "", fmt.Errorf("dpop: proof: %w", err)
	}
	return string(b64.AppendEncode(append(signing, '.'), sig)), nil
}

func (p *Prover) sign(msg []byte) ([]byte, error) {
	if p.hash == 0 {
		return p.key.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	h := p.hash.New()
	h.Write(msg)
	der, err := p.key.Sign(rand.Reader, h.Sum(nil), p.hash)
	if err != nil {
		return nil, err
	}
	// A crypto.Signer gives ECDSA signatures in ASN.1; JWS wants r || s, each of the
	// curve's size.
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) > 0 || rs.R == nil || rs.S == nil {
		return nil, errors.New("ECDSA signer returned a malformed signature")
	}
	if rs.R.BitLen() > 8*p.size || rs.S.BitLen() > 8*p.size {
		return nil, errors.New("ECDSA signer returned an oversized signature")
	}
	out := make([]byte, 2*p.size)
	rs.R.FillBytes(out[:p.size])
	rs.S.FillBytes(out[p.size:])
	return out, nil
}

// Transport is an http.RoundTripper that adds a fresh DPoP proof to every request: htm
// and htu from the request, ath when the request carries "Authorization: DPoP <token>",
// and the last nonce the request's origin sent in its DPoP-Nonce header. When a server
// answers use_dpop_nonce (401 with WWW-Authenticate, or 400 at a token endpoint) with a
// new nonce, the request is sent once more with it, if its body can be sent again
// (Request.GetBody, which http.NewRequest sets for in-memory bodies). It is safe for
// concurrent use.
type Transport struct {
	prover *Prover
	base   http.RoundTripper

	mu     sync.Mutex
	nonces map[string]string // origin -> last nonce
}

// maxOrigins bounds the nonces a Transport remembers.
const maxOrigins = 1024

// NewTransport returns a Transport that signs with key (see NewProver) and sends through
// base (http.DefaultTransport when nil).
func NewTransport(key crypto.Signer, base http.RoundTripper) (*Transport, error) {
	p, err := NewProver(key)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{prover: p, base: base, nonces: map[string]string{}}, nil
}

// NewClient returns an http.Client whose requests carry DPoP proofs by key: the one line
// a Go program needs to call a DPoP-protected service (set "Authorization: DPoP <token>"
// on requests that carry a bound token).
func NewClient(key crypto.Signer) (*http.Client, error) {
	t, err := NewTransport(key, nil)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

// Prover returns the Transport's Prover, for its JKT.
func (t *Transport) Prover() *Prover { return t.prover }

func origin(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

func (t *Transport) nonce(o string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nonces[o]
}

func (t *Transport) setNonce(o, n string) {
	if n == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.nonces[o]; !ok && len(t.nonces) >= maxOrigins {
		clear(t.nonces)
	}
	t.nonces[o] = n
}

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, errors.New("dpop: request without a URL")
	}
	o := origin(req.URL)
	sent := t.nonce(o)
	resp, err := t.send(req, req.Body, sent)
	if err != nil {
		return nil, err
	}
	fresh := resp.Header.Get("DPoP-Nonce")
	t.setNonce(o, fresh)
	if fresh == "" || fresh == sent || !asksForNonce(resp) {
		return resp, nil
	}
	var body io.ReadCloser
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil // the body is spent and cannot be sent again
		}
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return t.send(req, body, fresh)
}

func (t *Transport) send(req *http.Request, body io.ReadCloser, nonce string) (*http.Response, error) {
	var opts []ProofOption
	if nonce != "" {
		opts = append(opts, WithNonce(nonce))
	}
	if scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "DPoP") {
		opts = append(opts, WithAccessToken(strings.TrimSpace(tok)))
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet // as net/http reads an empty method
	}
	proof, err := t.prover.Proof(method, req.URL.String(), opts...)
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("DPoP", proof)
	return t.base.RoundTrip(r)
}

// asksForNonce reports whether resp is a use_dpop_nonce answer: a 401 saying so in its
// WWW-Authenticate header (a resource server, RFC 9449 §9), or a 400 saying so in its JSON
// body (an authorization server, §8) or in its WWW-Authenticate header (the token endpoints
// of authframe's own routes, whose error bodies have another shape). The body of a 400 is
// read and put back.
func asksForNonce(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if strings.Contains(v, "use_dpop_nonce") {
			return true
		}
	}
	switch resp.StatusCode {
	case http.StatusBadRequest:
		head, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
		if err != nil {
			return false
		}
		var e struct {
			Error string `json:"error"`
		}
		return json.Unmarshal(head, &e) == nil && e.Error == "use_dpop_nonce"
	}
	return false
}
