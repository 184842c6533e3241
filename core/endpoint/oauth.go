package endpoint

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/oauth"
)

// OAuthError is an OAuth 2.0 error response (RFC 6749 §5.2), the shape every /oauth/ route
// answers failures in instead of the contract's.
type OAuthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Status is the HTTP status (400 unless said otherwise).
	Status int `json:"-"`
	// Basic asks for a WWW-Authenticate: Basic challenge (a failed HTTP Basic attempt).
	Basic      bool          `json:"-"`
	RetryAfter time.Duration `json:"-"`
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// oauthFail renders e, with Cache-Control: no-store as every /oauth/ answer.
func oauthFail(e *OAuthError) Output {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	b, _ := json.Marshal(e)
	out := Output{Status: status, Body: b, CacheControl: noStore, Header: http.Header{"Pragma": {"no-cache"}}}
	if e.Basic && status == http.StatusUnauthorized {
		out.Header.Set("WWW-Authenticate", `Basic realm="authframe"`)
	}
	if e.RetryAfter > 0 {
		out.Header.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	return out
}

func oauthInvalid(desc string) Output {
	return oauthFail(&OAuthError{Code: "invalid_request", Description: desc})
}

// oauthFromError maps a Guard error to its OAuth answer; bad is the error code for a
// refused credential (invalid_client, invalid_grant).
func oauthFromError(err error, bad string, basic bool) Output {
	e := AsError(err)
	switch {
	case errors.Is(err, authframe.ErrRateLimited):
		return oauthFail(&OAuthError{Code: "rate_limited", Description: "too many attempts, try again later", Status: http.StatusTooManyRequests, RetryAfter: e.RetryAfter})
	case errors.Is(err, authframe.ErrUnavailable):
		return oauthFail(&OAuthError{Code: "temporarily_unavailable", Description: "the service is temporarily unavailable", Status: http.StatusServiceUnavailable})
	case errors.Is(err, authframe.ErrInvalidCredentials), errors.Is(err, authframe.ErrInvalidToken):
		if bad == "invalid_client" {
			return oauthFail(&OAuthError{Code: bad, Description: "client authentication failed", Status: http.StatusUnauthorized, Basic: basic})
		}
		return oauthFail(&OAuthError{Code: bad, Description: "the grant is not valid"})
	case errors.Is(err, authframe.ErrInvalidRequest):
		return oauthInvalid(e.Message)
	}
	return oauthFail(&OAuthError{Code: "server_error", Description: "internal error", Status: http.StatusInternalServerError})
}

// form parses an OAuth request body: application/x-www-form-urlencoded only, and no
// parameter sent twice (RFC 6749 §3.2).
func form(in Input) (url.Values, *OAuthError) {
	ct := ""
	if in.Request != nil {
		ct = in.Request.Header("Content-Type")
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" {
		return nil, &OAuthError{Code: "invalid_request", Description: "send an application/x-www-form-urlencoded body"}
	}
	v, err := url.ParseQuery(string(in.Body))
	if err != nil {
		return nil, &OAuthError{Code: "invalid_request", Description: "malformed form body"}
	}
	for k, vs := range v {
		if len(vs) > 1 {
			return nil, &OAuthError{Code: "invalid_request", Description: "parameter " + k + " is repeated"}
		}
	}
	return v, nil
}

// clientCredentials returns the client id and secret of a request: HTTP Basic
// (client_secret_basic, both form-urlencoded inside as RFC 6749 §2.3.1 says) or the
// client_id and client_secret parameters (client_secret_post), never both. present is false
// when the request carries neither; basic says which was tried.
func clientCredentials(in Input, v url.Values) (id, secret string, present, basic bool, fail *OAuthError) {
	auth := ""
	if in.Request != nil {
		auth = in.Request.Header("Authorization")
	}
	postID, postSecret := v.Get("client_id"), v.Get("client_secret")
	if auth != "" {
		scheme, rest, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return "", "", false, false, &OAuthError{Code: "invalid_client", Description: "use HTTP Basic or the client_id and client_secret parameters", Status: http.StatusUnauthorized}
		}
		if postSecret != "" {
			return "", "", false, true, &OAuthError{Code: "invalid_request", Description: "use one client authentication method, not two"}
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return "", "", false, true, &OAuthError{Code: "invalid_client", Description: "malformed HTTP Basic credentials", Status: http.StatusUnauthorized, Basic: true}
		}
		u, p, ok := strings.Cut(string(raw), ":")
		if ok {
			u, err = url.QueryUnescape(u)
		}
		if ok && err == nil {
			p, err = url.QueryUnescape(p)
		}
		if !ok || err != nil {
			return "", "", false, true, &OAuthError{Code: "invalid_client", Description: "malformed HTTP Basic credentials", Status: http.StatusUnauthorized, Basic: true}
		}
		if postID != "" && postID != u {
			return "", "", false, true, &OAuthError{Code: "invalid_request", Description: "client_id does not match the HTTP Basic credentials"}
		}
		return u, p, true, true, nil
	}
	if postID == "" && postSecret == "" {
		return "", "", false, false, nil
	}
	if postID == "" || postSecret == "" {
		return "", "", false, false, &OAuthError{Code: "invalid_client", Description: "client_id and client_secret are both required", Status: http.StatusUnauthorized}
	}
	return postID, postSecret, true, false, nil
}

