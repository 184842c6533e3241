package engine

import (
	"context"
	"time"

	"github.com/authframe/authframe/core/store"
)

// SecondFactor is a second factor of login that a package registers with the Guard
// through its option (package totp's WithTwoFactor does). The Guard asks it at every
// password login of a user, after the password has been found correct.
type SecondFactor interface {
	// Check reports whether the user must present the factor (they have turned it on)
	// and, when input is not empty, whether input proves it. It spends what it accepts
	// (a TOTP step, a recovery code) in the same call, so that no input logs in twice.
	// An error is a failure of the store, never a wrong input.
	Check(ctx context.Context, mfa store.MFAStore, userID, input string, now time.Time) (Check, error)
}

// Check is the answer of SecondFactor.Check.
type Check struct {
	// Required: the user has the factor turned on.
	Required bool
	// OK: input proved the factor.
	OK bool
	// Method is the RFC 8176 method of an accepted input ("otp").
	Method string
	// Kind says what was accepted ("code", "recovery_code") or, for a refused input,
	// Reason why ("malformed", "wrong_code", "reused_code", "unknown_recovery_code",
	// "unsealable"): words for audit records, which never hold the input itself.
	Kind   string
	Reason string
}
