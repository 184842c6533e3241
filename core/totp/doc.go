// Package totp holds the building blocks of two-factor login with time-based one-time
// passwords (TOTP, RFC 6238): enrolment (a secret, its otpauth:// URI and a QR code of it),
// the check of a code that returns the time step it matched, the sealing of secrets for
// storage, and recovery codes.
//
// It holds no state and imports nothing of the Guard. A login that checks a code does so
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
