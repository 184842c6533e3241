package authframe

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/credential"
	"slices"
	"strings"

	"github.com/authframe/authframe/core/store"
)

// Username and password rules of the contract.
const (
	minUsernameLen = 3
	maxUsernameLen = 64
	minPasswordLen = 8
	maxPasswordLen = 256
)

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validateUsername checks the contract's rule: 3 to 64 characters of letters, digits and
// "._@-".
func validateUsername(u string) error {
	if len(u) < minUsernameLen || len(u) > maxUsernameLen {
		return badRequest("username must be 3 to 64 characters")
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return badRequest("username may contain only letters, digits and . _ @ -")
		}
	}
	return nil
}

// validatePassword checks the contract's rule: 8 to 256 bytes.
func validatePassword(p string) error {
	if len(p) < minPasswordLen || len(p) > maxPasswordLen {
		return badRequest("password must be 8 to 256 bytes")
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

// Register creates a user with an argon2id password hash. Invalid input is a 400, and more
// registrations from the client's address than RateLimits.Register allow a 429. A taken
// username is ErrConflict (409), which tells whoever asks that the username exists; with
// WithQuietRegistration it is instead answered like a success, with an id that names no
// user, at the same cost in time (the password is hashed either way).
func (g *Guard) Register(ctx context.Context, client ClientInfo, username, password string, roles ...string) (User, error) {
	if err := validateUsername(username); err != nil {
		return User{}, err
	}
	if err := validatePassword(password); err != nil {
		return User{}, err
	}
	if client.IP != "" {
		if err := g.limit(ctx, "register", addressKey(client.IP), g.cfg.limits.Register, g.cfg.limits.RegisterWindow, client); err != nil {
			return User{}, err
		}
	}
	return g.createUser(ctx, username, password, roles)
}

func (g *Guard) createUser(ctx context.Context, username, password string, roles []string) (User, error) {
	hash, err := g.hashPassword(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := g.cfg.now()
	u := User{ID: credential.NewID(""), Username: username, PasswordHash: hash, Roles: slices.Clone(roles), CreatedAt: now, UpdatedAt: now}
	if err := g.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			if g.cfg.quietRegister {
				g.observe(ctx, audit.Event{Type: audit.Registered, Reason: "username_taken", Username: username})
				return User{ID: u.ID, Username: username, CreatedAt: now, UpdatedAt: now}, nil
			}
			return User{}, ErrConflict
		}
		return User{}, g.storeErr(ctx, "create_user", err)
	}
	g.observe(ctx, audit.Event{Type: audit.Registered, UserID: u.ID, Username: u.Username})
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
		return badRequest("username and password are required")
	}
	if len(username) > maxUsernameLen || len(password) > maxPasswordLen {
		return badRequest("username or password is too long")
	}
	return nil
}

// VerifyPassword checks a username and password; it creates nothing (IssueTokens and
// StartSession do). A user who has turned two-factor login on is refused with
// ErrMFARequired once the password is found correct: their login needs the second factor
// too, which totp.VerifyLogin checks, so that a program built on VerifyPassword never lets
// such a user in on a password alone. Every attempt counts against the rate limits
// first (per client address and username, per address, per account; see RateLimits),
// known user or not. An unknown user costs the same hash as a wrong password, and both give
// the same 401, so neither timing nor answer reveals whether a username exists. A request
// whose context ends while it waits for a hashing slot gives up without hashing.
// A disabled user (store.User.Disabled) is refused like a wrong password, at the same cost.
// Parameters weaker than the Guard's are upgraded here.
func (g *Guard) VerifyPassword(ctx context.Context, client ClientInfo, username, password string) (User, error) {
	u, _, err := g.verifyLogin(ctx, client, username, password, "", false)
	return u, err
}

// verifyLogin is VerifyPassword, and with withOTP the second factor's check of otp (see
// secondFactor). It returns what the login proved, for IssueTokens and StartSession.
func (g *Guard) verifyLogin(ctx context.Context, client ClientInfo, username, password, otp string, withOTP bool) (User, *login, error) {
	u, rehash, err := g.checkLogin(ctx, client, username, password)
	if err != nil {
		return User{}, nil, err
	}
	l, err := g.secondFactor(ctx, client, u, otp, withOTP)
	if err != nil {
		return User{}, nil, err
	}
	if rehash {
		g.upgradeHash(ctx, u, password)
	}
	g.observe(ctx, audit.Event{Type: audit.LoginSucceeded, Method: l.method(), UserID: u.ID, Username: u.Username, ClientIP: client.IP, UserAgent: client.UserAgent})
	return u, l, nil
}

// checkLogin counts the attempt against the rate limits and checks the password; rehash
// says the stored hash is weaker than the Guard's parameters.
func (g *Guard) checkLogin(ctx context.Context, client ClientInfo, username, password string) (u User, rehash bool, err error) {
	if err := loginInputError(username, password); err != nil {
		g.observe(ctx, audit.Event{Type: audit.LoginFailed, Reason: "invalid_input", ClientIP: client.IP, UserAgent: client.UserAgent})
		return User{}, false, err
	}
	l := g.cfg.limits
	if err := g.limit(ctx, "login", client.IP+"|"+username, l.Login, l.Window, client); err != nil {
		return User{}, false, err
	}
	if client.IP != "" {
		if err := g.limit(ctx, "login_address", addressKey(client.IP), l.Address, l.Window, client); err != nil {
			return User{}, false, err
		}
	}
	if err := g.accountBackoff(ctx, username, client); err != nil {
		return User{}, false, err
	}
	u, ok, err := g.store.GetUserByUsername(ctx, username)
	if err != nil {
		return User{}, false, g.storeErr(ctx, "get_user", err)
	}
	if !ok {
		if _, _, err := g.checkPassword(ctx, g.dummy, password); err != nil {
			return User{}, false, err
		}
		g.observe(ctx, audit.Event{Type: audit.LoginFailed, Reason: "unknown_user", ClientIP: client.IP, UserAgent: client.UserAgent})
		return User{}, false, ErrInvalidCredentials
	}
	good, rehash, err := g.checkPassword(ctx, u.PasswordHash, password)
	if err != nil {
		return User{}, false, err
	}
	if !good {
		g.observe(ctx, audit.Event{Type: audit.LoginFailed, Reason: "bad_password", UserID: u.ID, ClientIP: client.IP, UserAgent: client.UserAgent})
		return User{}, false, ErrInvalidCredentials
	}
	// A disabled user gets the answer of a wrong password, after the same hash work, so
	// that neither reveals that the account exists; the audit event says why.
	if u.Disabled {
		g.observe(ctx, audit.Event{Type: audit.LoginFailed, Reason: "user_disabled", UserID: u.ID, ClientIP: client.IP, UserAgent: client.UserAgent})
		return User{}, false, ErrInvalidCredentials
	}
	return u, rehash, nil
}

// upgradeHash stores a new hash of password for u, whose stored hash checkLogin found
// weaker than the Guard's parameters. It runs only once the whole login, second factor
// included, has succeeded.
func (g *Guard) upgradeHash(ctx context.Context, u User, password string) {
	if h, err := g.hashPassword(ctx, password); err == nil {
		u.PasswordHash = h
		u.UpdatedAt = g.cfg.now()
		if err := g.store.UpdateUser(ctx, u); err != nil {
			g.depError(ctx, "store", "update_user", err)
		}
	}
}
