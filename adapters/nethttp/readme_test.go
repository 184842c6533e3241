package authhttp_test

import (
	"testing"

	"github.com/authframe/authframe/core/adaptertest"
)

// The README's program is what a new user copies: it must compile against this checkout and
// stay within 25 lines beyond imports and key loading.
func TestReadmeProgram(t *testing.T) { adaptertest.ReadmeProgram(t, "README.md", 25) }
