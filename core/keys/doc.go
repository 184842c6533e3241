// Package keys makes and rotates authframe's signing keys.
//
// GeneratePEM makes a key for authframe.WithKey. The states of a key in a rotation (Next,
// Active, Retiring) are what authframe.Key.State takes, for a rotation by hand: the
// three-phase rollout of "Rotating signing keys" in the core README.
//
// WithRotation rotates without anyone's hand: the keys live in the store, sealed under a
// key-encryption key the application supplies, every instance refreshes its ring from
// there, and one instance at a time (holding the store's lock) publishes a new key, makes
// it sign once every instance has had time to learn it, and removes a retired key once
// the last token it signed has expired. List, Generate and Promote do the same steps by
// hand on a store (the authframe command's keys).
package keys
