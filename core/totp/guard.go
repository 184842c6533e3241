package totp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// guardOps are the Guard internals this package uses (see core/internal/engine).
type guardOps interface {
	VerifyLogin(ctx context.Context, client authframe.ClientInfo, username, password, otp string) (context.Context, authframe.User, error)
	SecondFactor() engine.SecondFactor
	MFAStore() (store.MFAStore, bool)
	Now() time.Time
	Issuer() string
	LocalUser(p *authframe.Principal) error
	Observe(ctx context.Context, e audit.Event)
	StoreErr(ctx context.Context, op string, err error) error
	LimitSecondFactor(ctx context.Context, client authframe.ClientInfo, userID string) error
}

func ops(g *authframe.Guard) guardOps { return engine.Of(g).(guardOps) }

// configurer is what WithTwoFactor needs of the Guard's configuration.
type configurer interface {
	SetSecondFactor(opt string, f engine.SecondFactor)
	OptionError(opt string, err error)
}

// Method is the RFC 8176 authentication method that a second factor of this package adds
// to a login's amr (after "pwd"): a TOTP code and a recovery code alike are one-time
// passwords.
const Method = "otp"

// WithIssuerName sets the service name that authenticator apps show above the account
// (the otpauth URI's issuer). Default: the host of the Guard's issuer URL, or "authframe".
// It may not be empty, longer than 64 bytes, or contain a colon.
func WithIssuerName(name string) Option {
	return enrollOptionFunc(func(c *enrollConfig) {
		if strings.TrimSpace(name) == "" || len(name) > 64 || strings.Contains(name, ":") {
			c.errs = append(c.errs, fmt.Errorf("totp: WithIssuerName(%q): want 1 to 64 bytes without a colon", name))
			return
		}
		c.issuer = name
	})
}

// WithPreviousKeys adds sealing keys that open secrets sealed before a key rotation; the
// key given to WithTwoFactor seals every new secret. Each is 32 bytes.
func WithPreviousKeys(keys ...[]byte) Option {
	keys = slices.Clone(keys)
	return enrollOptionFunc(func(c *enrollConfig) { c.previous = append(c.previous, keys...) })
}

// WithTwoFactor turns on two-factor login with TOTP (RFC 6238) on the Guard: users may
// Enroll, Confirm and Disable it, and a user who has it on logs in with a code or a
// recovery code besides the password (VerifyLogin). key is the 32-byte key that seals the
// users' secrets in the store (XChaCha20-Poly1305, bound to the user id): draw it once
// from crypto/rand and keep it with the application's other secrets, since a lost key
// makes every enrolled user's secret unreadable. A missing or short key is an error of
// authframe.New saying so. The store must keep two-factor records (store.MFAStore; every
// built-in store does).
func WithTwoFactor(key []byte, opts ...Option) authframe.Option {
	key = slices.Clone(key)
	return engine.Option(func(cfg any) {
		const opt = "totp.WithTwoFactor"
		c := cfg.(configurer)
		o := enrollConfig{qrSize: 256}
		for _, op := range opts {
			if op != nil {
				op.apply(&o)
			}
		}
		if len(o.errs) > 0 {
			c.OptionError(opt, errors.Join(o.errs...))
			return
		}
		sealer, err := NewSealer(key, o.previous...)
		if err != nil {
			c.OptionError(opt, err)
			return
		}
		c.SetSecondFactor(opt, &factor{sealer: sealer, qrSize: o.qrSize, issuer: o.issuer})
	}).(authframe.Option)
}

// factor is the second factor WithTwoFactor registers with the Guard.
type factor struct {
	sealer *Sealer
	qrSize int
	issuer string
}

