package dpop

import (
	"context"
	"errors"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// WithProofs turns DPoP on in a Guard (RFC 9449), with a Verifier built from opts for the
// Guard's public URL (authframe.WithPublicURL, which it requires: a proof's htu is that URL
// followed by the request's path, never a URL read from the request):
//
//   - Authenticate accepts a DPoP-bound token as "Authorization: DPoP <token>" with a proof
//     in the DPoP header: by the token's key (cnf.jkt), for the request's method and URL,
//     carrying the token's hash (ath), fresh (DefaultMaxAge, DefaultMaxAhead) and never seen
//     before by any instance sharing the Guard's store, which must be a store.ReplayStore
//     (every built-in store is). Refusals are 401s with a WWW-Authenticate: DPoP challenge,
//     error="invalid_token" or error="invalid_dpop_proof".
//   - Token requests carrying a valid proof (TokenRequest, which the endpoint handlers
//     call) get tokens bound to its key: the access token carries cnf.jkt, TokenType is
//     "DPoP", and the refresh token of the family refreshes only with a proof by that key.
//
// A token issued without a proof stays a plain bearer token; a bound token is refused as a
// bearer token by every Guard, with or without this option. WithNonces makes every proof
// carry a server nonce (answered with use_dpop_nonce and a DPoP-Nonce header otherwise).
func WithProofs(opts ...Option) authframe.Option {
	return engine.Option(func(cfg any) {
		cfg.(interface{ SetDPoP(engine.DPoPBuilder) }).SetDPoP(func(publicURL string) (engine.DPoP, error) {
			v, err := NewVerifier(publicURL, opts...)
			if err != nil {
				return nil, err
			}
			return checker{v}, nil
		})
	}).(authframe.Option)
}

// guardOps is the Guard internal this package uses (see core/internal/engine).
type guardOps interface {
	DPoPTokenRequest(ctx context.Context, r authframe.Request) (context.Context, error)
}

// TokenRequest checks the DPoP header of r, a request to one of g's token endpoints (a
// login, a refresh, an OAuth token request), and returns the context to issue under:
//
//   - no DPoP header, or a Guard without WithProofs: ctx itself, under which tokens are
//     issued as plain bearer tokens;
//   - a valid proof (htm, htu, iat, a jti never seen before): ctx carrying the proof's key,
//     under which g.IssueTokens, g.Refresh and oauth.IssueToken bind what they issue to it,
//     and g.Refresh accepts the refresh token of a family bound to that key;
//   - anything else: an *authframe.Error of code authframe.ErrInvalidDPoPProof (400, RFC
//     9449 §5), or authframe.ErrUnavailable when the replay store cannot answer.
//
// The endpoint package's handlers call it; call it in a token endpoint of your own.
func TokenRequest(ctx context.Context, g *authframe.Guard, r authframe.Request) (context.Context, error) {
	return engine.Of(g).(guardOps).DPoPTokenRequest(ctx, r)
}

// checker is the Guard's proof checker: a Verifier and the replay check.
type checker struct{ v *Verifier }

func (c checker) Check(ctx context.Context, rs store.ReplayStore, proof, method, path, accessToken, wantJKT string) (string, engine.Reason, error) {
	p, err := c.v.Verify(proof, Request{Method: method, Path: path, AccessToken: accessToken})
	if err != nil {
		if errors.Is(err, ErrUseNonce) {
			return "", engine.ProofNonce, err
		}
		return "", engine.ProofInvalid, err
	}
	if wantJKT != "" && p.JKT != wantJKT {
		return "", engine.ProofInvalid, invalid("the proof's key is not the one the token is bound to")
	}
	if err := c.v.Remember(ctx, rs, p); err != nil {
		if errors.Is(err, ErrInvalidProof) {
			return "", engine.ProofInvalid, err
		}
		return "", engine.ProofUnavailable, err
	}
	return p.JKT, engine.ProofOK, nil
}

func (c checker) Algorithms() []string { return c.v.algs }

func (c checker) Nonce() string {
	if c.v.nonces == nil {
		return ""
	}
	return c.v.nonces.Current()
}
