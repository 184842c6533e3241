package authhttp

import (
	"net/http"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/totp"
)

// RequireMFA is the step-up requirement: it lets a request through only when its
// Principal's login used a second factor (amr, see totp.UsedSecondFactor) and, when maxAge
// > 0, happened at most maxAge ago (auth_time). No Principal is a 401; any other refusal a
// 403 with code mfa_required, telling the client to log in again with its second factor.
// Put it inside Middleware, next to Require.
func RequireMFA(maxAge time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := authframe.PrincipalFromContext(r.Context())
			if err := totp.RequireSecondFactor(p, maxAge); err != nil {
				WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// EnrollTOTP is POST /mfa/totp, behind Middleware: a new TOTP secret for the caller,
// pending until ConfirmTOTP, as {"secret","otpauth_uri","qr_png"}; 409 when two-factor
// login is on already. The Guard needs totp.WithTwoFactor.
func (h *Handlers) EnrollTOTP(w http.ResponseWriter, r *http.Request) { h.serve(w, r, h.h.EnrollTOTP) }

// ConfirmTOTP is POST /mfa/totp/confirm, behind Middleware: {"code"} turns two-factor
// login on and answers {"recovery_codes"}, shown once; 400 for a wrong code or nothing
// pending.
func (h *Handlers) ConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.ConfirmTOTP)
}

// DisableTOTP is DELETE /mfa/totp, behind Middleware: {"code"} (a current code or a
// recovery code) turns two-factor login off: 204, or 400.
func (h *Handlers) DisableTOTP(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, h.h.DisableTOTP)
}
