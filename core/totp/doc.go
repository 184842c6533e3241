// Package totp is two-factor login with time-based one-time passwords (TOTP, RFC 6238)
// and recovery codes.
//
// WithTwoFactor turns it on for a Guard; Enroll, Confirm and Disable manage a user's
// second factor; VerifyLogin is the password login that also checks it, and the context
// it returns makes IssueTokens and StartSession record the login's amr (RFC 8176) and
// auth_time; RequireSecondFactor is the step-up check behind the adapters' RequireMFA.
//
// Beneath them are the building blocks, which hold no state: Generate (a secret, its
// otpauth:// URI and a QR code of it), the check of a code that returns the time step it
// matched, the sealing of secrets for storage, and recovery codes. A login that checks a
// code does so
// in two steps: Validate says which step the code belongs to, then the store's
// UseTOTPStep (store.MFAStore) accepts that step only if it is later than the last one
// accepted for the user, atomically, so that a code logs in once however many instances
// share the store.
//
// Secrets are stored sealed (XChaCha20-Poly1305 under a 32-byte key that the application
// supplies, bound to the user id), recovery codes as SHA-256 hashes. None of the values
// this package handles (secret, code, recovery code) belongs in a log line; its errors
// never quote them.
package totp
