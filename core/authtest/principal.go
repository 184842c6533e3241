package authtest

import (
	"net/http"

	authframe "github.com/authframe/authframe/core"
)

// WithPrincipal returns a shallow copy of r whose context carries p, as the Middleware of
// authhttp, authgin and authecho leave it: their PrincipalFrom (and
// authframe.PrincipalFromContext) find p, so a handler can be tested without any token or
// Guard. For gin, set it as the test context's Request; for echo, make the context with
// it. Fiber keeps the Principal elsewhere: use authfiber.SetPrincipal.
func WithPrincipal(r *http.Request, p *authframe.Principal) *http.Request {
	return authframe.RequestWithPrincipal(r, p)
}
