package authframe_test

import (
	"context"
	"crypto/rand"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/totp"
)

// TestAuditLogNeverHoldsTwoFactorSecrets drives every two-factor flow (enrolment,
// confirmation, logins with codes and recovery codes, refusals, turning it off) with the
// audit logger and the Guard's own logger at Debug, and checks that neither the TOTP
// secret, its otpauth URI, a code, a recovery code nor the sealing key reaches a line.
func TestAuditLogNeverHoldsTwoFactorSecrets(t *testing.T) {
	buf, obs, logger, all := newDebugCapture()
	key := make([]byte, totp.KeySize)
	_, _ = rand.Read(key)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	g, err := authframe.New(
		authframe.WithHMACSecret(auditSecret), authframe.WithIssuer("https://audit.example"), authframe.WithAudience("audit-aud"),
		authframe.WithPasswords(auditArgon), authframe.WithObserver(obs), authframe.WithLogger(logger), authframe.WithClock(clock),
		totp.WithTwoFactor(key),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := endpoint.ContextWithRequestID(context.Background(), "audit-mfa-1")
	const password = "correct horse battery staple"
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "erin", password); err != nil {
		t.Fatal(err)
	}
	u, err := g.VerifyPassword(ctx, auditClient, "erin", password)
	if err != nil {
		t.Fatal(err)
	}
	pair, _ := g.IssueTokens(ctx, u, auditClient)
	p, _ := g.VerifyToken(ctx, pair.AccessToken)

	var codes []string
	code := func(secret string, offset int64) string {
		c, err := totp.Code(secret, totp.Step(now)+offset)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, c)
		return c
	}
	first, err := totp.Enroll(ctx, g, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := totp.Confirm(ctx, g, p, code(first.Secret, 5)); err == nil {
		t.Fatal("a far-off code confirmed the enrolment")
	}
	e, err := totp.Enroll(ctx, g, p)
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := totp.Confirm(ctx, g, p, code(e.Secret, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		otp  string
		want error
	}{
		{"", authframe.ErrMFARequired},
		{code(e.Secret, 0), authframe.ErrInvalidCredentials}, // reused
		{code(e.Secret, 7), authframe.ErrInvalidCredentials}, // wrong
		{code(e.Secret, 1), nil},
		{recovery[0], nil},
		{recovery[0], authframe.ErrInvalidCredentials},
	} {
		if _, _, err := totp.VerifyLogin(ctx, g, auditClient, "erin", password, tc.otp); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Fatalf("VerifyLogin: %v, want %v", err, tc.want)
		}
	}
	if err := totp.Disable(ctx, g, p, code(e.Secret, -1)); err == nil {
		t.Fatal("a code of a step already passed turned two-factor login off")
	}
	if err := totp.Disable(ctx, g, p, recovery[1]); err != nil {
		t.Fatal(err)
	}

	out := all()
	if testing.Verbose() {
		t.Log(out)
	}
	for _, s := range append([]string{first.Secret, e.Secret, first.URI, e.URI, string(key), password}, recovery...) {
		if strings.Contains(out, s) {
			t.Errorf("a log line holds a secret (%d bytes, starting %.6q)", len(s), s)
		}
		if norm, err := totp.NormalizeRecoveryCode(s); err == nil && strings.Contains(out, norm) {
			t.Errorf("a log line holds a recovery code without its dashes (%.4q...)", norm)
		}
	}
	for _, c := range codes {
		// A code is six digits: look for it as a number of its own, not inside a longer one.
		if regexp.MustCompile(`(^|[^0-9])` + c + `([^0-9]|$)`).MatchString(out) {
			t.Errorf("a log line holds the code %s", c)
		}
	}
	seen := map[string]int{}
	for _, r := range auditRecords(t, buf) {
		if r["event"] == "second_factor" {
			seen[r["op"].(string)+"/"+r["result"].(string)]++
		}
		if r["event"] == "login_failed" {
			seen["login_failed/"+r["reason"].(string)]++
		}
	}
	for _, want := range []string{"enroll/ok", "confirm/wrong_code", "confirm/ok", "login/ok", "login/reused_code", "login/wrong_code",
		"login/unknown_recovery_code", "disable/reused_code", "disable/ok", "login_failed/mfa_required", "login_failed/bad_otp"} {
		if seen[want] == 0 {
			t.Errorf("no %s record (have %v)", want, seen)
		}
	}
}
