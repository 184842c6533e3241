package endpoint

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/authframe/authframe/core/internal/ctxkey"
)

// RequestIDHeader is the header that carries a request id in and out.
const RequestIDHeader = "X-Request-ID"

var (
	ridPrefix  = newRIDPrefix()
	ridCounter atomic.Uint64
)

func newRIDPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RequestID returns incoming when it is a safe request id (1 to 64 characters of letters,
// digits and "-_.:"), and otherwise a fresh one, unique within the process and unlikely to
// repeat across processes.
func RequestID(incoming string) string {
	if safeRequestID(incoming) {
		return incoming
	}
	return ridPrefix + "-" + strconv.FormatUint(ridCounter.Add(1), 36)
}

func safeRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// CSRFHeader is the header that carries a session's CSRF token on unsafe requests.
const CSRFHeader = "X-CSRF-Token"

// ContextWithRequestID returns a context carrying a request id, which audit events and
// error bodies repeat. The adapters' RequestID middleware sets it.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return ctxkey.WithRequestID(ctx, id)
}

// RequestIDFromContext returns the request id set by an adapter, or "".
func RequestIDFromContext(ctx context.Context) string { return ctxkey.RequestID(ctx) }
