package authframe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"unicode/utf8"
)

// NewAuditLogger returns an Observer that writes every event as one structured audit record
// to l. Pass it to WithObserver (next to a metrics collector if you like):
//
//	guard, err := authframe.New(key, authframe.WithObserver(authframe.NewAuditLogger(logger)))
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
func NewAuditLogger(l *slog.Logger) Observer {
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

func auditMessage(t EventType) string {
	if int(t) < len(auditMessages) && auditMessages[t] != "" {
		return auditMessages[t]
	}
	return "authframe: unknown"
}

// auditLevel is the level of an event's record.
func auditLevel(e Event) slog.Level {
	switch e.Type {
	case EventTokenValidated, EventSessionValidated:
		if e.Result == "ok" {
			return slog.LevelDebug
		}
		return slog.LevelInfo
	case EventRefreshed, EventRevocationReceived:
		return slog.LevelDebug
	case EventRefreshReused, EventCSRFFailed, EventRateLimited:
		return slog.LevelWarn
	case EventRevoked:
		if e.Reason == "refresh_reuse" {
			return slog.LevelWarn
		}
		return slog.LevelInfo
	case EventDependencyError:
		return slog.LevelError
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
	add("method", string(e.Method))
	add("user_id", e.UserID)
	add("username", e.Username)
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("session", SessionFingerprint(e.SessionID)))
	}
	add("client_ip", e.ClientIP)
	add("user_agent", truncateUTF8(e.UserAgent, 256))
	add("request_id", RequestIDFromContext(ctx))
	if e.Duration > 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	if e.Err != nil {
		code, msg := safeErrorForm(e)
		add("error_code", code)
		add("error", msg)
	}
	a.l.LogAttrs(ctx, level, auditMessage(e.Type), attrs...)
}

// SessionFingerprint is the form in which audit records name a session: the first 12 hex
// digits of the SHA-256 of its public id. It lets records of one session be grouped
// without the id itself, which would let a reader of the logs address the session.
func SessionFingerprint(sid string) string {
	sum := sha256.Sum256([]byte(sid))
	return hex.EncodeToString(sum[:6])
}

// safeErrorForm reduces an event's error to what may be logged.
func safeErrorForm(e Event) (code, msg string) {
	var ae *Error
	if e.Type == EventDependencyError {
		cause := e.Err
		if errors.As(cause, &ae) {
			code = string(ae.Code)
			if ae.Err != nil {
				cause = ae.Err
			} else {
				return code, ae.Message
			}
		}
		return code, scrubDependencyError(cause.Error())
	}
	if errors.As(e.Err, &ae) {
		msg = ae.Message
		if msg == "" {
			msg = "invalid token"
		}
		return string(ae.Code), msg
	}
	// Not one of ours: its text may come from anywhere, so only say that there was one.
	return string(CodeInternal), "unclassified error"
}

var (
	urlCredentials = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*@`)
	// Long runs of base64url characters: tokens, their segments, session and CSRF values,
	// refresh tokens, hashes. Hostnames, addresses, SQLSTATEs and Go errors stay readable.
	opaqueRun = regexp.MustCompile(`[A-Za-z0-9_\-]{20,}`)
)

// scrubDependencyError keeps a store or cache error useful to an operator while removing
// what must not be logged even if a driver put it in its message.
func scrubDependencyError(s string) string {
	s = truncateUTF8(s, 300)
	s = urlCredentials.ReplaceAllString(s, "${1}[redacted]@")
	return opaqueRun.ReplaceAllString(s, "[redacted]")
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
