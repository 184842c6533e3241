package authframe

import (
	"context"
	"time"
)

// EventType names what happened.
type EventType uint8

// The events a Guard reports.
const (
	// EventTokenValidated: a bearer token was checked. Result is "ok" or a reason
	// ("invalid", "expired", "revoked", "session", "unavailable", ...); Tier is "lru",
	// "shared" or "verify".
	EventTokenValidated EventType = iota + 1
	// EventSessionValidated: a session cookie was checked (Result as above).
	EventSessionValidated
	EventLoginSucceeded
	// EventLoginFailed: Reason is "unknown_user", "bad_password" or "invalid_input".
	EventLoginFailed
	EventRegistered
	EventRefreshed
	// EventRefreshReused: a spent refresh token was presented; its family was revoked.
	EventRefreshReused
	// EventRevoked: Kind is "session", "token" or "user"; Reason says why ("logout",
	// "refresh_reuse", "session_deleted", ...).
	EventRevoked
	// EventRevocationReceived: a revocation made by another instance arrived.
	EventRevocationReceived
	EventSessionCreated
	EventSessionRenewed
	EventSessionDestroyed
	EventRateLimited
	// EventCSRFFailed: an unsafe cookie request lacked a valid CSRF token.
	EventCSRFFailed
	// EventDependencyError: a store or cache call failed. Kind is "store" or "cache", Op
	// the operation.
	EventDependencyError
)

var eventNames = [...]string{
	EventTokenValidated:     "token_validated",
	EventSessionValidated:   "session_validated",
	EventLoginSucceeded:     "login_succeeded",
	EventLoginFailed:        "login_failed",
	EventRegistered:         "registered",
	EventRefreshed:          "refreshed",
	EventRefreshReused:      "refresh_reused",
	EventRevoked:            "revoked",
	EventRevocationReceived: "revocation_received",
	EventSessionCreated:     "session_created",
	EventSessionRenewed:     "session_renewed",
	EventSessionDestroyed:   "session_destroyed",
	EventRateLimited:        "rate_limited",
	EventCSRFFailed:         "csrf_failed",
	EventDependencyError:    "dependency_error",
}

func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return "unknown"
}

// Event describes one thing that happened. It never carries a password, a token, a session
// secret or a CSRF token: SessionID is the public session handle (the sid claim).
type Event struct {
	Type   EventType
	Result string
	Reason string
	Tier   string
	Kind   string
	Op     string
	Method AuthMethod
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
	Err       error
}

// Observer receives events. Observe is called synchronously on the request path: keep it
// fast and never block. ctx carries the request id (RequestIDFromContext); it may be nil
// for events that belong to no request.
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

func joinObservers(a, b Observer) Observer {
	if a == nil {
		return b
	}
	if m, ok := a.(multiObserver); ok {
		return append(m, b)
	}
	return multiObserver{a, b}
}
