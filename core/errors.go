package authframe

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Code is a stable, machine-readable error code. The set is closed: clients may switch on it.
type Code string

// The codes of the HTTP contract.
const (
	CodeInvalidRequest     Code = "invalid_request"
	CodeInvalidCredentials Code = "invalid_credentials"
	CodeInvalidToken       Code = "invalid_token"
	CodeForbidden          Code = "forbidden"
	CodeCSRFFailed         Code = "csrf_failed"
	CodeConflict           Code = "conflict"
	CodeRateLimited        Code = "rate_limited"
	CodePayloadTooLarge    Code = "payload_too_large"
	CodeUnavailable        Code = "unavailable"
	CodeInternal           Code = "internal"
)

// Error is the one error type of authframe. Message is safe to show to a client; Err holds
// the cause for logs and errors.Is/As, and is never sent to a client.
type Error struct {
	Code    Code
	Status  int
	Message string
	Err     error
	// RetryAfter is set on rate_limited errors.
	RetryAfter time.Duration
	// Bearer marks a 401 that answers a bearer request (or one that presented no
	// credentials), so the response carries a WWW-Authenticate challenge.
	Bearer bool
	// TokenPresented adds error="invalid_token" to the challenge (RFC 6750 §3.1).
	TokenPresented bool

	// specific sentinels match only errors with the same message; the others match any
	// error of their code.
	specific bool
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by code (so errors.Is(err, ErrForbidden) holds for any forbidden
// error); the specific sentinels (ErrTokenExpired, ErrTokenRevoked, ErrSessionInvalid,
// ErrUnauthenticated, ErrNotFound) also need the same message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (!t.specific || t.Message == e.Message)
}

// with returns a copy of e with a cause attached.
func (e *Error) with(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// Sentinels for the outcomes callers branch on. Match with errors.Is; the Guard returns
// copies carrying causes, and a sentinel with an empty Message matches any error of its code.
var (
	ErrInvalidRequest     = &Error{Code: CodeInvalidRequest, Status: http.StatusBadRequest, Message: "invalid request"}
	ErrInvalidCredentials = &Error{Code: CodeInvalidCredentials, Status: http.StatusUnauthorized, Message: "invalid username or password"}
	ErrUnauthenticated    = &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Message: "authentication required", Bearer: true, specific: true}
	ErrInvalidToken       = &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Message: "", Bearer: true, TokenPresented: true}
	ErrTokenExpired       = &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Message: "token has expired", Bearer: true, TokenPresented: true, specific: true}
	ErrTokenRevoked       = &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Message: "token has been revoked", Bearer: true, TokenPresented: true, specific: true}
	ErrSessionInvalid     = &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Message: "session is not valid", specific: true}
	ErrForbidden          = &Error{Code: CodeForbidden, Status: http.StatusForbidden, Message: "insufficient permissions"}
	ErrCSRF               = &Error{Code: CodeCSRFFailed, Status: http.StatusForbidden, Message: "missing or invalid CSRF token"}
	ErrConflict           = &Error{Code: CodeConflict, Status: http.StatusConflict, Message: "username is already taken"}
	ErrRateLimited        = &Error{Code: CodeRateLimited, Status: http.StatusTooManyRequests, Message: "too many attempts, try again later"}
	ErrPayloadTooLarge    = &Error{Code: CodePayloadTooLarge, Status: http.StatusRequestEntityTooLarge, Message: "request body is too large"}
	ErrUnavailable        = &Error{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Message: "service temporarily unavailable"}
	ErrInternal           = &Error{Code: CodeInternal, Status: http.StatusInternalServerError, Message: "internal error"}
	ErrNotFound           = &Error{Code: CodeInvalidRequest, Status: http.StatusNotFound, Message: "not found", specific: true}
)

// invalidToken returns an invalid_token error with a safe message and a cause.
func invalidToken(msg string, cause error) *Error {
	return &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Message: msg, Bearer: true, TokenPresented: true, Err: cause}
}

// BadRequest returns an invalid_request error with a safe message.
func BadRequest(msg string) *Error {
	return &Error{Code: CodeInvalidRequest, Status: http.StatusBadRequest, Message: msg}
}

// AsError turns any error into an *Error: an *Error in the chain is returned as is,
// anything else becomes an internal error wrapping it.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrInternal.with(err)
}

// ErrorBody is the JSON shape of every failure.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

// ErrorDetail is the inner object of ErrorBody.
type ErrorDetail struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// ErrorResponse is a rendered error, ready for any framework to write.
type ErrorResponse struct {
	Status int
	// Headers to set, in order: WWW-Authenticate, Retry-After, Cache-Control as applicable.
	Headers [][2]string
	Body    []byte
}

// RenderError renders err as the contract's JSON error body and headers. Adapters call it
// (or WriteError) so that every framework answers the same way.
func RenderError(err error, requestID string) ErrorResponse {
	e := AsError(err)
	if e == nil {
		// Rendering "no error" is a caller's bug; answer it as an internal error rather
		// than panic on the request path.
		e = ErrInternal
	}
	msg := e.Message
	if msg == "" {
		msg = "invalid token"
	}
	body, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: e.Code, Message: msg}, RequestID: requestID})
	r := ErrorResponse{Status: e.Status, Body: body}
	if r.Status == 0 {
		r.Status = http.StatusInternalServerError
	}
	if r.Status == http.StatusUnauthorized && e.Bearer {
		v := `Bearer realm="authframe"`
		if e.TokenPresented {
			v += `, error="invalid_token", error_description="` + msg + `"`
		}
		r.Headers = append(r.Headers, [2]string{"WWW-Authenticate", v})
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		r.Headers = append(r.Headers, [2]string{"Retry-After", strconv.FormatInt(secs, 10)})
	}
	r.Headers = append(r.Headers, [2]string{"Cache-Control", "no-store"})
	return r
}

// WriteError writes err to a net/http ResponseWriter in the contract's shape. The Gin and
// Echo adapters use it too; Fiber uses RenderError.
func WriteError(w http.ResponseWriter, err error, requestID string) {
	r := RenderError(err, requestID)
	h := w.Header()
	for _, kv := range r.Headers {
		h.Set(kv[0], kv[1])
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}
