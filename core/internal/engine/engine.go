// Package engine lets authframe's own subpackages (oauth, apikey, keys, ...) reach what the
// root package keeps unexported, without widening the root package's API: the root package
// sets these function variables in its init, and each subpackage reaches the values they
// return through small interfaces of its own, satisfied by exported methods of unexported
// types of the root package. The idea is grpc-go's internal package.
package engine

import (
	"context"
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

// DPoP is the proof checker that package dpop registers with a Guard (dpop.WithProofs),
// built by New once the Guard's public URL is known.
type DPoP interface {
	// Check verifies proof (the DPoP header) for a request of method to path (as the
	// request carried it, without the query), accompanying accessToken ("" at a token
	// endpoint). When wantJKT is set, the proof's key must be that one. Only a proof that
	// passes every check is recorded, by its key and jti, in rs, so that every instance
	// sharing rs accepts it once. It returns the key's RFC 7638 thumbprint, or a refusal of
	// the kind Reason says.
	Check(ctx context.Context, rs store.ReplayStore, proof, method, path, accessToken, wantJKT string) (jkt string, reason Reason, err error)
	// Algorithms are the proof algorithms accepted, for the challenge.
	Algorithms() []string
	// Nonce is the server nonce a client must put in its next proof ("" when the checker
	// requires none).
	Nonce() string
}

// Reason classifies a refusal of DPoP.Check.
type Reason int

// The refusals of DPoP.Check.
const (
	// ProofOK is no refusal.
	ProofOK Reason = iota
	// ProofInvalid: the proof is malformed, wrongly signed, for another request, too old,
	// replayed or by another key (invalid_dpop_proof).
	ProofInvalid
	// ProofNonce: the proof lacks the current server nonce (use_dpop_nonce).
	ProofNonce
	// ProofUnavailable: the replay store could not answer.
	ProofUnavailable
)

// DPoPBuilder builds the checker for the Guard's public URL.
type DPoPBuilder func(publicURL string) (DPoP, error)
