// Package ctxkey holds the context keys shared by the Guard and authframe's subpackages:
// the request id (set by the endpoint package, read for audit events) and the key of a
// verified DPoP proof (set by package dpop, read when tokens are issued).
package ctxkey

import "context"

type requestIDKey struct{}

// WithRequestID returns a context carrying a request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type jktKey struct{}

// WithJKT returns a context carrying the thumbprint of a verified DPoP proof's key, under
// which the Guard binds the tokens it issues (cnf.jkt, RFC 9449).
func WithJKT(ctx context.Context, jkt string) context.Context {
	return context.WithValue(ctx, jktKey{}, jkt)
}

// JKT returns the DPoP key thumbprint in ctx, or "".
func JKT(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	jkt, _ := ctx.Value(jktKey{}).(string)
	return jkt
}
