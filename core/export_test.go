package authframe

import (
	"context"

	"github.com/authframe/authframe/core/audit"
)

// EmitThrough returns what a Guard with observer o does with an event: it completes the
// event (request id, safe error fields) and hands it to o. For the audit tests.
func EmitThrough(o audit.Observer) func(ctx context.Context, e audit.Event) {
	g := &Guard{obs: o}
	return g.emit
}

// DefaultPasswordParams are the argon2id parameters a Guard uses by default.
func DefaultPasswordParams() PasswordConfig {
	p := defaultArgon2Params
	return PasswordConfig{Memory: p.Memory, Iterations: p.Iterations, Parallelism: p.Parallelism, SaltLength: p.SaltLength, KeyLength: p.KeyLength}
}