// Check implements engine.SecondFactor: a 6-digit code of the current step (±1) that no
// login has used yet, or an unused recovery code, each spent atomically in the store.
func (f *factor) Check(ctx context.Context, ms store.MFAStore, userID, input string, now time.Time) (engine.Check, error) {
	rec, found, err := ms.GetMFA(ctx, userID)
	if err != nil {
		return engine.Check{}, err
	}
	if !found || !rec.Confirmed {
		return engine.Check{}, nil
	}
	c := engine.Check{Required: true}
	if input == "" {
		return c, nil
	}
	kind, norm, err := ParseInput(input)
	if err != nil {
		c.Reason = "malformed"
		return c, nil
	}
	switch kind {
	case KindCode:
		secret, err := f.sealer.Open(userID, rec.SealedSecret)
		if err != nil {
			return engine.Check{}, errUnsealable
		}
		step, ok, err := Validate(secret, norm, now)
		if err != nil || !ok {
			c.Reason = "wrong_code"
			return c, nil
		}
		accepted, err := ms.UseTOTPStep(ctx, userID, step)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Turned off meanwhile: the code proves nothing any more.
			c.Reason = "wrong_code"
			return c, nil
		case err != nil:
			return engine.Check{}, err
		case !accepted:
			c.Reason = "reused_code"
			return c, nil
		}
		c.OK, c.Method, c.Kind = true, Method, "code"
	case KindRecovery:
		used, err := ms.UseRecoveryCode(ctx, userID, hashNormalized(userID, norm))
		switch {
		case errors.Is(err, store.ErrNotFound):
			c.Reason = "unknown_recovery_code"
			return c, nil
		case err != nil:
			return engine.Check{}, err
		case !used:
			c.Reason = "unknown_recovery_code"
			return c, nil
		}
		c.OK, c.Method, c.Kind = true, Method, "recovery_code"
	}
	return c, nil
}

// errUnsealable is the cause of a check that found a secret the configured keys do not
// open: a sealing key was replaced without WithPreviousKeys. It is the operator's to fix,
// and answered as the store failures are (503, logged).
var errUnsealable = errors.New("totp: a user's sealed secret does not open with the configured keys (was the key replaced without WithPreviousKeys?)")

// issuerName is the otpauth issuer: WithIssuerName's, else the host of the Guard's issuer
// URL, else the issuer itself when it is a plain name, else "authframe".
func (f *factor) issuerName(guardIssuer string) string {
	if f.issuer != "" {
		return f.issuer
	}
	if u, err := url.Parse(guardIssuer); err == nil && u.Hostname() != "" && !strings.Contains(u.Hostname(), ":") {
		return u.Hostname()
	}
	if guardIssuer != "" && len(guardIssuer) <= 64 && !strings.Contains(guardIssuer, ":") {
		return guardIssuer
	}
	return "authframe"
}

// errNotConfigured answers the two-factor operations of a Guard without WithTwoFactor.
var errNotConfigured = errors.New("totp: two-factor login is not configured on this Guard (totp.WithTwoFactor)")

// setup returns the Guard's factor and two-factor store for p's operations, after
// checking that p is a local user acting as themself.
func setup(g *authframe.Guard, p *authframe.Principal) (guardOps, *factor, store.MFAStore, error) {
	o := ops(g)
	if err := o.LocalUser(p); err != nil {
		return nil, nil, nil, err
	}
	f, _ := o.SecondFactor().(*factor)
	ms, ok := o.MFAStore()
	if f == nil || !ok {
		return nil, nil, nil, &authframe.Error{Code: authframe.ErrInternal, Err: errNotConfigured}
	}
	return o, f, ms, nil
}

func badRequest(msg string) error {
	return &authframe.Error{Code: authframe.ErrInvalidRequest, Message: msg}
}

func (f *factor) event(ctx context.Context, o guardOps, op, result, reason string, p *authframe.Principal) {
	o.Observe(ctx, audit.Event{Type: audit.SecondFactor, Kind: "totp", Op: op, Result: result, Reason: reason, UserID: p.UserID, SessionID: p.SessionID})
}

