package authframe

import (
	"fmt"
	"strings"
)

// permissionGrants reports whether the held permission have grants want. Both are
// "action:resource"; a "*" part of have matches anything, while a "*" part of want is only
// granted by a "*" (asking for "read:*" needs "read:*" or "*:*"). A bare "*" grants all.
func permissionGrants(have, want string) bool {
	if have == "*" || have == "*:*" {
		return true
	}
	ha, hr, ok1 := strings.Cut(have, ":")
	wa, wr, ok2 := strings.Cut(want, ":")
	if !ok1 || !ok2 {
		return have == want
	}
	return (ha == "*" || ha == wa) && (hr == "*" || hr == wr)
}

func validPermission(p string) error {
	if p == "*" {
		return nil
	}
	a, r, ok := strings.Cut(p, ":")
	if !ok || a == "" || r == "" || strings.Contains(r, ":") {
		return fmt.Errorf("permission %q is not action:resource", p)
	}
	return nil
}

// permissionsFor resolves the permissions that roles grant through the Guard's role map.
func (g *Guard) permissionsFor(roles []string) []string {
	var out []string
	for _, r := range roles {
		for _, p := range g.cfg.rolePerms[r] {
			if !containsString(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// isPermission reports whether a requirement string names a permission (it contains a
// colon, or is "*") rather than a role.
func isPermission(s string) bool { return s == "*" || strings.Contains(s, ":") }

// Authorize checks that p meets every requirement: a role ("admin") or a permission
// ("read:reports", "*" wildcards allowed in what p holds). No principal is a 401; a
// principal lacking a requirement is a 403.
func Authorize(p *Principal, requirements ...string) error {
	if p == nil {
		return ErrUnauthenticated
	}
	for _, r := range requirements {
		if !meets(p, r) {
			return ErrForbidden
		}
	}
	return nil
}

// AuthorizeAny is Authorize needing only one of the requirements.
func AuthorizeAny(p *Principal, requirements ...string) error {
	if p == nil {
		return ErrUnauthenticated
	}
	for _, r := range requirements {
		if meets(p, r) {
			return nil
		}
	}
	if len(requirements) == 0 {
		return nil
	}
	return ErrForbidden
}

func meets(p *Principal, r string) bool {
	if isPermission(r) {
		return p.Can(r)
	}
	return p.HasRole(r)
}
