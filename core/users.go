package authframe

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/authframe/authframe/core/store"
)

// Username and password rules of the contract.
const (
	MinUsernameLen = 3
	MaxUsernameLen = 64
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidateUsername checks the contract's rule: 3 to 64 characters of letters, digits and
// "._@-".
func ValidateUsername(u string) error {
	if len(u) < MinUsernameLen || len(u) > MaxUsernameLen {
		return BadRequest("username must be 3 to 64 characters")
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return BadRequest("username may contain only letters, digits and . _ @ -")
		}
	}
	return nil
}

// ValidatePassword checks the contract's rule: 8 to 256 bytes.
func ValidatePassword(p string) error {
	if len(p) < MinPasswordLen || len(p) > MaxPasswordLen {
		return BadRequest("password must be 8 to 256 bytes")
	}
	return nil
}

// ClientInfo describes the client of a login, for session records and audit events.
type ClientInfo struct {
	IP        string
	UserAgent string
}

// owned returns c with its strings copied and the user agent bounded, so that a record
// which outlives the request never holds a view of a reused request buffer (fasthttp's).
func (c ClientInfo) owned() ClientInfo {
	return ClientInfo{IP: strings.Clone(c.IP), UserAgent: strings.Clone(truncateUTF8(c.UserAgent, maxUserAgent))}
}

// maxUserAgent bounds the user agent kept in session records.
const maxUserAgent = 256

// Register creates a user with an argon2id password hash. Invalid input is a 400, a taken
// username a 409.
func (g *Guard) Register(ctx context.Context, username, password string, roles ...string) (User, error) {
	if err := ValidateUsername(username); err != nil {
		return User{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return User{}, err
	}
	now := g.cfg.now()
	u := User{ID: randomString(16), Username: username, PasswordHash: g.HashPassword(password), Roles: slices.Clone(roles), CreatedAt: now, UpdatedAt: now}
	if err := g.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return User{}, ErrConflict
		}
		return User{}, g.storeErr(ctx, "create_user", err)
	}
	g.observe(ctx, Event{Type: EventRegistered, UserID: u.ID, Username: u.Username})
	return u, nil
}

// EnsureUser creates the user if the username is free, and otherwise makes sure the
// existing user has the given roles (its password is kept). Examples use it to seed an
// administrator.
func (g *Guard) EnsureUser(ctx context.Context, username, password string, roles ...string) (User, error) {
	u, ok, err := g.store.GetUserByUsername(ctx, username)
	if err != nil {
		return User{}, g.storeErr(ctx, "get_user", err)
	}
	if !ok {
		u, err = g.Register(ctx, username, password, roles...)
		if !errors.Is(err, ErrConflict) {
			return u, err
		}
		if u, ok, err = g.store.GetUserByUsername(ctx, username); err != nil || !ok {
			return User{}, g.storeErr(ctx, "get_user", errors.Join(err, store.ErrNotFound))
		}
	}
	changed := false
	for _, r := range roles {
		if !slices.Contains(u.Roles, r) {
			u.Roles = append(u.Roles, r)
			changed = true
		}
	}
	if changed {
		u.UpdatedAt = g.cfg.now()
		if err := g.store.UpdateUser(ctx, u); err != nil {
			return User{}, g.storeErr(ctx, "update_user", err)
		}
	}
	return u, nil
}

// SetRoles replaces a user's roles. Tokens already issued keep their roles until they
// expire; renew sessions (Renew) or revoke the user's tokens to apply the change at once.
func (g *Guard) SetRoles(ctx context.Context, userID string, roles ...string) error {
	u, ok, err := g.store.GetUser(ctx, userID)
	if err != nil {
		return g.storeErr(ctx, "get_user", err)
	}
	if !ok {
		return ErrNotFound
	}
	u.Roles = slices.Clone(roles)
	u.UpdatedAt = g.cfg.now()
	if err := g.store.UpdateUser(ctx, u); err != nil {
		return g.storeErr(ctx, "update_user", err)
	}
	return nil
}

// loginInputError refuses what Login must not even hash: a missing field, or one over the
// length limits (a huge password must not cost an argon2id run).
func loginInputError(username, password string) error {
	if username == "" || password == "" {
		return BadRequest("username and password are required")
	}
	if len(username) > MaxUsernameLen || len(password) > MaxPasswordLen {
		return BadRequest("username or password is too long")
	}
	return nil
}

// Login checks a username and password. Every attempt counts against the (client IP,
// username) rate limit first, known user or not. An unknown user costs the same hash as a
// wrong password, and both give the same 401, so neither timing nor answer reveals whether
// a username exists. Parameters that changed since the hash was made are upgraded here.
func (g *Guard) Login(ctx context.Context, username, password string, client ClientInfo) (User, error) {
	if err := loginInputError(username, password); err != nil {
		g.observe(ctx, Event{Type: EventLoginFailed, Reason: "invalid_input", ClientIP: client.IP, UserAgent: client.UserAgent})
		return User{}, err
	}
	if err := g.rateLimit(ctx, "login", client.IP+"|"+username, client); err != nil {
		return User{}, err
	}
	u, ok, err := g.store.GetUserByUsername(ctx, username)
	if err != nil {
		return User{}, g.storeErr(ctx, "get_user", err)
	}
	if !ok {
		g.checkPassword(g.dummy, password)
		g.observe(ctx, Event{Type: EventLoginFailed, Reason: "unknown_user", ClientIP: client.IP, UserAgent: client.UserAgent})
		return User{}, ErrInvalidCredentials
	}
	good, rehash := g.checkPassword(u.PasswordHash, password)
	if !good {
		g.observe(ctx, Event{Type: EventLoginFailed, Reason: "bad_password", UserID: u.ID, ClientIP: client.IP, UserAgent: client.UserAgent})
		return User{}, ErrInvalidCredentials
	}
	if rehash {
		u.PasswordHash = g.HashPassword(password)
		u.UpdatedAt = g.cfg.now()
		if err := g.store.UpdateUser(ctx, u); err != nil {
			g.depError(ctx, "store", "update_user", err)
		}
	}
	g.observe(ctx, Event{Type: EventLoginSucceeded, UserID: u.ID, Username: u.Username, ClientIP: client.IP, UserAgent: client.UserAgent})
	return u, nil
}

// rateLimit counts one attempt for (scope, key) and refuses it past the login limit.
func (g *Guard) rateLimit(ctx context.Context, scope, key string, client ClientInfo) error {
	n, reset, err := g.store.Hit(ctx, scope+":"+key, g.cfg.loginWindow)
	if err != nil {
		return g.storeErr(ctx, "rate_limit", err)
	}
	if n > int64(g.cfg.loginLimit) {
		g.observe(ctx, Event{Type: EventRateLimited, Kind: scope, ClientIP: client.IP, UserAgent: client.UserAgent})
		e := *ErrRateLimited
		e.RetryAfter = max(reset, time.Second)
		return &e
	}
	return nil
}
