package authframe

import (
	"cmp"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// RemoteIssuer is a remote token issuer whose access tokens a Guard also accepts: an OpenID
// provider found by discovery, or a JWKS URL. Its keys verify only tokens whose iss is its
// Issuer, and tokens of local keys are never verified with them.
type RemoteIssuer struct {
	// Issuer is the exact iss its tokens carry. Required.
	Issuer string
	// JWKSURL is where its keys are published. Empty: OpenID Connect discovery at
	// Issuer + "/.well-known/openid-configuration".
	JWKSURL string
	// Audience lists the aud values accepted (a token passes when its aud holds any of
	// them). Empty: the Guard's WithAudience. New refuses a remote issuer with neither, since
	// it would accept every token the provider signs for any of its clients.
	Audience []string
	// Types lists the accepted typ headers, compared without case and without an
	// "application/" prefix; "" in the list accepts a token without typ. Empty: "at+jwt",
	// "JWT" and none, the shapes providers give access tokens, which refuses tokens typed as
	// anything else (logout tokens, DPoP proofs, security events).
	Types []string
	// PermissionClaims names the claims mapped onto the principal's permissions, any of
	// "scope" (RFC 9068: a space-separated string), "scp" (Okta) and "permissions"
	// (Auth0), each read as a space-separated string or an array of strings. Empty: all
	// three. []string{"-"} maps none.
	PermissionClaims []string
	// HTTPClient fetches the discovery document and the keys (default: a client with a
	// 10-second timeout).
	HTTPClient *http.Client
	// RefreshInterval is how often the keys are fetched again in the background (default
	// one hour).
	RefreshInterval time.Duration
}

var defaultRemoteTypes = []string{"at+jwt", "jwt", ""}

var defaultPermissionClaims = []string{"scope", "scp", "permissions"}

// WithRemote also accepts access tokens from a remote issuer, such as an OpenID provider:
//
//	authframe.WithRemote(authframe.RemoteIssuer{Issuer: "https://accounts.example", Audience: []string{"my-api"}})
//
// Its keys are refreshed in
// the background and when a token names an unknown kid (at most once every 30 s, and never
// holding a request past its context or 2 s).
func WithRemote(r RemoteIssuer) Option {
	return optionFunc(func(c *config) {
		if r.Issuer == "" {
			optErr(c, "WithRemote", errors.New("empty Issuer"))
			return
		}
		for _, have := range c.remotes {
			if have.Issuer == r.Issuer {
				optErr(c, "WithRemote", fmt.Errorf("issuer %q is configured twice", r.Issuer))
				return
			}
		}
		r.Audience = slices.Clone(r.Audience)
		r.Types = slices.Clone(r.Types)
		r.PermissionClaims = slices.Clone(r.PermissionClaims)
		c.remotes = append(c.remotes, r)
	})
}

// remoteSource is a configured RemoteIssuer with its key set.
type remoteSource struct {
	issuer    string
	audiences []string
	types     []string
	permClaim []string
	keys      keyfunc.Keyfunc
}

// remoteRefreshWait bounds how long a request may wait for the key set to be fetched again
// because its token names an unknown kid.
const remoteRefreshWait = 2 * time.Second

func (g *Guard) setupRemotes() error {
	for _, r := range g.cfg.remotes {
		client := r.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		if containsString(g.cfg.issuers, r.Issuer) {
			return fmt.Errorf("authframe: WithRemote: issuer %q is also a local issuer (WithIssuer): a key source must belong to one issuer", r.Issuer)
		}
		src := &remoteSource{issuer: r.Issuer, audiences: r.Audience, types: r.Types, permClaim: r.PermissionClaims}
		if len(src.audiences) == 0 {
			src.audiences = g.cfg.audiences
		}
		if len(src.audiences) == 0 {
			return fmt.Errorf("authframe: WithRemote: issuer %q has no audience: set RemoteIssuer.Audience or WithAudience, or every token it signs for any client is accepted", r.Issuer)
		}
		if len(src.types) == 0 {
			src.types = defaultRemoteTypes
		}
		if len(src.permClaim) == 0 {
			src.permClaim = defaultPermissionClaims
		} else if len(src.permClaim) == 1 && src.permClaim[0] == "-" {
			src.permClaim = nil
		}
		for _, name := range src.permClaim {
			if !slices.Contains(defaultPermissionClaims, name) {
				return fmt.Errorf("authframe: WithRemote %q: PermissionClaims: %q is not one of scope, scp, permissions", r.Issuer, name)
			}
		}
		u := r.JWKSURL
		if u == "" {
			var err error
			if u, err = discoverJWKS(g.ctx, client, r.Issuer); err != nil {
				return fmt.Errorf("authframe: WithRemote %q: %w", r.Issuer, err)
			}
		}
		kf, err := g.remoteKeys(client, u, cmp.Or(r.RefreshInterval, time.Hour))
		if err != nil {
			return fmt.Errorf("authframe: WithRemote %q: %w", r.Issuer, err)
		}
		src.keys = kf
		g.remotes = append(g.remotes, src)
	}
	return nil
}

// remoteKeys is keyfunc's default HTTP storage for one URL, with two differences: keys
// whose "use" says they are not for signatures are never tried (an absent "use" is
// accepted, as RFC 7517 §4.2 allows), and the wait for a refresh on an unknown kid is
// bounded.
func (g *Guard) remoteKeys(client *http.Client, u string, refresh time.Duration) (keyfunc.Keyfunc, error) {
	store, err := jwkset.NewStorageFromHTTP(u, jwkset.HTTPClientStorageOptions{
		Client:                    client,
		Ctx:                       g.ctx,
		HTTPTimeout:               10 * time.Second,
		NoErrorReturnFirstHTTPReq: false,
		RefreshInterval:           refresh,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			g.log.Warn("authframe: JWKS refresh failed", "url", u, "error", scrubDependencyError(err.Error()))
		},
	})
	if err != nil {
		return nil, scrubbed(err)
	}
	storage, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{u: store},
		RateLimitWaitMax:  remoteRefreshWait,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(30*time.Second), 1),
	})
	if err != nil {
		return nil, err
	}
	return keyfunc.New(keyfunc.Options{Ctx: g.ctx, Storage: storage, UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
}

// scrubbed is err with its text passed through scrubDependencyError.
func scrubbed(err error) error { return errors.New(scrubDependencyError(err.Error())) }

// remoteFor returns the remote source of iss, or nil.
func (g *Guard) remoteFor(iss string) *remoteSource {
	for _, s := range g.remotes {
		if s.issuer == iss {
			return s
		}
	}
	return nil
}

// discoverJWKS reads jwks_uri from the provider's discovery document and checks that the
// document names the same issuer (OpenID Connect Discovery §4.3).
func discoverJWKS(ctx context.Context, client *http.Client, issuer string) (string, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", scrubbed(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery: %s answered %d", u, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("discovery: document names issuer %q, not %q", doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", errors.New("discovery: no jwks_uri")
	}
	return doc.JWKSURI, nil
}

// permissions maps the source's permission claims of a remote token onto permissions.
func (s *remoteSource) permissions(c *parsedClaims) []string {
	var out []string
	for _, name := range s.permClaim {
		var v claimStrings
		switch name {
		case "scope":
			v = c.Scope
		case "scp":
			v = c.Scp
		case "permissions":
			v = c.Permissions
		}
		for _, p := range v {
			if p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// keyFor picks the key of a remote token from its own issuer's key set only, waiting for an
// unknown kid's refresh no longer than ctx allows. keyfunc checks "use" and "alg" only for a
// token that names its kid, and offers a token without kid every key of the set: such a
// token is offered only the signature keys of its own algorithm.
func (s *remoteSource) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["kid"]; ok {
		return s.keys.KeyfuncCtx(ctx)(t)
	}
	all, err := s.keys.Storage().KeyReadAll(ctx)
	if err != nil {
		return nil, err
	}
	var set jwt.VerificationKeySet
	for _, k := range all {
		m := k.Marshal()
		if (m.USE != jwkset.UseSig && m.USE != "") || (m.ALG != "" && m.ALG.String() != t.Method.Alg()) {
			continue
		}
		key := k.Key()
		if priv, ok := key.(interface{ Public() crypto.PublicKey }); ok {
			key = priv.Public()
		}
		set.Keys = append(set.Keys, key)
	}
	if len(set.Keys) == 0 {
		return nil, errUnknownKey
	}
	return set, nil
}
