package credential

import (
	"regexp"
	"testing"
)

// The pattern the package documentation gives to secret scanners matches every key made.
func TestAPIKeysMatchTheDocumentedPattern(t *testing.T) {
	re := regexp.MustCompile(`^afk_[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 200 {
		k, h := NewAPIKey()
		if !re.MatchString(k) || !LooksLikeAPIKey(k) {
			t.Fatalf("key %q does not match the documented pattern", k)
		}
		if !Equal(k, h) || Equal(k+"x", h) {
			t.Fatal("Equal disagrees with the hash")
		}
		if seen[k] {
			t.Fatal("a key came twice")
		}
		seen[k] = true
	}
	for _, bad := range []string{"", "afk_", "afk_short", "xfk_" + "a123456789012345678901234567890123456789012", "afk_" + "a12345678901234567890123456789012345678901!"} {
		if LooksLikeAPIKey(bad) {
			t.Errorf("LooksLikeAPIKey(%q) = true", bad)
		}
	}
}

func TestClientSecretsCarry256Bits(t *testing.T) {
	s, h := NewClientSecret()
	if len(s) != 43 || !Equal(s, h) || len(h) != 32 {
		t.Fatalf("secret %q (len %d), hash len %d", s, len(s), len(h))
	}
	if id := NewID("cl_"); len(id) != 3+22 {
		t.Fatalf("id %q", id)
	}
}

// An id never begins with "-", which a command line would read as a flag: with 64 letters
// equally likely, 4 000 ids hold one beginning with "-" all but 1 time in 10^27.
func TestIDsNeverBeginWithADash(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{21}$`)
	for range 4000 {
		if id := NewID(""); !re.MatchString(id) {
			t.Fatalf("id %q", id)
		}
	}
	if id := NewID("cl_"); !regexp.MustCompile(`^cl_[A-Za-z0-9_-]{22}$`).MatchString(id) {
		t.Fatalf("client id %q", id)
	}
}
