package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of a sealing key: 32 bytes, for XChaCha20-Poly1305.
const KeySize = chacha20poly1305.KeySize

// KeyError reports a sealing key that is missing or of the wrong size. Len is the size
// that was given (0 when missing); Index is the key's position among those passed to
// NewSealer (0 for the current key).
type KeyError struct {
	Index int
	Len   int
}

// Error says what is wrong without quoting the key.
func (e *KeyError) Error() string {
	which := "the TOTP secret-sealing key"
	if e.Index > 0 {
		which = fmt.Sprintf("previous TOTP secret-sealing key #%d", e.Index)
	}
	if e.Len == 0 {
		return "totp: " + which + " is missing: two-factor login needs a random key of 32 bytes (e.g. from crypto/rand) kept with the application's other secrets"
	}
	return fmt.Sprintf("totp: %s is %d bytes, want exactly %d", which, e.Len, KeySize)
}

// ErrUnseal is returned by Open for a sealed secret that does not open: sealed under a key
// this Sealer does not hold, for another user, or altered.
var ErrUnseal = errors.New("totp: sealed secret does not open (another key, another user, or altered)")

// sealVersion is the first byte of every sealed secret, so that the format can change.
const sealVersion = 1

// keyIDSize is the size of the key id that follows the version: enough to pick the key
// among a handful, not a secret (it is a hash of the key).
const keyIDSize = 4

// Sealer seals TOTP secrets for storage and opens them again. It is safe for concurrent
// use.
//
// Each sealed secret names the key it was sealed under by a short id, so that the key can
// be replaced: give NewSealer the new key first and the old ones after it; secrets sealed
// under an old key keep opening, and new ones are sealed under the new key.
type Sealer struct {
	keys []sealKey // keys[0] seals
}

type sealKey struct {
	id   [keyIDSize]byte
	aead interface {
		Seal(dst, nonce, plaintext, additionalData []byte) []byte
		Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
		NonceSize() int
		Overhead() int
	}
}

// NewSealer returns a Sealer that seals under key and opens secrets sealed under key or
// any of previous. Each key must be exactly KeySize bytes; a missing or wrong-sized one is
// a *KeyError.
func NewSealer(key []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{}
	for i, k := range append([][]byte{key}, previous...) {
		if len(k) != KeySize {
			return nil, &KeyError{Index: i, Len: len(k)}
		}
		aead, err := chacha20poly1305.NewX(k)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(append([]byte("authframe totp key id\x00"), k...))
		var id [keyIDSize]byte
		copy(id[:], sum[:])
		for _, other := range s.keys {
			if subtle.ConstantTimeCompare(other.id[:], id[:]) == 1 {
				return nil, fmt.Errorf("totp: sealing key #%d repeats an earlier key (or shares its id)", i)
			}
		}
		s.keys = append(s.keys, sealKey{id: id, aead: aead})
	}
	return s, nil
}

// additionalData binds a sealed secret to its user: a sealed secret copied into another
// user's record does not open there.
func additionalData(userID string) []byte {
	return append([]byte("authframe totp v1\x00"), userID...)
}

// Seal seals secret (the base32 secret of Generate) for userID. The result is
// version || key id || nonce || ciphertext, and differs at every call.
func (s *Sealer) Seal(userID, secret string) ([]byte, error) {
	k := s.keys[0]
	out := make([]byte, 1+keyIDSize+k.aead.NonceSize(), 1+keyIDSize+k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:], k.id[:])
	nonce := out[1+keyIDSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("totp: seal: %w", err)
	}
	return k.aead.Seal(out, nonce, []byte(secret), additionalData(userID)), nil
}

// Open opens a secret sealed by Seal (under any of the Sealer's keys) for userID; ErrUnseal
// when it does not open.
func (s *Sealer) Open(userID string, sealed []byte) (string, error) {
	if len(sealed) < 1+keyIDSize || sealed[0] != sealVersion {
		return "", ErrUnseal
	}
	for _, k := range s.keys {
		if subtle.ConstantTimeCompare(k.id[:], sealed[1:1+keyIDSize]) != 1 {
			continue
		}
		rest := sealed[1+keyIDSize:]
		if len(rest) < k.aead.NonceSize()+k.aead.Overhead() {
			return "", ErrUnseal
		}
		plain, err := k.aead.Open(nil, rest[:k.aead.NonceSize()], rest[k.aead.NonceSize():], additionalData(userID))
		if err != nil {
			return "", ErrUnseal
		}
		return string(plain), nil
	}
	return "", ErrUnseal
}

// NeedsReseal reports whether sealed was sealed under a previous key, so that the caller
// can seal it again under the current one (Open, then Seal, then store) and retire the old
// key once no record needs it.
func (s *Sealer) NeedsReseal(sealed []byte) bool {
	return len(sealed) < 1+keyIDSize || subtle.ConstantTimeCompare(s.keys[0].id[:], sealed[1:1+keyIDSize]) != 1
}
