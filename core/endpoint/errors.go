package endpoint

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	authframe "github.com/authframe/authframe/core"
)

// ErrorBody is the JSON shape of every failure.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"request_id,omitempty"`
}

// ErrorDetail is the inner object of ErrorBody.
type ErrorDetail struct {
	Code    authframe.Code `json:"code"`
	Message string         `json:"message"`
}

// ErrorResponse is a rendered error, ready for any framework to write.
type ErrorResponse struct {
	Status int
	// Headers to set, in order: WWW-Authenticate, Retry-After, Cache-Control as applicable.
	Headers [][2]string
	Body    []byte
}

// AsError turns any error into an *authframe.Error: an *Error in the chain as it is, a
// bare Code as the error it names, anything else as an internal error wrapping it.
func AsError(err error) *authframe.Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*authframe.Error](err); ok {
		return e
	}
	if c, ok := errors.AsType[authframe.Code](err); ok {
		// As the Guard's own errors of these codes are shaped: a missing or bad bearer
		// credential is challenged, a bad session cookie is not.
		bearer := c.Wire() == authframe.ErrInvalidToken && c != authframe.ErrSessionInvalid
		return &authframe.Error{Code: c, Bearer: bearer, TokenPresented: bearer && c != authframe.ErrUnauthenticated}
	}
	return &authframe.Error{Code: authframe.ErrInternal, Err: err}
}

// RenderError renders err as the contract's JSON error body and headers. Adapters call it
// (or WriteError) so that every framework answers the same way.
func RenderError(err error, requestID string) ErrorResponse {
	e := AsError(err)
	if e == nil {
		// Rendering "no error" is a caller's bug; answer it as an internal error rather
		// than panic on the request path.
		e = &authframe.Error{Code: authframe.ErrInternal}
	}
	msg := e.Message
	if msg == "" {
		// The part of Code.Error after "code: " is the code's default message.
		msg = strings.TrimPrefix(e.Code.Error(), string(e.Code.Wire())+": ")
	}
	status := e.Status
	if status == 0 {
		status = e.Code.Status()
	}
	body, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: e.Code.Wire(), Message: msg}, RequestID: requestID})
	r := ErrorResponse{Status: status, Body: body}
	if e.DPoP {
		r.Headers = append(r.Headers, dpopHeaders(e, status, msg)...)
	} else if r.Status == http.StatusUnauthorized && e.Bearer {
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

// WriteError writes err to a net/http ResponseWriter in the contract's shape.
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

// BadRequest returns an invalid_request error with a message safe to show the client.
func BadRequest(msg string) *authframe.Error {
	return &authframe.Error{Code: authframe.ErrInvalidRequest, Message: msg}
}

// Anonymous reports whether an adapter's Optional middleware lets a request whose
// authentication failed with err through anonymously: when it presented no credentials,
// or when its session cookie outlived its session (browsers keep the cookie longer than
// the session lives). Any other failure is answered as the Middleware answers it: a bad or
// expired token is a 401, so that the client learns it must refresh; a missing CSRF token
// a 403; a credential that cannot be checked while a dependency is down a 503 (or, under
// WithFailOpen, no failure at all), never an anonymous answer the client would take for a
// logout.
func Anonymous(err error) bool {
	return errors.Is(err, authframe.ErrUnauthenticated) || errors.Is(err, authframe.ErrSessionInvalid)
}
