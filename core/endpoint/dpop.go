package endpoint

import (
	"net/http"
	"strings"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/dpop"
)

// bindProof checks the DPoP proof of a token request (dpop.TokenRequest) and returns in
// with the context to issue under: bound to the proof's key when there is one.
func (h *Handlers) bindProof(in Input) (Input, error) {
	if in.Request == nil {
		return in, nil
	}
	ctx, err := dpop.TokenRequest(in.Ctx, h.guard, in.Request)
	if err != nil {
		return in, err
	}
	in.Ctx = ctx
	return in, nil
}

// oauthProofError is the OAuth answer to a refused proof at /oauth/token: 400
// invalid_dpop_proof, or use_dpop_nonce with the DPoP-Nonce header (RFC 9449 §5, §8).
func oauthProofError(err error) Output {
	e := AsError(err)
	if e.Code.Wire() != authframe.ErrInvalidDPoPProof {
		return oauthFromError(err, "invalid_grant", false)
	}
	if e.DPoPNonce != "" {
		out := oauthFail(&OAuthError{Code: "use_dpop_nonce", Description: "sign the proof again with the DPoP-Nonce header's nonce"})
		out.Header.Set("DPoP-Nonce", e.DPoPNonce)
		return out
	}
	return oauthFail(&OAuthError{Code: "invalid_dpop_proof", Description: e.Message})
}

// dpopChallenge is the WWW-Authenticate value of a refused DPoP request (RFC 9449 §7.1):
// the accepted algorithms, the error (use_dpop_nonce when a nonce is handed out) and its
// description.
func dpopChallenge(e *authframe.Error, msg string) string {
	code := string(e.Code.Wire())
	if e.DPoPNonce != "" {
		code = "use_dpop_nonce"
	}
	v := `DPoP algs="` + strings.Join(e.DPoPAlgorithms, " ") + `", error="` + code + `"`
	if msg != "" {
		v += `, error_description="` + strings.NewReplacer(`"`, "'", `\`, "/").Replace(msg) + `"`
	}
	return v
}

// dpopHeaders are the headers of a DPoP refusal: the challenge on a 401 (and on a 400 that
// hands out a nonce, so that a client can tell it from the header alone), and DPoP-Nonce.
func dpopHeaders(e *authframe.Error, status int, msg string) [][2]string {
	var hs [][2]string
	if status == http.StatusUnauthorized || e.DPoPNonce != "" {
		hs = append(hs, [2]string{"WWW-Authenticate", dpopChallenge(e, msg)})
	}
	if e.DPoPNonce != "" {
		hs = append(hs, [2]string{"DPoP-Nonce", e.DPoPNonce})
	}
	return hs
}
