package authframe

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Params are argon2id parameters (see PasswordConfig). Hashes are stored in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so parameters can change later: a hash
// made with other parameters still verifies and is upgraded at the next successful login.
type argon2Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32
	KeyLength   uint32
}

// defaultArgon2Params are OWASP's recommended minimum for argon2id (Password Storage Cheat
// Sheet): 19 MiB of memory, 2 iterations, 1 degree of parallelism, with a 16-byte salt and
// a 32-byte key.
var defaultArgon2Params = argon2Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// validate refuses parameters that could not produce a hash at all.
func (p argon2Params) validate() error {
	if p.Memory < 8*uint32(p.Parallelism) || p.Iterations < 1 || p.Parallelism < 1 || p.SaltLength < 8 || p.KeyLength < 16 {
		return fmt.Errorf("argon2id parameters %+v are below the minimum", p)
	}
	return nil
}

// validateStrength refuses parameters weaker than OWASP's floor for argon2id (Password
// Storage Cheat Sheet): at least 7 MiB of memory, and memory × iterations at least that of
// its weakest listed configuration (7 MiB × 5), with a 16-byte salt and key.
func (p argon2Params) validateStrength() error {
	if err := p.validate(); err != nil {
		return err
	}
	if p.Memory < 7*1024 || uint64(p.Memory)*uint64(p.Iterations) < 35*1024 || p.SaltLength < 16 || p.KeyLength < 16 {
		return fmt.Errorf("argon2id parameters m=%d KiB, t=%d are below OWASP's minimum (for example m=19456, t=2)", p.Memory, p.Iterations)
	}
	return nil
}

// atLeast reports whether hashes made with p are at least as costly to guess as with q.
func (p argon2Params) atLeast(q argon2Params) bool {
	return p.Memory >= q.Memory && p.Iterations >= q.Iterations && p.SaltLength >= q.SaltLength && p.KeyLength >= q.KeyLength
}

func hashPasswordWith(p argon2Params, password string) string {
	salt := make([]byte, p.SaltLength)
	_, _ = rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism, enc.EncodeToString(salt), enc.EncodeToString(sum))
}

var errPHC = errors.New("not an argon2id PHC string")

func parsePHC(s string) (argon2Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argon2Params{}, nil, nil, errPHC
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return argon2Params{}, nil, nil, errPHC
	}
	var p argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return argon2Params{}, nil, nil, errPHC
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return argon2Params{}, nil, nil, errPHC
	}
	sum, err := enc.DecodeString(parts[5])
	if err != nil || len(sum) == 0 || p.Memory == 0 || p.Iterations == 0 || p.Parallelism == 0 {
		return argon2Params{}, nil, nil, errPHC
	}
	p.SaltLength, p.KeyLength = uint32(len(salt)), uint32(len(sum))
	return p, salt, sum, nil
}

// verifyPassword checks password against a PHC hash in constant time and reports whether
// the hash should be upgraded to want: only when it is weaker than want in some respect,
// never down to weaker parameters.
func verifyPassword(hash, password string, want argon2Params) (ok, rehash bool) {
	p, salt, sum, err := parsePHC(hash)
	if err != nil {
		return false, false
	}
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	if subtle.ConstantTimeCompare(got, sum) != 1 {
		return false, false
	}
	return true, !p.atLeast(want)
}

// errHashWait is the cause of a request that ended while it waited for a hashing slot.
var errHashWait = errors.New("request ended while waiting for a password hashing slot")

// acquireHash takes a hashing slot, or gives up when ctx ends first: a cancelled request
// frees its place in the queue and never runs argon2.
func (g *Guard) acquireHash(ctx context.Context) error {
	if ctx.Err() != nil {
		return ErrUnavailable.with(errors.Join(errHashWait, ctx.Err()))
	}
	select {
	case g.hashes <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrUnavailable.with(errors.Join(errHashWait, ctx.Err()))
	}
}

func (g *Guard) hashPassword(ctx context.Context, password string) (string, error) {
	if err := g.acquireHash(ctx); err != nil {
		return "", err
	}
	defer func() { <-g.hashes }()
	return hashPasswordWith(g.cfg.argon, password), nil
}

func (g *Guard) checkPassword(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	if err := g.acquireHash(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-g.hashes }()
	ok, rehash = verifyPassword(hash, password, g.cfg.argon)
	return ok, rehash, nil
}
