// Package engine lets authframe's own subpackages (oauth, apikey, keys, ...) reach what the
// root package keeps unexported, without widening the root package's API: the root package
// sets these function variables in its init, and each subpackage reaches the values they
// return through small interfaces of its own, satisfied by exported methods of unexported
// types of the root package. The idea is grpc-go's internal package.
package engine

import (
	"time"

	"github.com/authframe/authframe/core/store"
)

// Of returns the internals of a *authframe.Guard: a value of an unexported type of the root
// package whose exported methods the subpackages call through interfaces of their own. It
// panics on anything but a non-nil *authframe.Guard.
var Of func(guard any) any

// Option returns an authframe.Option (as any) that calls apply with the root package's
// configuration under construction, whose exported methods the subpackages call through
// interfaces of their own.
var Option func(apply func(cfg any)) any

// RingKey is one key of a Guard's key ring as core/keys hands it over (with PEM, a private
// key in PKCS#8 PEM) and as the Guard reports it back (without).
type RingKey struct {
	ID        string
	Algorithm string
	PEM       []byte
	// State is empty for a key given to WithKey without one that cannot sign: a key that
	// verifies, outside any rotation.
	State     store.KeyState
	CreatedAt time.Time
	ActiveAt  time.Time
	RetiredAt time.Time
	ExpiresAt time.Time
}

// Ring is what a Guard verifies and signs with.
type Ring struct {
	Keys []RingKey
	// Signer is the kid of the key that signs; "" when none may.
	Signer string
	// SignUntil is when the Guard stops signing with this ring unless a newer one has
	// replaced it (zero: no limit).
	SignUntil time.Time
}
