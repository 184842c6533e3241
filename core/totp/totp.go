package totp

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The parameters every authenticator app understands (RFC 6238's defaults, and the only
// ones Google Authenticator honours): HMAC-SHA1, 6 digits, 30-second steps.
const (
	// Period is the length of a time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// Skew is how many steps either side of the current one a code may belong to, for
	// clocks that drift and users who type slowly.
	Skew = 1
	// SecretSize is the size of a generated secret in bytes: 160 bits, the size RFC 4226
	// recommends for HMAC-SHA1.
	SecretSize = 20
)

var (
	// ErrMalformedCode is returned for input that is neither 6 digits nor a recovery code
	// (see ParseInput), or for a code of the wrong shape passed to Validate.
	ErrMalformedCode = errors.New("totp: malformed code: want 6 digits or a recovery code")
	// ErrBadSecret is returned for a secret that is not base32 of SecretSize bytes or more.
	ErrBadSecret = errors.New("totp: secret is not a valid base32 TOTP secret")
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrollment is what a user is shown to add the account to an authenticator app. Secret is
// to be sealed (Sealer.Seal) and stored as a pending record until the user confirms it
// with a code; Enroll does both.
type Enrollment struct {
	// Secret is the base32 secret (no padding), for users who type it in.
	Secret string
	// URI is the otpauth://totp/ URI the QR code holds.
	URI string
	// QRPNG is a PNG image of the QR code of URI.
	QRPNG []byte
}

// Option configures WithTwoFactor and Generate; each takes the options that concern it and
// ignores the others.
type Option interface{ apply(*enrollConfig) }

type enrollConfig struct {
	qrSize int
	// issuer is WithIssuerName's; previous are WithPreviousKeys' (WithTwoFactor only).
	issuer   string
	previous [][]byte
	errs     []error
}

type enrollOptionFunc func(*enrollConfig)

func (f enrollOptionFunc) apply(c *enrollConfig) { f(c) }

// WithQRSize sets the width and height of the QR code image in pixels (default 256,
// allowed 64 to 2048).
func WithQRSize(px int) Option {
	return enrollOptionFunc(func(c *enrollConfig) {
		if px < 64 || px > 2048 {
			c.errs = append(c.errs, fmt.Errorf("totp: WithQRSize(%d): want 64 to 2048 pixels", px))
			return
		}
		c.qrSize = px
	})
}

// Generate makes a new random secret for account (the user's name, shown in the app) at
// issuer (the service's name, shown above it), with its otpauth URI and QR code. Neither
// issuer nor account may be empty or contain a colon, which the URI uses to separate them.
// It stores nothing: Enroll is the Guard's enrolment, which calls it.
func Generate(issuer, account string, opts ...Option) (*Enrollment, error) {
	cfg := enrollConfig{qrSize: 256}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	for what, v := range map[string]string{"issuer": issuer, "account name": account} {
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("totp: enroll: the %s is empty", what)
		}
		if strings.Contains(v, ":") {
			return nil, fmt.Errorf("totp: enroll: the %s contains a colon, which the otpauth URI reserves", what)
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: uint(Period / time.Second),
		SecretSize: SecretSize, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("totp: enroll: %w", err)
	}
	img, err := key.Image(cfg.qrSize, cfg.qrSize)
	if err != nil {
		return nil, fmt.Errorf("totp: enroll: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: enroll: QR code: %w", err)
	}
	return &Enrollment{Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}, nil
}

// Step is the RFC 6238 time step of t: the number of whole periods since the Unix epoch.
func Step(t time.Time) int64 {
	s := t.Unix()
	p := int64(Period / time.Second)
	if s < 0 {
		return (s - p + 1) / p
	}
	return s / p
}

// checkSecret decodes secret (base32, any case, padding optional) and checks its size.
func checkSecret(secret string) error {
	raw, err := b32.DecodeString(strings.TrimRight(strings.ToUpper(secret), "="))
	if err != nil || len(raw) < 10 {
		// RFC 4226 requires 128 bits at least; 80 (10 bytes) is the floor that older
		// enrolments of other services may bring when a secret is imported.
		return ErrBadSecret
	}
	return nil
}

// Code returns the code of secret for the time step step: what an authenticator app
// shows during that step. Servers need it only in tests; Validate checks codes.
func Code(secret string, step int64) (string, error) {
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	if step < 0 {
		return "", fmt.Errorf("totp: step %d is before the Unix epoch", step)
	}
	code, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", ErrBadSecret
	}
	return code, nil
}

// Validate reports which time step code belongs to for secret at now: the current step or
// one either side (Skew). The caller then hands the step to store.MFAStore.UseTOTPStep,
// which accepts it only once. code is normalised first (NormalizeCode); a code of the
// wrong shape is ErrMalformedCode, a wrong code is (0, false, nil).
//
// Every candidate step is computed and compared in constant time, so the time taken does
// not tell which step matched, nor how close a wrong code came.
func Validate(secret, code string, now time.Time) (step int64, ok bool, err error) {
	norm, err := NormalizeCode(code)
	if err != nil {
		return 0, false, err
	}
	if err := checkSecret(secret); err != nil {
		return 0, false, err
	}
	cur := Step(now)
	// The current step first, then the earlier one: when a code happens to match two
	// steps, the one already shown wins, so that the user's next code is not refused for
	// a step accepted ahead of its time.
	for _, s := range []int64{cur, cur - 1, cur + 1} {
		want, err := Code(secret, s)
		if err != nil {
			return 0, false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(norm)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok, nil
}

// NormalizeCode returns the 6 digits of a code as a user may type it: spaces, dashes and
// surrounding blanks removed ("123 456", "123-456"). Anything else is ErrMalformedCode.
func NormalizeCode(code string) (string, error) {
	if len(code) > maxInput {
		return "", ErrMalformedCode
	}
	var b [Digits]byte
	n := 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= '0' && c <= '9':
			if n == Digits {
				return "", ErrMalformedCode
			}
			b[n] = c
			n++
		case isSeparator(c):
		default:
			return "", ErrMalformedCode
		}
	}
	if n != Digits {
		return "", ErrMalformedCode
	}
	return string(b[:]), nil
}

// maxInput bounds what the parsers read: a code or a recovery code with generous
// separators fits many times over.
const maxInput = 64

func isSeparator(c byte) bool {
	return c == ' ' || c == '-' || c == '\t' || c == '\r' || c == '\n'
}

// Kind says what a user typed as their second factor.
type Kind int

const (
	// KindCode is a 6-digit TOTP code.
	KindCode Kind = iota + 1
	// KindRecovery is a recovery code.
	KindRecovery
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindCode:
		return "code"
	case KindRecovery:
		return "recovery code"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseInput tells a TOTP code from a recovery code in what a user typed (the otp field
// of a login, the code that disables two-factor login) and returns it normalised (see
// NormalizeCode and NormalizeRecoveryCode). Input that is neither is ErrMalformedCode.
func ParseInput(s string) (Kind, string, error) {
	if code, err := NormalizeCode(s); err == nil {
		return KindCode, code, nil
	}
	if rc, err := NormalizeRecoveryCode(s); err == nil {
		return KindRecovery, rc, nil
	}
	return 0, "", ErrMalformedCode
}
