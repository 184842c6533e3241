package authframe

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// Two-factor login. The factor itself (TOTP, its sealed secrets, its recovery codes) lives
// in package totp, which registers it with totp.WithTwoFactor; the Guard asks it at every
// password login (secondFactor) and records what the login proved in the session and its
// tokens (amr, auth_time).

// login is what a verified login proved: whose it was, by which methods (RFC 8176) and
// when. totp.VerifyLogin hands it to IssueTokens and StartSession in the context.
type login struct {
	userID string
	amr    []string
	at     time.Time
}

// method is the login's methods for audit records: "pwd", "pwd+otp".
func (l *login) method() string { return strings.Join(l.amr, "+") }

type loginKey struct{}

// loginOf returns the methods and time of the login of userID: those a login verified by
// totp.VerifyLogin put in ctx for the same user, else a password alone, now. The proof
// names its user, so a context carried over from one login never vouches for another.
func loginOf(ctx context.Context, userID string, now time.Time) ([]string, time.Time) {
	if l, ok := ctx.Value(loginKey{}).(*login); ok && l.userID == userID {
		return slices.Clone(l.amr), l.at
	}
	return []string{"pwd"}, now
}

// errMFARequired answers a correct password without the second factor its user has on.
var errMFARequired = &Error{Code: ErrMFARequired, Message: "this account needs a second factor: send the current code of the authenticator app (otp) with the password"}

// errFactorNotConfigured is the cause of a login refused because its user has two-factor
// login on while this Guard has no factor to check it with.
var errFactorNotConfigured = errors.New("the user has two-factor login on, but the Guard has no second factor configured (totp.WithTwoFactor)")

// SetSecondFactor registers the second factor of login; engine.Option appliers call it.
func (c *config) SetSecondFactor(opt string, f engine.SecondFactor) {
	if c.factor != nil {
		optErr(c, opt, errors.New("a second factor is already configured"))
		return
	}
	c.factor = f
}

// checkSecondFactor refuses, at New, a second factor over a store that cannot keep it.
func (g *Guard) checkSecondFactor() error {
	if g.cfg.factor == nil {
		return nil
	}
	if _, ok := store.As[store.MFAStore](g.store); !ok {
		return errors.New("authframe: totp.WithTwoFactor: the store does not keep two-factor records (it lacks store.MFAStore; every built-in store has it)")
	}
	return nil
}

// secondFactor finishes the login of u, whose password is correct. A user with two-factor
// login on needs the factor too: without input (or on the VerifyPassword path, which takes
// none) the login is ErrMFARequired, with a wrong or reused input ErrInvalidCredentials.
// Both were already counted against the login limits with the attempt. A store that keeps
// no two-factor records has no user with it on.
//
// A Guard without a factor configured still looks: a user who turned two-factor login on
// is refused rather than let in on a password alone because the option was dropped.
func (g *Guard) secondFactor(ctx context.Context, client ClientInfo, u User, input string, withOTP bool) (*login, error) {
	now := g.cfg.now()
	l := &login{userID: u.ID, amr: []string{"pwd"}, at: now}
	ms, ok := store.As[store.MFAStore](g.store)
	if !ok {
		return l, nil
	}
	if !withOTP {
		input = ""
	}
	var c engine.Check
	if g.cfg.factor == nil {
		rec, found, err := ms.GetMFA(ctx, u.ID)
		if err != nil {
			return nil, g.storeErr(ctx, "get_mfa", err)
		}
		if !found || !rec.Confirmed {
			return l, nil
		}
		g.log.Warn("authframe: login refused: "+errFactorNotConfigured.Error(), "user_id", u.ID)
		c = engine.Check{Required: true, Reason: "not_configured"}
	} else {
		var err error
		if c, err = g.cfg.factor.Check(ctx, ms, u.ID, input, now); err != nil {
			return nil, g.storeErr(ctx, "check_mfa", err)
		}
	}
	switch {
	case !c.Required:
		return l, nil
	case c.OK:
		l.amr = append(l.amr, c.Method)
		g.observe(ctx, audit.Event{Type: audit.SecondFactor, Kind: "totp", Op: "login", Result: "ok", Reason: c.Kind, UserID: u.ID, ClientIP: client.IP, UserAgent: client.UserAgent})
		return l, nil
	case input == "" || g.cfg.factor == nil:
		g.observe(ctx, audit.Event{Type: audit.LoginFailed, Reason: "mfa_required", UserID: u.ID, ClientIP: client.IP, UserAgent: client.UserAgent})
		if g.cfg.factor == nil {
			return nil, &Error{Code: ErrMFARequired, Message: errMFARequired.Message, Err: errFactorNotConfigured}
		}
		return nil, errMFARequired
	}
	g.observe(ctx, audit.Event{Type: audit.LoginFailed, Reason: "bad_otp", UserID: u.ID, ClientIP: client.IP, UserAgent: client.UserAgent})
	g.observe(ctx, audit.Event{Type: audit.SecondFactor, Kind: "totp", Op: "login", Result: c.Reason, UserID: u.ID, ClientIP: client.IP, UserAgent: client.UserAgent})
	return nil, ErrInvalidCredentials
}

// The two-factor operations, for package totp.

func (i internals) VerifyLogin(ctx context.Context, client ClientInfo, username, password, otp string) (context.Context, User, error) {
	u, l, err := i.g.verifyLogin(ctx, client, username, password, otp, true)
	if err != nil {
		return ctx, User{}, err
	}
	return context.WithValue(ctx, loginKey{}, l), u, nil
}

func (i internals) SecondFactor() engine.SecondFactor { return i.g.cfg.factor }

func (i internals) MFAStore() (store.MFAStore, bool) { return store.As[store.MFAStore](i.g.store) }

func (i internals) Issuer() string { return i.g.issuer() }

func (i internals) LocalUser(p *Principal) error { return localUser(p) }

func (i internals) Observe(ctx context.Context, e audit.Event) { i.g.observe(ctx, e) }

func (i internals) StoreErr(ctx context.Context, op string, err error) error {
	return i.g.storeErr(ctx, op, err)
}

// LimitSecondFactor counts an attempt to confirm or turn off a user's second factor
// against the login limit of the user (per Window), so that a stolen session cannot try
// codes without end.
func (i internals) LimitSecondFactor(ctx context.Context, client ClientInfo, userID string) error {
	l := i.g.cfg.limits
	return i.g.limit(ctx, "mfa", userID, l.Login, l.Window, client)
}
