package pgstore

import (
	"testing"
	"time"

	"github.com/authframe/authframe/core/keys/rotationtest"
	"github.com/authframe/authframe/core/store"
)

// TestKeyRotation runs the automatic rotation scenario with three Guards, each over its
// own Store on one schema. A generous timeout, as in TestConformance: the scenario checks
// the rotation, and a loaded machine must not turn a slow connection into a dead store.
func TestKeyRotation(t *testing.T) {
	p := testPool(t)
	schema := freshSchema(t, p)
	rotationtest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, p, WithSchema(schema), WithTimeout(5*time.Second))
	})
}
