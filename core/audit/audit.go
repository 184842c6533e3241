package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"regexp"
	"time"
	"unicode/utf8"
)

// Type names what happened.
type Type uint8

// The events a Guard reports.
const (
	// TokenValidated: a bearer token was checked. Result is "ok" or a reason
	// ("invalid", "expired", "revoked", "session", "unavailable", ...); Tier is "lru",
	// "shared" or "verify".
	TokenValidated Type = iota + 1
	// SessionValidated: a session cookie was checked (Result as above).
	SessionValidated
	// LoginSucceeded: a user's password login, or with Kind "client" a service client's
	// authentication (UserID is then the client id).
	LoginSucceeded
	// LoginFailed: Reason is "unknown_user", "bad_password", "user_disabled",
	// "invalid_input", "mfa_required" (a correct password without the second factor the
	// user has on) or "bad_otp" (a wrong, malformed or reused second factor); with Kind
	// "client", "unknown_client", "bad_secret", "disabled_client" or "invalid_input".
	// LoginSucceeded's Method is "pwd" or, after a second factor, "pwd+otp".
	LoginFailed
	// Registered: a user was created, or with Kind "client" a service client, or with Kind
	// "api_key" an API key (UserID is its owner).
	Registered
	Refreshed
	// RefreshReused: a spent refresh token was presented; its family was revoked.
	RefreshReused
	// Revoked: Kind is "session", "token", "user", "client" or "api_key"; Reason says why ("logout",
	// "refresh_reuse", "session_deleted", ...).
	Revoked
	// RevocationReceived: a revocation made by another instance arrived.
	RevocationReceived
	SessionCreated
	SessionRenewed
	SessionDestroyed
	RateLimited
	// CSRFFailed: an unsafe cookie request lacked a valid CSRF token.
	CSRFFailed
	// DependencyError: a store or cache call failed. Kind is "store" or "cache", Op
	// the operation.
	DependencyError
	// SecondFactor: a user's second factor was used or changed. Kind is the factor
	// ("totp"), Op "enroll", "confirm", "disable" or "login", Result "ok" or why not
	// ("wrong_code", "reused_code", "nothing_pending", "already_on", ...), Reason what was
	// presented ("code" or "recovery_code"). The record never holds a secret or a code.
	SecondFactor
)

var eventNames = [...]string{
	TokenValidated:     "token_validated",
	SessionValidated:   "session_validated",
	LoginSucceeded:     "login_succeeded",
	LoginFailed:        "login_failed",
	Registered:         "registered",
	Refreshed:          "refreshed",
	RefreshReused:      "refresh_reused",
	Revoked:            "revoked",
	RevocationReceived: "revocation_received",
	SessionCreated:     "session_created",
	SessionRenewed:     "session_renewed",
	SessionDestroyed:   "session_destroyed",
	RateLimited:        "rate_limited",
	CSRFFailed:         "csrf_failed",
	DependencyError:    "dependency_error",
	SecondFactor:       "second_factor",
}

func (t Type) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return "unknown"
}

// Event describes one thing that happened. It never carries a password, a token, a session
// secret or a CSRF token: SessionID is the public session handle (the sid claim).
type Event struct {
	Type   Type
	Result string
	Reason string
	Tier   string
	Kind   string
	Op     string
	// Method is how the request authenticated ("bearer", "session", ...).
	Method string
	// Duration is how long a validation took. It is zero for answers from the in-process
	// LRU, which take a few hundred nanoseconds and are not timed, so that timing them does
	// not double their cost.
	Duration time.Duration
	UserID   string
	Username string
	// SessionID is the public sid, never the cookie value.
	SessionID string
	ClientIP  string
	UserAgent string
	// RequestID is the request's id, when the event belongs to one.
	RequestID string
	// Err is the cause, for metrics and tracing; it may hold parts of a token, so loggers
	// write ErrCode and ErrMessage instead.
	Err error
	// ErrCode and ErrMessage are Err reduced to what may be logged: its contract code and
	// its client-safe message (store and cache failures: their cause, bounded, with URL
	// credentials and long opaque strings redacted).
	ErrCode    string
	ErrMessage string
}

// Observer receives events. Observe is called synchronously on the request path: keep it
// fast and never block. ctx is the request's context, or context.Background() for events
// that belong to no request.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }

type multiObserver []Observer

func (m multiObserver) Observe(ctx context.Context, e Event) {
	for _, o := range m {
		o.Observe(ctx, e)
	}
}

// Join returns an Observer that passes every event to a, then b.
func Join(a, b Observer) Observer {
	if a == nil {
		return b
	}
	if m, ok := a.(multiObserver); ok {
		return append(m, b)
	}
	return multiObserver{a, b}
}

