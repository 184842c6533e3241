package authframe

import (
	"context"
	"errors"
	"fmt"
	"github.com/authframe/authframe/core/audit"
	"net/url"
	"strings"
)

// WithPublicURL sets the app's external origin (scheme, host and port, such as
// "https://app.example"): a browser request whose Origin header names another origin is
// then treated as cross-site by CheckLoginOrigin and by the check on cookie-borne tokens.
// Without it only Sec-Fetch-Site is consulted. It is also the URL that DPoP proofs name
// (their htu is it followed by the request's path; see package dpop). Never derived from
// request headers, which a proxy or client controls.
func WithPublicURL(u string) Option {
	return optionFunc(func(c *config) {
		o, err := canonicalOrigin(u)
		if err != nil {
			optErr(c, "WithPublicURL", err)
			return
		}
		c.publicOrigin, c.publicURL = o, u
	})
}

// canonicalOrigin reduces an absolute http(s) URL to "scheme://host:port", lower case, with
// the default port made explicit, so that two spellings of one origin compare equal.
func canonicalOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", s)
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Hostname() == "" || u.User != nil {
		return "", fmt.Errorf("%q is not an http(s) origin", s)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port, nil
}

var errCrossSite = errors.New("cross-site request")

// CheckLoginOrigin refuses, with ErrCSRF, a login that a browser sent from another site
// (login CSRF, which would sign the victim into the attacker's account): one that carries
// Sec-Fetch-Site: cross-site, or whose Origin header is present and is not the public URL
// (WithPublicURL). Requests without either header (non-browser clients) pass. The adapters'
// login handlers call it; call it in a login handler of your own.
func (g *Guard) CheckLoginOrigin(r Request) error {
	if g.crossSite(r, false) {
		g.observe(context.Background(), audit.Event{Type: audit.CSRFFailed, Reason: "login_origin"})
		return ErrCSRF.with(errCrossSite)
	}
	return nil
}

// crossSite reports whether a browser says r came from another site. strict also refuses
// same-site (another subdomain) and an Origin that cannot be compared for want of a public
// URL unless Sec-Fetch-Site vouches for it.
func (g *Guard) crossSite(r Request, strict bool) bool {
	fetchSite := r.Header("Sec-Fetch-Site")
	switch {
	case fetchSite == "", strings.EqualFold(fetchSite, "same-origin"), strings.EqualFold(fetchSite, "none"):
	case strings.EqualFold(fetchSite, "same-site"):
		if strict {
			return true
		}
	default:
		return true
	}
	origin := r.Header("Origin")
	if origin == "" {
		return false
	}
	if g.cfg.publicOrigin == "" {
		return strict && !strings.EqualFold(fetchSite, "same-origin")
	}
	o, err := canonicalOrigin(origin)
	return err != nil || o != g.cfg.publicOrigin
}
