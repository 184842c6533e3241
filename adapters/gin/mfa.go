package authgin

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authframe/authframe/core/totp"
)

// RequireMFA is the step-up requirement: it lets a request through only when its
// Principal's login used a second factor (amr, see totp.UsedSecondFactor) and, when maxAge
// > 0, happened at most maxAge ago (auth_time). No Principal is a 401; any other refusal a
// 403 with code mfa_required, telling the client to log in again with its second factor.
// Either aborts the chain. Put it after Middleware, next to Require.
func RequireMFA(maxAge time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, _ := PrincipalFrom(c)
		if err := totp.RequireSecondFactor(p, maxAge); err != nil {
			WriteError(c, err)
			return
		}
		c.Next()
	}
}

// EnrollTOTP is POST /mfa/totp, behind Middleware: a new TOTP secret for the caller,
// pending until ConfirmTOTP, as {"secret","otpauth_uri","qr_png"}; 409 when two-factor
// login is on already. The Guard needs totp.WithTwoFactor.
func (h *Handlers) EnrollTOTP(c *gin.Context) { h.serve(c, h.core.EnrollTOTP) }

// ConfirmTOTP is POST /mfa/totp/confirm, behind Middleware: {"code"} turns two-factor
// login on and answers {"recovery_codes"}, shown once; 400 for a wrong code or nothing
// pending.
func (h *Handlers) ConfirmTOTP(c *gin.Context) { h.serve(c, h.core.ConfirmTOTP) }

// DisableTOTP is DELETE /mfa/totp, behind Middleware: {"code"} (a current code or a
// recovery code) turns two-factor login off: 204, or 400.
func (h *Handlers) DisableTOTP(c *gin.Context) { h.serve(c, h.core.DisableTOTP) }
