package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// RecoveryCodeCount is how many recovery codes a confirmation hands out.
const RecoveryCodeCount = 10

// recoveryAlphabet is Crockford's base32: digits and lower-case letters without i, l, o
// and u, so that no two symbols look alike; NormalizeRecoveryCode maps i and l to 1 and o
// to 0, as a user misreading a code would type them. Ten symbols carry 50 bits.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryLen is the number of symbols of a recovery code, shown as xxxx-xxxx-xx.
const recoveryLen = 10

// RecoveryCodeBits is the entropy of one recovery code.
const RecoveryCodeBits = recoveryLen * 5

// NewRecoveryCodes returns RecoveryCodeCount fresh recovery codes for userID, formatted
// xxxx-xxxx-xx for the user to write down, and their hashes (HashRecoveryCode) for the
// store, in the same order. The codes are shown once and never stored.
func NewRecoveryCodes(userID string) (codes []string, hashes [][]byte, err error) {
	codes = make([]string, 0, RecoveryCodeCount)
	hashes = make([][]byte, 0, RecoveryCodeCount)
	seen := make(map[string]bool, RecoveryCodeCount)
	for len(codes) < RecoveryCodeCount {
		var raw [recoveryLen]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, nil, fmt.Errorf("totp: recovery codes: %w", err)
		}
		var sym [recoveryLen]byte
		for i, b := range raw {
			sym[i] = recoveryAlphabet[b&31] // 256 is a multiple of 32: no bias
		}
		norm := string(sym[:])
		if seen[norm] {
			continue
		}
		seen[norm] = true
		codes = append(codes, norm[:4]+"-"+norm[4:8]+"-"+norm[8:])
		hashes = append(hashes, hashNormalized(userID, norm))
	}
	return codes, hashes, nil
}

// NormalizeRecoveryCode returns a recovery code as a user may type it in its canonical
// form: separators (spaces, dashes) removed, lower case, and the look-alikes i, l and o
// read as 1, 1 and 0. Anything but 10 symbols of the code alphabet is ErrMalformedCode.
func NormalizeRecoveryCode(code string) (string, error) {
	if len(code) > maxInput {
		return "", ErrMalformedCode
	}
	var b [recoveryLen]byte
	n := 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		if isSeparator(c) {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch c {
		case 'i', 'l':
			c = '1'
		case 'o':
			c = '0'
		}
		if strings.IndexByte(recoveryAlphabet, c) < 0 || n == recoveryLen {
			return "", ErrMalformedCode
		}
		b[n] = c
		n++
	}
	if n != recoveryLen {
		return "", ErrMalformedCode
	}
	return string(b[:]), nil
}

// HashRecoveryCode returns the hash under which the store keeps a recovery code of
// userID: SHA-256 of the normalised code, bound to the user so that equal codes of two
// users never share a hash. A fast hash suits codes of 50 random bits, where a password
// needs a slow one. Malformed input is ErrMalformedCode.
func HashRecoveryCode(userID, code string) ([]byte, error) {
	norm, err := NormalizeRecoveryCode(code)
	if err != nil {
		return nil, err
	}
	return hashNormalized(userID, norm), nil
}

func hashNormalized(userID, norm string) []byte {
	h := sha256.New()
	h.Write([]byte("authframe recovery code v1\x00"))
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(norm))
	return h.Sum(nil)
}

// MatchRecoveryCode reports which of hashes (a record's RecoveryHashes) belongs to code,
// comparing every hash in constant time. Logins use the store's UseRecoveryCode instead,
// which also spends the code atomically; MatchRecoveryCode is for a check that spends
// nothing.
func MatchRecoveryCode(hashes [][]byte, userID, code string) (int, bool) {
	h, err := HashRecoveryCode(userID, code)
	if err != nil {
		return -1, false
	}
	found := -1
	for i, c := range hashes {
		if subtle.ConstantTimeCompare(c, h) == 1 && found < 0 {
			found = i
		}
	}
	return found, found >= 0
}
