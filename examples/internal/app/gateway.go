package app

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
)

// GatewayConfig is the configuration of examples/gateway only. LoadConfig leaves it zero
// and never reads its variables, so that the apps behave the same whatever they hold.
type GatewayConfig struct {
	// Upstream is AUTHFRAME_UPSTREAM: every request the gateway does not answer itself
	// goes there, its path appended to Upstream's.
	Upstream *url.URL
	// Public are the AUTHFRAME_GATEWAY_PUBLIC path prefixes, forwarded without
	// authentication.
	Public []string
	// Require are the AUTHFRAME_GATEWAY_REQUIRE rules, longest prefix first.
	Require []GatewayRule
}

// GatewayRule asks Requirement (a permission when it has a colon, else a role) of every
// request under Prefix for which no longer rule's prefix matches.
type GatewayRule struct {
	Prefix      string
	Requirement string
}

// LoadGatewayConfig is LoadConfig plus the gateway's own variables; AUTHFRAME_UPSTREAM is
// required. Every bad value is an error naming its variable.
func LoadGatewayConfig(getenv func(string) string) (Config, error) {
	c, err := LoadConfig(getenv)
	if err != nil {
		return c, err
	}
	c.Gateway, err = loadGateway(getenv)
	return c, err
}

func loadGateway(getenv func(string) string) (GatewayConfig, error) {
	var g GatewayConfig
	up := getenv("AUTHFRAME_UPSTREAM")
	if up == "" {
		return g, errors.New("AUTHFRAME_UPSTREAM: required: the URL of the service requests are forwarded to")
	}
	if err := checkURL(up); err != nil {
		return g, fmt.Errorf("AUTHFRAME_UPSTREAM: %v", err)
	}
	u, _ := url.Parse(up)
	// The proxy takes only the scheme, host, path and query of the URL: a user or a
	// fragment would be silently dropped, and a password would be printed with the URL.
	if u.User != nil || u.Fragment != "" {
		return g, errors.New("AUTHFRAME_UPSTREAM: give a URL without user information or fragment")
	}
	g.Upstream = u

	public := getenv("AUTHFRAME_GATEWAY_PUBLIC")
	if public == "" {
		public = "/public/"
	}
	for p := range strings.SplitSeq(public, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if err := checkPrefix(p); err != nil {
			return g, fmt.Errorf("AUTHFRAME_GATEWAY_PUBLIC: %v", err)
		}
		g.Public = append(g.Public, p)
	}

	for r := range strings.SplitSeq(getenv("AUTHFRAME_GATEWAY_REQUIRE"), ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		prefix, req, ok := strings.Cut(r, "=")
		prefix, req = strings.TrimSpace(prefix), strings.TrimSpace(req)
		if !ok || req == "" {
			return g, fmt.Errorf("AUTHFRAME_GATEWAY_REQUIRE: %q is not prefix=requirement", r)
		}
		if err := checkPrefix(prefix); err != nil {
			return g, fmt.Errorf("AUTHFRAME_GATEWAY_REQUIRE: %v", err)
		}
		if err := checkRequirement(req); err != nil {
			return g, fmt.Errorf("AUTHFRAME_GATEWAY_REQUIRE: %v", err)
		}
		if slices.ContainsFunc(g.Require, func(x GatewayRule) bool { return x.Prefix == prefix }) {
			return g, fmt.Errorf("AUTHFRAME_GATEWAY_REQUIRE: %s is given twice", prefix)
		}
		// A rule on a public path would never be checked: refuse it rather than let the
		// operator believe the path is protected.
		if pub, ok := g.publicPrefix(prefix); ok {
			return g, fmt.Errorf("AUTHFRAME_GATEWAY_REQUIRE: %s is under the public prefix %s, where no requirement is checked", prefix, pub)
		}
		g.Require = append(g.Require, GatewayRule{Prefix: prefix, Requirement: req})
	}
	slices.SortStableFunc(g.Require, func(a, b GatewayRule) int { return len(b.Prefix) - len(a.Prefix) })
	return g, nil
}

// checkPrefix accepts an absolute path that CleanPath leaves as it is: a prefix with dot
// segments or repeated slashes could never match a cleaned path.
func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("prefix %q does not start with /", p)
	}
	if CleanPath(p) != p {
		return fmt.Errorf("prefix %q is not a clean path (write %s)", p, CleanPath(p))
	}
	return nil
}

// checkRequirement accepts a role, or a permission action:resource.
func checkRequirement(r string) error {
	if strings.ContainsAny(r, " \t=") {
		return fmt.Errorf("requirement %q contains a space or =", r)
	}
	if !strings.Contains(r, ":") {
		return nil
	}
	a, res, _ := strings.Cut(r, ":")
	if a == "" || res == "" || strings.Contains(res, ":") {
		return fmt.Errorf("permission %q is not action:resource", r)
	}
	return nil
}

// CleanPath is the path the gateway matches prefixes against and forwards: dot segments
// resolved, repeated slashes merged, a trailing slash kept, always absolute. A path that
// is already clean is returned as it is, without allocating.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			return p
		}
		return np + "/"
	}
	return np
}

// UnderPrefix reports whether the clean path p is prefix or lies below it. A prefix
// ending in a slash matches what starts with it; one without matches itself and what is
// below it as a folder, so that /api does not cover /apiary.
func UnderPrefix(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/'
}

func (g GatewayConfig) publicPrefix(p string) (string, bool) {
	for _, pub := range g.Public {
		if UnderPrefix(p, pub) {
			return pub, true
		}
	}
	return "", false
}

// Access says what the gateway asks of a request for the clean path p: nothing when it is
// public, else authentication and requirement (from the longest matching rule; "" when
// no rule matches).
func (g GatewayConfig) Access(p string) (public bool, requirement string) {
	if _, ok := g.publicPrefix(p); ok {
		return true, ""
	}
	for _, r := range g.Require {
		if UnderPrefix(p, r.Prefix) {
			return false, r.Requirement
		}
	}
	return false, ""
}