// Enroll starts p's enrolment: a new secret, stored sealed as a pending record (replacing
// a pending one), and shown once in the Enrollment for the user's authenticator app. p
// must be a local user logged in as themself (a token or a session; not a service client,
// an API key, or a remote issuer's subject). Two-factor login is not on until Confirm.
// authframe.ErrConflict (409) when it is on already: Disable it first.
func Enroll(ctx context.Context, g *authframe.Guard, p *authframe.Principal) (*Enrollment, error) {
	o, f, ms, err := setup(g, p)
	if err != nil {
		return nil, err
	}
	rec, found, err := ms.GetMFA(ctx, p.UserID)
	if err != nil {
		return nil, o.StoreErr(ctx, "get_mfa", err)
	}
	if found && rec.Confirmed {
		f.event(ctx, o, "enroll", "already_on", "", p)
		return nil, errAlreadyOn()
	}
	account := p.Username
	if account == "" || strings.Contains(account, ":") {
		account = p.UserID
	}
	e, err := Generate(f.issuerName(o.Issuer()), account, WithQRSize(f.qrSize))
	if err != nil {
		return nil, &authframe.Error{Code: authframe.ErrInternal, Err: err}
	}
	sealed, err := f.sealer.Seal(p.UserID, e.Secret)
	if err != nil {
		return nil, &authframe.Error{Code: authframe.ErrInternal, Err: err}
	}
	if err := ms.PutMFA(ctx, store.MFA{UserID: p.UserID, SealedSecret: sealed, CreatedAt: o.Now()}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			f.event(ctx, o, "enroll", "already_on", "", p)
			return nil, errAlreadyOn()
		}
		return nil, o.StoreErr(ctx, "put_mfa", err)
	}
	f.event(ctx, o, "enroll", "ok", "", p)
	return e, nil
}

func errAlreadyOn() error {
	return &authframe.Error{Code: authframe.ErrConflict, Message: "two-factor login is already on: turn it off first"}
}

// Confirm turns two-factor login on for p: code must be a current code of the pending
// enrolment's secret (proving the authenticator app holds it). It returns the recovery
// codes, RecoveryCodeCount of them, each good for one login: show them once, the store
// keeps only their hashes. The confirming code cannot log in afterwards. A wrong code, or
// no pending enrolment, is a 400; every attempt counts against the login limit of p's
// user.
func Confirm(ctx context.Context, g *authframe.Guard, p *authframe.Principal, code string) ([]string, error) {
	o, f, ms, err := setup(g, p)
	if err != nil {
		return nil, err
	}
	if err := o.LimitSecondFactor(ctx, authframe.ClientInfo{}, p.UserID); err != nil {
		return nil, err
	}
	rec, found, err := ms.GetMFA(ctx, p.UserID)
	if err != nil {
		return nil, o.StoreErr(ctx, "get_mfa", err)
	}
	switch {
	case !found:
		f.event(ctx, o, "confirm", "nothing_pending", "", p)
		return nil, badRequest("no two-factor enrolment is pending: start one first")
	case rec.Confirmed:
		f.event(ctx, o, "confirm", "already_on", "", p)
		return nil, badRequest("two-factor login is already on")
	}
	if _, err := NormalizeCode(code); err != nil {
		f.event(ctx, o, "confirm", "malformed", "code", p)
		return nil, badRequest("code must be the 6 digits the authenticator app shows")
	}
	secret, err := f.sealer.Open(p.UserID, rec.SealedSecret)
	if err != nil {
		return nil, o.StoreErr(ctx, "open_mfa", errUnsealable)
	}
	step, ok, err := Validate(secret, code, o.Now())
	if err != nil || !ok {
		f.event(ctx, o, "confirm", "wrong_code", "code", p)
		return nil, badRequest("the code is not valid: enter the current code of the authenticator app (is its clock right?)")
	}
	codes, hashes, err := NewRecoveryCodes(p.UserID)
	if err != nil {
		return nil, &authframe.Error{Code: authframe.ErrInternal, Err: err}
	}
	if err := ms.ConfirmMFA(ctx, p.UserID, rec.SealedSecret, step, hashes); err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
			f.event(ctx, o, "confirm", "nothing_pending", "", p)
			return nil, badRequest("the enrolment was replaced by a newer one: confirm that one")
		case errors.Is(err, store.ErrConflict):
			f.event(ctx, o, "confirm", "already_on", "", p)
			return nil, badRequest("two-factor login is already on")
		}
		return nil, o.StoreErr(ctx, "confirm_mfa", err)
	}
	f.event(ctx, o, "confirm", "ok", "code", p)
	return codes, nil
}