// authenticate requires and checks the request's client.
func (h *Handlers) authenticate(in Input, v url.Values) (oauth.Client, *Output) {
	id, secret, present, basic, fail := clientCredentials(in, v)
	if fail != nil {
		out := oauthFail(fail)
		return oauth.Client{}, &out
	}
	if !present {
		out := oauthFail(&OAuthError{Code: "invalid_client", Description: "client authentication is required", Status: http.StatusUnauthorized})
		return oauth.Client{}, &out
	}
	c, err := oauth.AuthenticateClient(in.Ctx, h.guard, h.client(in), id, secret)
	if err != nil {
		out := oauthFromError(err, "invalid_client", basic)
		return oauth.Client{}, &out
	}
	return c, nil
}

// OAuthToken is POST /oauth/token (RFC 6749 §4.4 and §6): grant_type=client_credentials
// for an authenticated service client, with an optional scope; grant_type=refresh_token
// rotating a user's refresh token as Refresh does. A valid DPoP proof binds what is issued
// (dpop.TokenRequest). Errors in OAuth's shape.
func (h *Handlers) OAuthToken(in Input) Output {
	v, fail := form(in)
	if fail != nil {
		return oauthFail(fail)
	}
	in, err := h.bindProof(in)
	if err != nil {
		return oauthProofError(err)
	}
	switch gt := v.Get("grant_type"); gt {
	case "client_credentials":
		c, out := h.authenticate(in, v)
		if out != nil {
			return *out
		}
		var scopes []string
		if s := v.Get("scope"); s != "" {
			scopes = strings.Fields(s)
			if strings.Join(scopes, " ") != s {
				return oauthFail(&OAuthError{Code: "invalid_scope", Description: "scopes are separated by single spaces"})
			}
		}
		tok, err := oauth.IssueToken(in.Ctx, h.guard, c, scopes)
		if errors.Is(err, oauth.ErrInvalidScope) {
			return oauthFail(&OAuthError{Code: "invalid_scope", Description: "a requested scope is not granted to this client"})
		}
		if err != nil {
			return oauthFromError(err, "invalid_client", false)
		}
		return oauthJSON(http.StatusOK, tok)
	case "refresh_token":
		rt := v.Get("refresh_token")
		if rt == "" {
			return oauthInvalid("refresh_token is required")
		}
		pair, err := h.guard.Refresh(in.Ctx, rt, h.client(in))
		if err != nil {
			return oauthFromError(err, "invalid_grant", false)
		}
		return oauthJSON(http.StatusOK, &oauth.Token{AccessToken: pair.AccessToken, TokenType: pair.TokenType, ExpiresIn: pair.ExpiresIn, RefreshToken: pair.RefreshToken})
	case "":
		return oauthInvalid("grant_type is required")
	default:
		return oauthFail(&OAuthError{Code: "unsupported_grant_type", Description: "grant_type " + strconv.Quote(gt) + " is not supported"})
	}
}

func oauthJSON(status int, v any) Output {
	out := jsonOutput(status, v)
	out.Header = http.Header{"Pragma": {"no-cache"}}
	return out
}

// Introspect is POST /oauth/introspect (RFC 7662), for authenticated clients: a live access
// token or API key is {"active":true,...}, anything else {"active":false}, with no reason.
func (h *Handlers) Introspect(in Input) Output {
	v, fail := form(in)
	if fail != nil {
		return oauthFail(fail)
	}
	if _, out := h.authenticate(in, v); out != nil {
		return *out
	}
	tok := v.Get("token")
	if tok == "" {
		return oauthInvalid("token is required")
	}
	res, err := oauth.Introspect(in.Ctx, h.guard, tok)
	if err != nil {
		return oauthFromError(err, "invalid_request", false)
	}
	return oauthJSON(http.StatusOK, res)
}

// RevokeToken is POST /oauth/revoke (RFC 7009): a refresh token ends its family and
// session, an access token or API key stops working on every instance; 200 also for an
// unknown token. Client authentication is optional, but checked when present.
func (h *Handlers) RevokeToken(in Input) Output {
	v, fail := form(in)
	if fail != nil {
		return oauthFail(fail)
	}
	_, _, present, _, cfail := clientCredentials(in, v)
	if cfail != nil {
		return oauthFail(cfail)
	}
	if present {
		if _, out := h.authenticate(in, v); out != nil {
			return *out
		}
	}
	tok := v.Get("token")
	if tok == "" {
		return oauthInvalid("token is required")
	}
	if err := oauth.Revoke(in.Ctx, h.guard, tok); err != nil {
		return oauthFromError(err, "invalid_request", false)
	}
	return Output{Status: http.StatusOK, CacheControl: noStore, Header: http.Header{"Pragma": {"no-cache"}}}
}
