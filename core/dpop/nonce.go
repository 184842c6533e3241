package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// Nonces issues and checks server nonces (RFC 9449 §8) without state: a nonce is the
// number of the current time slice and an HMAC of it, so every instance holding the key
// issues the same nonce and accepts the others', and a nonce is valid during its slice and
// the next one (between one and two slice lengths). It is safe for concurrent use.
type Nonces struct {
	key   []byte
	slice time.Duration
}

// DefaultNonceSlice is the time slice of NewNonces when none is given.
const DefaultNonceSlice = 5 * time.Minute

// MinNonceKey is the shortest nonce key accepted.
const MinNonceKey = 32

// nonceMACSize is the HMAC bytes a nonce carries: 128 bits.
const nonceMACSize = 16

var b64 = base64.RawURLEncoding

// NewNonces returns a nonce issuer keyed by key (at least MinNonceKey random bytes, the
// same on every instance, and used for nothing else) with time slices of slice (0 for
// DefaultNonceSlice; 10 seconds to 24 hours).
func NewNonces(key []byte, slice time.Duration) (*Nonces, error) {
	if len(key) < MinNonceKey {
		return nil, fmt.Errorf("dpop: nonce key is %d bytes, at least %d random bytes are required", len(key), MinNonceKey)
	}
	if slice == 0 {
		slice = DefaultNonceSlice
	}
	if slice < 10*time.Second || slice > 24*time.Hour {
		return nil, fmt.Errorf("dpop: nonce slice %v is outside 10s to 24h", slice)
	}
	return &Nonces{key: append([]byte(nil), key...), slice: slice}, nil
}

func (n *Nonces) index(t time.Time) uint64 { return uint64(t.UnixNano() / int64(n.slice)) }

func (n *Nonces) mac(idx uint64) []byte {
	h := hmac.New(sha256.New, n.key)
	h.Write([]byte("authframe dpop nonce v1\x00"))
	_ = binary.Write(h, binary.BigEndian, idx)
	return h.Sum(nil)[:nonceMACSize]
}

// Current returns the nonce of the current slice, for the DPoP-Nonce header.
func (n *Nonces) Current() string { return n.At(time.Now()) }

// At returns the nonce of the slice of t.
func (n *Nonces) At(t time.Time) string {
	idx := n.index(t)
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+nonceMACSize), idx)
	return b64.EncodeToString(append(b, n.mac(idx)...))
}

// Valid reports whether nonce is the nonce of the current or the previous slice.
func (n *Nonces) Valid(nonce string) bool { return n.ValidAt(nonce, time.Now()) }

// ValidAt reports whether nonce is the nonce of the slice of t or the one before it.
func (n *Nonces) ValidAt(nonce string, t time.Time) bool {
	if len(nonce) != b64.EncodedLen(8+nonceMACSize) {
		return false
	}
	b, err := b64.Strict().DecodeString(nonce)
	if err != nil || len(b) != 8+nonceMACSize {
		return false
	}
	idx, cur := binary.BigEndian.Uint64(b), n.index(t)
	if idx != cur && idx+1 != cur {
		return false
	}
	return hmac.Equal(b[8:], n.mac(idx))
}