// Disable turns two-factor login off for p, proven with code: a current code that has not
// logged in yet, or an unused recovery code (which it spends). A wrong code, or two-factor
// login not on, is a 400; every attempt counts against the login limit of p's user.
// Sessions and tokens already issued keep their amr.
func Disable(ctx context.Context, g *authframe.Guard, p *authframe.Principal, code string) error {
	o, f, ms, err := setup(g, p)
	if err != nil {
		return err
	}
	if err := o.LimitSecondFactor(ctx, authframe.ClientInfo{}, p.UserID); err != nil {
		return err
	}
	if code == "" {
		return badRequest("code is required: a current code of the authenticator app or a recovery code")
	}
	c, err := f.Check(ctx, ms, p.UserID, code, o.Now())
	if err != nil {
		if errors.Is(err, errUnsealable) {
			return o.StoreErr(ctx, "open_mfa", err)
		}
		return o.StoreErr(ctx, "check_mfa", err)
	}
	if !c.Required {
		f.event(ctx, o, "disable", "not_on", "", p)
		return badRequest("two-factor login is not on")
	}
	if !c.OK {
		f.event(ctx, o, "disable", c.Reason, "", p)
		return badRequest("the code is not valid: enter a current code of the authenticator app or an unused recovery code")
	}
	if _, err := ms.DeleteMFA(ctx, p.UserID); err != nil {
		return o.StoreErr(ctx, "delete_mfa", err)
	}
	f.event(ctx, o, "disable", "ok", c.Kind, p)
	return nil
}

// VerifyLogin is the password login of a Guard with two-factor login: the username and
// password as authframe.Guard.VerifyPassword checks them (rate limits first, the same
// answers), then, for a user who has two-factor login on, otp: a 6-digit code of the
// current 30-second step (±1) that has not logged in yet, or an unused recovery code.
// Without otp such a login is authframe.ErrMFARequired (401 mfa_required), with a wrong or
// reused one authframe.ErrInvalidCredentials; each attempt counted against the login
// limits as a wrong password is. For a user without it, otp is ignored.
//
// The returned context carries what the login proved (its amr and time), for this user
// only: pass it to IssueTokens or StartSession, whose tokens and session then carry amr
// ["pwd","otp"] and auth_time. Without it they say ["pwd"].
//
// It works on any Guard: without WithTwoFactor, a user who has two-factor login on
// (enrolled while the option was set) is refused with ErrMFARequired, never let in on a
// password alone.
func VerifyLogin(ctx context.Context, g *authframe.Guard, client authframe.ClientInfo, username, password, otp string) (context.Context, authframe.User, error) {
	return ops(g).VerifyLogin(ctx, client, username, password, otp)
}

// UsedSecondFactor reports whether p's login used a second factor: its amr holds "mfa"
// (RFC 8176: several factors), or "otp" besides another method (this package's logins say
// ["pwd","otp"]). A remote issuer's token says so with its own amr claim.
func UsedSecondFactor(p *authframe.Principal) bool {
	if p == nil {
		return false
	}
	if slices.Contains(p.AMR, "mfa") {
		return true
	}
	return slices.Contains(p.AMR, Method) && slices.ContainsFunc(p.AMR, func(m string) bool { return m != Method })
}

// RequireSecondFactor is the step-up check in front of sensitive actions: nil when p's
// login used a second factor (UsedSecondFactor) and, when maxAge > 0, happened at most
// maxAge ago (its AuthTime). No principal is authframe.ErrUnauthenticated (401); anything
// else is a 403 with code mfa_required, telling the client to log in again with its
// second factor. The adapters' RequireMFA middleware calls it.
func RequireSecondFactor(p *authframe.Principal, maxAge time.Duration) error {
	if p == nil {
		return authframe.ErrUnauthenticated
	}
	if !UsedSecondFactor(p) {
		return &authframe.Error{Code: authframe.ErrMFARequired, Status: 403, Message: "this action needs a login with a second factor"}
	}
	if maxAge > 0 && (p.AuthTime.IsZero() || time.Since(p.AuthTime) > maxAge) {
		return &authframe.Error{Code: authframe.ErrMFARequired, Status: 403, Message: "this action needs a recent login with a second factor: log in again"}
	}
	return nil
}
