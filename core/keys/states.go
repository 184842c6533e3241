package keys

import "github.com/authframe/authframe/core/store"

// State is where a key stands in a rotation; authframe.Key.State takes it.
type State = store.KeyState

const (
	// Next: published and verifying, not signing yet.
	Next = store.KeyNext
	// Active: the one key that signs.
	Active = store.KeyActive
	// Retiring: signs no more, verifies until the last token it signed has expired.
	Retiring = store.KeyRetiring
)
