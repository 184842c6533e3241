// Package credential makes the long-lived secrets of authframe: service-client secrets, API
// keys and the ids that name them. Each secret carries 256 bits from crypto/rand and is
// stored only as its SHA-256: a secret that long needs no slow password hash, since no
// guessing can reach it, and a fast hash lets a presented key be looked up by its hash in one
// store round trip.
//
// Secret scanners can find leaked API keys by their prefix: every key matches
// `afk_[A-Za-z0-9_-]{43}`.
package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// APIKeyPrefix starts every API key, so that people and secret scanners recognise one.
const APIKeyPrefix = "afk_"

// secretBytes is the randomness of a client secret or an API key: 256 bits.
const secretBytes = 32

// APIKeyLen is the length of an API key: the prefix and 43 base64url characters.
var APIKeyLen = len(APIKeyPrefix) + base64.RawURLEncoding.EncodedLen(secretBytes)

func random(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never fails (Go 1.24+): it crashes the program rather than return
	// predictable bytes.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewClientSecret returns a fresh service-client secret and its hash.
func NewClientSecret() (secret string, hash []byte) {
	secret = random(secretBytes)
	return secret, Hash(secret)
}

// NewAPIKey returns a fresh API key (APIKeyPrefix and 256 random bits) and its hash.
func NewAPIKey() (key string, hash []byte) {
	key = APIKeyPrefix + random(secretBytes)
	return key, Hash(key)
}

// NewID returns prefix followed by 128 random bits, base64url: "cl_" names service clients,
// "key_" API keys, "" users and sessions. An ID never begins with "-", so that it can be
// given to a command line as an argument without being read as a flag: an ID that would is
// drawn again (1 time in 64, leaving 128 - 0.023 bits).
func NewID(prefix string) string {
	for {
		id := prefix + random(16)
		if id[0] != '-' {
			return id
		}
	}
}

// Hash is the SHA-256 of s, the form in which stores keep secrets and keys.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Equal reports whether secret hashes to hash, in time independent of where they differ.
func Equal(secret string, hash []byte) bool {
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], hash) == 1
}

// LooksLikeAPIKey reports whether s has an API key's shape: the prefix and 43 base64url
// characters. It is a syntax check only, to send a credential to the right verifier.
func LooksLikeAPIKey(s string) bool {
	if len(s) != APIKeyLen || !strings.HasPrefix(s, APIKeyPrefix) {
		return false
	}
	for i := len(APIKeyPrefix); i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
