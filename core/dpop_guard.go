package authframe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/internal/ctxkey"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// Sender-constrained tokens (DPoP, RFC 9449): the Guard's side. Package dpop verifies
// proofs and registers its checker with WithProofs; this file binds what the Guard issues
// to a proof's key and checks bound tokens with their proofs.
//
// The flow of a key thumbprint: an endpoint verifies the proof of a token request
// (dpopTokenRequest, reached through dpop.TokenRequest) and puts the key's thumbprint in the
// context; IssueTokens, Refresh and the client-credentials grant read it there and bind
// what they issue (cnf.jkt in the access token, Session.JKT and the refresh token's tail
// for the family). At a resource, Authenticate sends "Authorization: DPoP" to
// authenticateDPoP: the token is verified as any other (the cache keeps its Principal with
// its JKT), then the proof, one signature, and its jti, one replay-store write.

// SetDPoP registers the DPoP proof checker's builder; New calls it with the public URL.
// It is reached by package dpop through engine.Option.
func (c *config) SetDPoP(b engine.DPoPBuilder) { c.dpop = b }

// setupDPoP builds the proof checker of dpop.WithProofs, which needs the public URL that
// proofs name and a store that records their jti across instances.
func (g *Guard) setupDPoP() error {
	if g.cfg.dpop == nil {
		return nil
	}
	if g.cfg.publicURL == "" {
		return errors.New("authframe: dpop.WithProofs needs WithPublicURL: the URL that proofs name (their htu), which is never read from a request")
	}
	rs, ok := store.As[store.ReplayStore](g.store)
	if !ok {
		return errors.New("authframe: dpop.WithProofs: the store cannot record the jti of proofs (store.ReplayStore), so replays could not be refused")
	}
	d, err := g.cfg.dpop(g.cfg.publicURL)
	if err != nil {
		return fmt.Errorf("authframe: dpop.WithProofs: %w", err)
	}
	g.dpop, g.replay = d, rs
	return nil
}

// dpopToken returns the token of "Authorization: DPoP <token>" (the scheme in any case).
func dpopToken(r Request) (string, bool) {
	h := r.Header("Authorization")
	if len(h) < 5 || !strings.EqualFold(h[:5], "dpop ") {
		return "", false
	}
	return strings.TrimSpace(h[5:]), true
}

var (
	errNotBound   = invalidToken("token is not bound to a DPoP key: present it with the Bearer scheme", nil)
	errRefreshKey = errors.New("refresh token of a DPoP-bound family presented without a proof by its key")
)

// authenticateDPoP checks a DPoP-bound token and its proof: the token as VerifyToken does
// (cached after its first sight), then that it is bound, then the proof (htm, htu, ath, iat,
// its key the bound one) and last its jti, recorded once across every instance sharing the
// store. Refusals are 401s with a DPoP challenge.
func (g *Guard) authenticateDPoP(ctx context.Context, r Request, tok string) (*Principal, error) {
	if tok == "" {
		return nil, g.dpopChallenge(invalidToken("malformed token", errShape))
	}
	if strings.HasPrefix(tok, credential.APIKeyPrefix) {
		return nil, g.dpopChallenge(errNotBound)
	}
	p, err := g.verifyToken(ctx, tok)
	if err != nil {
		return nil, g.dpopChallenge(err)
	}
	if p.JKT == "" {
		return nil, g.dpopChallenge(errNotBound)
	}
	_, reason, err := g.dpop.Check(ctx, g.replay, r.Header("DPoP"), r.Method(), escapedPath(r.Path()), tok, p.JKT)
	if reason != engine.ProofOK {
		return nil, g.proofRefusal(ctx, reason, err, http.StatusUnauthorized)
	}
	return p, nil
}

