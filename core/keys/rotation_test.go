package keys_test

import (
	"testing"

	"github.com/authframe/authframe/core/keys/rotationtest"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

func TestAutomaticRotationOnTheMemoryStore(t *testing.T) {
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	rotationtest.Run(t, func(*testing.T) store.Store { return st })
}
