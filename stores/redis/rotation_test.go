package redisstore

import (
	"testing"

	"github.com/authframe/authframe/core/keys/rotationtest"
	"github.com/authframe/authframe/core/store"
)

// TestKeyRotation runs the automatic rotation scenario with three Guards, each over its
// own Store (and its own client, as separate instances would be) on one prefix.
func TestKeyRotation(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	rotationtest.Run(t, func(t *testing.T) store.Store {
		own := testClient(t)
		return newTestStoreOn(t, own, prefix)
	})
}

func TestKeyRotationOnCluster(t *testing.T) {
	c := testClusterClient(t)
	prefix := testPrefix(t, c)
	rotationtest.Run(t, func(t *testing.T) store.Store { return newTestStoreOn(t, c, prefix) })
}
