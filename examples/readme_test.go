package examples_test

import (
	"testing"

	"github.com/authframe/authframe/core/adaptertest"
)

// The repository README's program is the first thing a new user copies: it must compile
// against this checkout and stay within 25 lines beyond imports and key loading.
func TestRootReadmeProgram(t *testing.T) { adaptertest.ReadmeProgram(t, "../README.md", 25) }
