package authframe

import (
	"regexp"
	"testing"
)

// A session handle never begins with "-" (operators pass it to a command line), and it stays
// the hash of the secret the client holds.
func TestSessionIDsNeverBeginWithADash(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{23}$`)
	for range 4000 {
		secret, id := newSessionID()
		if !re.MatchString(id) || sessionIDFromSecret(secret) != id {
			t.Fatalf("secret %q, id %q", secret, id)
		}
	}
}