// NewLogger returns an Observer that writes every event as one structured audit record
// to l. Pass it to WithObserver (next to a metrics collector if you like):
//
//	guard, err := authframe.New(key, authframe.WithObserver(audit.NewLogger(logger)))
//
// Levels: successful validations and routine refreshes are Debug; logins, registrations,
// session changes, revocations and failed validations Info; CSRF failures, refresh-token
// reuse (a stolen token being replayed) and rate limiting Warn; store and cache failures
// Error. Records below the logger's level cost one Enabled call.
//
// Attributes: event, result, reason, kind, op, tier, method, user_id, username, session
// (a fingerprint: the first 12 hex digits of the SHA-256 of the public sid), client_ip,
// user_agent, request_id, duration, error_code and error, each only when it has a value.
//
// A record never holds a password, a token, a refresh token, a session id or cookie, or a
// CSRF token. Errors are reduced to their authframe code and client-safe message, because
// the causes of verification errors repeat parts of the token: golang-jwt names the alg
// header it refused, encoding/json quotes claim values it could not decode, and the JWKS
// key function names the kid. Store and cache failures keep their cause, bounded and with
// URL credentials and long opaque strings redacted.
func NewLogger(l *slog.Logger) Observer {
	if l == nil {
		return ObserverFunc(func(context.Context, Event) {})
	}
	return &auditLogger{l: l}
}

type auditLogger struct{ l *slog.Logger }

// auditMessages are the record messages, made once so that logging an event does not
// build strings.
var auditMessages = func() [len(eventNames)]string {
	var m [len(eventNames)]string
	for i, n := range eventNames {
		if n != "" {
			m[i] = "authframe: " + n
		}
	}
	return m
}()

func auditMessage(t Type) string {
	if int(t) < len(auditMessages) && auditMessages[t] != "" {
		return auditMessages[t]
	}
	return "authframe: unknown"
}

// auditLevel is the level of an event's record.
func auditLevel(e Event) slog.Level {
	switch e.Type {
	case TokenValidated, SessionValidated:
		if e.Result == "ok" {
			return slog.LevelDebug
		}
		return slog.LevelInfo
	case Refreshed, RevocationReceived:
		return slog.LevelDebug
	case RefreshReused, CSRFFailed, RateLimited:
		return slog.LevelWarn
	case Revoked:
		if e.Reason == "refresh_reuse" {
			return slog.LevelWarn
		}
		return slog.LevelInfo
	case DependencyError:
		return slog.LevelError
	case SecondFactor:
		if e.Result != "ok" && e.Op == "disable" {
			return slog.LevelWarn
		}
	}
	return slog.LevelInfo
}

// Observe implements Observer.
func (a *auditLogger) Observe(ctx context.Context, e Event) {
	if ctx == nil {
		ctx = context.Background()
	}
	level := auditLevel(e)
	if !a.l.Enabled(ctx, level) {
		return
	}
	var buf [18]slog.Attr
	attrs := append(buf[:0], slog.String("event", e.Type.String()))
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("result", e.Result)
	add("reason", e.Reason)
	add("kind", e.Kind)
	add("op", e.Op)
	add("tier", e.Tier)
	add("method", e.Method)
	add("user_id", e.UserID)
	add("username", e.Username)
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("session", SessionFingerprint(e.SessionID)))
	}
	add("client_ip", e.ClientIP)
	add("user_agent", truncateUTF8(e.UserAgent, 256))
	add("request_id", e.RequestID)
	if e.Duration > 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	add("error_code", e.ErrCode)
	add("error", e.ErrMessage)
	a.l.LogAttrs(ctx, level, auditMessage(e.Type), attrs...)
}

// SessionFingerprint is the form in which audit records name a session: the first 12 hex
// digits of the SHA-256 of its public id. It lets records of one session be grouped
// without the id itself, which would let a reader of the logs address the session.
func SessionFingerprint(sid string) string {
	sum := sha256.Sum256([]byte(sid))
	return hex.EncodeToString(sum[:6])
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var (
	urlCredentials = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*@`)
	// Long runs of base64url characters: tokens, their segments, session and CSRF values,
	// refresh tokens, hashes. Hostnames, addresses, SQLSTATEs and Go errors stay readable.
	opaqueRun = regexp.MustCompile(`[A-Za-z0-9_\-]{20,}`)
)

// Scrub reduces a dependency's error message to what may be logged: at most 300 bytes,
// with URL credentials and long opaque strings (tokens, session handles, hashes) redacted,
// since a driver may quote a connection string or a value it could not handle. Stores and
// caches pass their errors through it before logging them.
func Scrub(s string) string {
	s = truncateUTF8(s, 300)
	s = urlCredentials.ReplaceAllString(s, "${1}[redacted]@")
	return opaqueRun.ReplaceAllString(s, "[redacted]")
}
