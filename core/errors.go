package authframe

import (
	"net/http"
	"strings"
	"time"
)

// Code is a stable, machine-readable error code, and an error itself: the Guard returns
// Codes and *Error values carrying them, and callers branch with errors.Is. Codes are
// constants, so no caller can change what another one sees.
//
// The wire codes are what the HTTP contract's error body carries. The refinements
// (ErrUnauthenticated, ErrTokenExpired, ErrTokenRevoked, ErrSessionInvalid, ErrNotFound)
// say more: errors.Is(err, ErrTokenExpired) holds only for an expired token, while
// errors.Is(err, ErrInvalidToken) holds for it too.
type Code string

// The wire codes of the HTTP contract.
const (
	ErrInvalidRequest     Code = "invalid_request"
	ErrInvalidCredentials Code = "invalid_credentials"
	ErrInvalidToken       Code = "invalid_token"
	ErrForbidden          Code = "forbidden"
	ErrCSRF               Code = "csrf_failed"
	ErrConflict           Code = "conflict"
	ErrRateLimited        Code = "rate_limited"
	ErrPayloadTooLarge    Code = "payload_too_large"
	ErrMFARequired        Code = "mfa_required"
	ErrInvalidDPoPProof   Code = "invalid_dpop_proof"
	ErrUnavailable        Code = "unavailable"
	ErrBadGateway         Code = "bad_gateway"
	ErrInternal           Code = "internal"
)

// Refinements of the wire codes; their wire code is the part before the dot.
const (
	// ErrUnauthenticated: the request presented no credentials at all.
	ErrUnauthenticated Code = "invalid_token.missing"
	ErrTokenExpired    Code = "invalid_token.expired"
	ErrTokenRevoked    Code = "invalid_token.revoked"
	// ErrSessionInvalid: a session cookie that names no live session.
	ErrSessionInvalid Code = "invalid_token.session"
	// ErrNotFound: the record a request names does not exist (or is someone else's): 404.
	ErrNotFound Code = "invalid_request.not_found"
)

// Wire is the code the contract's error body carries: c without its refinement.
func (c Code) Wire() Code {
	if i := strings.IndexByte(string(c), '.'); i >= 0 {
		return c[:i]
	}
	return c
}

// Error returns the code's default message.
func (c Code) Error() string { return string(c.Wire()) + ": " + c.message() }

// Is matches c's own code and, for a refinement, its wire code.
func (c Code) Is(target error) bool {
	t, ok := target.(Code)
	return ok && (t == c || t == c.Wire())
}

func (c Code) message() string {
	switch c {
	case ErrUnauthenticated:
		return "authentication required"
	case ErrTokenExpired:
		return "token has expired"
	case ErrTokenRevoked:
		return "token has been revoked"
	case ErrSessionInvalid:
		return "session is not valid"
	case ErrNotFound:
		return "not found"
	}
	switch c.Wire() {
	case ErrInvalidRequest:
		return "invalid request"
	case ErrInvalidCredentials:
		return "invalid username or password"
	case ErrInvalidToken:
		return "invalid token"
	case ErrForbidden:
		return "insufficient permissions"
	case ErrCSRF:
		return "missing or invalid CSRF token"
	case ErrConflict:
		return "username is already taken"
	case ErrRateLimited:
		return "too many attempts, try again later"
	case ErrPayloadTooLarge:
		return "request body is too large"
	case ErrMFARequired:
		return "a second factor is required"
	case ErrInvalidDPoPProof:
		return "invalid DPoP proof"
	case ErrUnavailable:
		return "service temporarily unavailable"
	case ErrBadGateway:
		return "upstream service unavailable"
	}
	return "internal error"
}

// Status is the HTTP status that answers c.
func (c Code) Status() int {
	if c == ErrNotFound {
		return http.StatusNotFound
	}
	switch c.Wire() {
	case ErrInvalidRequest, ErrInvalidDPoPProof:
		return http.StatusBadRequest
	case ErrInvalidCredentials, ErrInvalidToken, ErrMFARequired:
		return http.StatusUnauthorized
	case ErrForbidden, ErrCSRF:
		return http.StatusForbidden
	case ErrConflict:
		return http.StatusConflict
	case ErrRateLimited:
		return http.StatusTooManyRequests
	case ErrPayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrUnavailable:
		return http.StatusServiceUnavailable
	case ErrBadGateway:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// Error is an error with a code, a message safe to show a client, and a cause for logs and
// errors.Is/As that is never sent to a client.
type Error struct {
	Code Code
	// Status overrides Code.Status() when non-zero.
	Status int
	// Message overrides the code's default message; it must be safe to show a client.
	Message string
	Err     error
	// RetryAfter is set on rate_limited errors.
	RetryAfter time.Duration
	// Bearer marks a 401 that answers a bearer request (or one that presented no
	// credentials), so the response carries a WWW-Authenticate challenge.
	Bearer bool
	// TokenPresented adds error="invalid_token" to the challenge (RFC 6750 §3.1).
	TokenPresented bool
	// DPoP marks the refusal of a DPoP request (RFC 9449 §7.1): a 401 then carries a
	// WWW-Authenticate: DPoP challenge naming DPoPAlgorithms and the error, in place of the
	// Bearer one.
	DPoP bool
	// DPoPAlgorithms are the proof algorithms the challenge names.
	DPoPAlgorithms []string
	// DPoPNonce is a server nonce for the client's next proof, sent in a DPoP-Nonce header
	// (RFC 9449 §8, §9); set when a proof lacked the current one.
	DPoPNonce string
}

// Error is "code: message", then the cause when there is one. The part before the cause
// is safe to show a client; the cause is not.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.message()
	}
	s := string(e.Code.Wire()) + ": " + msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches a Code (e's own, or its wire code) and another *Error of the same code.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Code:
		return e.Code.Is(t)
	case *Error:
		return e.Code.Is(t.Code)
	}
	return false
}

// with returns an *Error of code c with a cause attached.
func (c Code) with(cause error) *Error {
	e := &Error{Code: c, Err: cause}
	if c.Wire() == ErrInvalidToken && c != ErrSessionInvalid {
		e.Bearer = true
		e.TokenPresented = c != ErrUnauthenticated
	}
	return e
}

// invalidToken returns an invalid_token error with a safe message and a cause.
func invalidToken(msg string, cause error) *Error {
	return &Error{Code: ErrInvalidToken, Message: msg, Bearer: true, TokenPresented: true, Err: cause}
}

// badRequest returns an invalid_request error with a safe message.
func badRequest(msg string) *Error {
	return &Error{Code: ErrInvalidRequest, Message: msg}
}