// dpopTokenRequest checks the DPoP header of a request to a token endpoint: none (or a
// Guard without dpop.WithProofs) leaves ctx as it is, and what is issued under it stays a
// bearer token; a valid proof returns ctx carrying its key, to which what is issued under
// it is bound; anything else is a 400 invalid_dpop_proof (RFC 9449 §5).
func (g *Guard) dpopTokenRequest(ctx context.Context, r Request) (context.Context, error) {
	if g.dpop == nil || r == nil {
		return ctx, nil
	}
	proof := r.Header("DPoP")
	if proof == "" {
		return ctx, nil
	}
	jkt, reason, err := g.dpop.Check(ctx, g.replay, proof, r.Method(), escapedPath(r.Path()), "", "")
	if reason != engine.ProofOK {
		return ctx, g.proofRefusal(ctx, reason, err, 0)
	}
	return ctxkey.WithJKT(ctx, jkt), nil
}

// dpopChallenge turns a refusal of the token of a DPoP request into the same refusal with a
// DPoP challenge instead of a Bearer one; other failures (503) are left as they are.
func (g *Guard) dpopChallenge(err error) error {
	var e Error
	if x, ok := errors.AsType[*Error](err); ok {
		e = *x
	} else if c, ok := errors.AsType[Code](err); ok {
		e = Error{Code: c}
	} else {
		return err
	}
	if e.Code.Wire() != ErrInvalidToken {
		return err
	}
	e.Bearer, e.TokenPresented = false, false
	e.DPoP, e.DPoPAlgorithms = true, g.dpop.Algorithms()
	return &e
}

// proofRefusal answers a proof that Check refused: invalid_dpop_proof (status 400 at a token
// endpoint, 401 at a resource), with a fresh nonce when the proof lacked it, or 503 when
// the replay store could not answer.
func (g *Guard) proofRefusal(ctx context.Context, reason engine.Reason, err error, status int) error {
	switch reason {
	case engine.ProofUnavailable:
		return g.storeErr(ctx, "dpop_replay", err)
	case engine.ProofNonce:
		return &Error{Code: ErrInvalidDPoPProof, Status: status, Message: "a fresh DPoP nonce is required: sign the proof again with the DPoP-Nonce header's",
			Err: err, DPoP: true, DPoPAlgorithms: g.dpop.Algorithms(), DPoPNonce: g.dpop.Nonce()}
	}
	msg := "DPoP proof is not valid"
	if err != nil {
		// The checker's reasons never quote the proof; they say which check failed.
		if _, why, ok := strings.Cut(err.Error(), "invalid proof: "); ok {
			msg += ": " + why
		}
	}
	return &Error{Code: ErrInvalidDPoPProof, Status: status, Message: msg, Err: err, DPoP: true, DPoPAlgorithms: g.dpop.Algorithms()}
}

// escapedPath is the request path as a URI would spell it: the adapters give the decoded
// path, which needs escaping only when it holds characters a URI path cannot.
func escapedPath(p string) string {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"#%<>?[\]^`+"`{|}", c) >= 0 {
			return (&url.URL{Path: p}).EscapedPath()
		}
	}
	return p
}

// tokenType is the token_type of what is issued bound to jkt: "DPoP", or "Bearer" for "".
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

// refreshKeySep separates a bound family's refresh token from the thumbprint it carries.
// It is outside base64url's alphabet, so that no unbound token has it.
const refreshKeySep = "~"

// newRefreshToken returns a fresh refresh token of session sid: sid.<256 random bits>, and
// for a family bound to jkt, ~jkt after it. The store keeps only its hash, so the
// thumbprint can be neither added nor removed nor changed by a client.
func newRefreshToken(sid, jkt string) string {
	rt := sid + "." + randomString(32)
	if jkt != "" {
		rt += refreshKeySep + jkt
	}
	return rt
}

// refreshJKT is the thumbprint a refresh token names, "" for an unbound family's.
func refreshJKT(rt string) string {
	if i := strings.LastIndex(rt, refreshKeySep); i >= 0 {
		return rt[i+len(refreshKeySep):]
	}
	return ""
}
