package contracttest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authframe/authframe/core/totp"
)

// RunMFA checks two-factor login (TOTP, RFC 6238): enrolment, confirmation, logins with a
// code or a recovery code, code reuse, the login limit, amr in tokens and sessions, mfa in
// /api/me, the step-up route and turning it off. Codes are computed from the secret the
// enrolment returns, as an authenticator app would.
func RunMFA(t *testing.T, tg Target) {
	t.Run("two-factor login with tokens and recovery codes", func(t *testing.T) { checkMFATokens(t, tg) })
	t.Run("two-factor enrolment in a session, and the login limit", func(t *testing.T) { checkMFASessionAndLimit(t, tg) })
}

// code is the TOTP code of secret offset steps from now.
func code(t *testing.T, secret string, offset int64) string {
	t.Helper()
	c, err := totp.Code(secret, totp.Step(time.Now())+offset)
	if err != nil {
		t.Fatalf("totp.Code: %v", err)
	}
	return c
}

// wrongCode is a 6-digit code that none of the steps around now gives for secret.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if c != code(t, secret, -1) && c != code(t, secret, 0) && c != code(t, secret, 1) && c != code(t, secret, 2) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// accessClaims decodes the payload of an access token (its signature is the app's to
// check, and the other checks do).
func accessClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token of %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("access token payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("access token payload: %v", err)
	}
	return m
}

// checkAMR fails unless the token's amr is want and its auth_time lies within the last
// minute (or is exactly authTime when that is not zero).
func checkAMR(t *testing.T, tok string, want []string, authTime float64) float64 {
	t.Helper()
	c := accessClaims(t, tok)
	raw, _ := c["amr"].([]any)
	var got []string
	for _, v := range raw {
		s, _ := v.(string)
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("amr %v, want %v", c["amr"], want)
	}
	at, _ := c["auth_time"].(float64)
	if authTime != 0 && at != authTime {
		t.Fatalf("auth_time %v, want the login's %v", at, authTime)
	}
	if d := time.Since(time.Unix(int64(at), 0)); d < -5*time.Second || d > time.Minute {
		t.Fatalf("auth_time %v is %v away from now", at, d)
	}
	return at
}

// me returns /api/me's mfa for r's credential.
func meMFA(t *testing.T, tg Target, r Req) bool {
	t.Helper()
	r.Method, r.Path = "GET", "/api/me"
	resp := tg.Do(t, r)
	Expect(t, resp, 200, "")
	v, ok := resp.JSON(t)["mfa"].(bool)
	if !ok {
		t.Fatalf("/api/me without a boolean mfa: %s", resp.Body)
	}
	return v
}

type enrollment struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
	QR     string `json:"qr_png"`
}

// enroll starts an enrolment with r's credential and checks the answer's shape.
func enroll(t *testing.T, tg Target, r Req) enrollment {
	t.Helper()
	r.Method, r.Path = "POST", "/api/mfa/totp"
	resp := tg.Do(t, r)
	Expect(t, resp, 200, "")
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("enrolment answer with Cache-Control %q", cc)
	}
	var e enrollment
	if err := json.Unmarshal(resp.Body, &e); err != nil || e.Secret == "" {
		t.Fatalf("enrolment answer %s", resp.Body)
	}
	tg.Secrets.Add(e.Secret, e.URI)
	if !strings.HasPrefix(e.URI, "otpauth://totp/") || !strings.Contains(e.URI, "secret="+e.Secret) {
		t.Fatalf("otpauth_uri %q", e.URI)
	}
	png, err := base64.StdEncoding.DecodeString(e.QR)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("qr_png is not a base64 PNG (%v)", err)
	}
	if _, err := totp.Code(e.Secret, totp.Step(time.Now())); err != nil {
		t.Fatalf("secret %d chars is not base32: %v", len(e.Secret), err)
	}
	return e
}

// confirm confirms the enrolment with r's credential and returns the recovery codes.
func confirm(t *testing.T, tg Target, r Req, c string) []string {
	t.Helper()
	r.Method, r.Path, r.JSON = "POST", "/api/mfa/totp/confirm", map[string]string{"code": c}
	resp := tg.Do(t, r)
	Expect(t, resp, 200, "")
	var body struct {
		Codes []string `json:"recovery_codes"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || len(body.Codes) != 10 {
		t.Fatalf("confirmation answer %s", resp.Body)
	}
	seen := map[string]bool{}
	for _, rc := range body.Codes {
		if len(rc) < 8 || seen[rc] {
			t.Fatalf("recovery codes %q are not 10 distinct codes", body.Codes)
		}
		seen[rc] = true
	}
	tg.Secrets.Add(body.Codes...)
	return body.Codes
}

func tokenLogin(tg Target, t *testing.T, name, pass, otp string) Resp {
	t.Helper()
	body := map[string]string{"username": name, "password": pass}
	if otp != "" {
		body["otp"] = otp
	}
	return tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: body})
}

func pairOf(t *testing.T, tg Target, r Resp) Pair {
	t.Helper()
	Expect(t, r, 200, "")
	var p Pair
	if err := json.Unmarshal(r.Body, &p); err != nil || p.AccessToken == "" {
		t.Fatalf("token answer %s", r.Body)
	}
	tg.Secrets.Add(p.AccessToken, p.RefreshToken)
	return p
}

// checkMFATokens walks one user through two-factor login with bearer tokens. It makes
// nine login attempts, under the contract's limit of ten per minute.
func checkMFATokens(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "mfa")
	p0 := pairOf(t, tg, tokenLogin(tg, t, name, pass, "")) // attempt 1
	checkAMR(t, p0.AccessToken, []string{"pwd"}, 0)
	bearer := Req{Bearer: p0.AccessToken}
	if meMFA(t, tg, bearer) {
		t.Fatal("/api/me says mfa after a password login")
	}
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/sensitive"}), 401, "")
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/sensitive", Bearer: p0.AccessToken}), 403, "mfa_required")

	// Nothing pending yet; then a new enrolment replaces a pending one.
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/mfa/totp/confirm", Bearer: p0.AccessToken, JSON: map[string]string{"code": "123456"}}), 400, "invalid_request")
	first := enroll(t, tg, bearer)
	second := enroll(t, tg, bearer)
	if first.Secret == second.Secret {
		t.Fatal("a second enrolment gave the same secret")
	}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/mfa/totp/confirm", Bearer: p0.AccessToken, JSON: map[string]string{"code": wrongCode(t, second.Secret)}}), 400, "invalid_request")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/mfa/totp/confirm", Bearer: p0.AccessToken, JSON: map[string]string{"code": "12ab"}}), 400, "invalid_request")
	confirmCode := code(t, second.Secret, 0)
	recovery := confirm(t, tg, bearer, confirmCode)
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/mfa/totp", Bearer: p0.AccessToken}), 409, "conflict")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/mfa/totp/confirm", Bearer: p0.AccessToken, JSON: map[string]string{"code": code(t, second.Secret, 1)}}), 400, "invalid_request")

	// The password alone is not enough; the confirming code and wrong codes do not log in.
	Expect(t, tokenLogin(tg, t, name, pass, ""), 401, "mfa_required")                                           // 2
	Expect(t, tokenLogin(tg, t, name, pass, confirmCode), 401, "invalid_credentials")                           // 3
	Expect(t, tokenLogin(tg, t, name, pass, wrongCode(t, second.Secret)), 401, "invalid_credentials")           // 4
	Expect(t, tokenLogin(tg, t, name, "wrong-password", code(t, second.Secret, 1)), 401, "invalid_credentials") // 5

	next := code(t, second.Secret, 1)
	p1 := pairOf(t, tg, tokenLogin(tg, t, name, pass, next))                   // 6
	Expect(t, tokenLogin(tg, t, name, pass, next), 401, "invalid_credentials") // 7: a code logs in once
	at := checkAMR(t, p1.AccessToken, []string{"pwd", "otp"}, 0)
	if !meMFA(t, tg, Req{Bearer: p1.AccessToken}) {
		t.Fatal("/api/me says no mfa after a login with a code")
	}
	r := tg.Do(t, Req{Method: "GET", Path: "/api/sensitive", Bearer: p1.AccessToken})
	Expect(t, r, 200, "")
	if ok, _ := r.JSON(t)["ok"].(bool); !ok {
		t.Fatalf("/api/sensitive answered %s", r.Body)
	}
	// A refresh keeps the login's amr and auth_time.
	rr := refresh(t, tg, p1.RefreshToken)
	p2 := pairOf(t, tg, rr)
	checkAMR(t, p2.AccessToken, []string{"pwd", "otp"}, at)
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/sensitive", Bearer: p2.AccessToken}), 200, "")
	// The earlier password-only token stays a password-only token.
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/sensitive", Bearer: p0.AccessToken}), 403, "mfa_required")

	// A recovery code logs a session in once.
	resp := tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": pass, "otp": recovery[0]}}) // 8
	Expect(t, resp, 200, "")
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == tg.CookieName {
			cookie = c.Value
		}
	}
	csrf, _ := resp.JSON(t)["csrf_token"].(string)
	tg.Secrets.Add(cookie, csrf)
	if !meMFA(t, tg, Req{Cookie: cookie}) {
		t.Fatal("/api/me of a session started with a recovery code says no mfa")
	}
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/sensitive", Cookie: cookie}), 200, "")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": pass, "otp": recovery[0]}}), 401, "invalid_credentials") // 9

	// Turning it off needs a valid code; then the password is enough again.
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/mfa/totp", Bearer: p1.AccessToken, JSON: map[string]string{"code": wrongCode(t, second.Secret)}}), 400, "invalid_request")
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/mfa/totp", Bearer: p1.AccessToken, JSON: map[string]string{"code": recovery[0]}}), 400, "invalid_request")
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/mfa/totp", Cookie: cookie, JSON: map[string]string{"code": recovery[1]}}), 403, "csrf_failed")
	del := tg.Do(t, Req{Method: "DELETE", Path: "/api/mfa/totp", Bearer: p1.AccessToken, JSON: map[string]string{"code": recovery[1]}})
	Expect(t, del, 204, "")
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/mfa/totp", Bearer: p1.AccessToken, JSON: map[string]string{"code": recovery[2]}}), 400, "invalid_request")
	p3 := pairOf(t, tg, tokenLogin(tg, t, name, pass, "")) // 10
	checkAMR(t, p3.AccessToken, []string{"pwd"}, 0)
}

// checkMFASessionAndLimit enrols from a cookie session (CSRF required) and checks that
// logins refused for a missing or wrong code count against the login limit like wrong
// passwords: the eleventh attempt within the window is refused even with a good code.
func checkMFASessionAndLimit(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "mfasess")
	cookie, csrf, _ := tg.Session(t, name, pass) // attempt 1
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/mfa/totp", Cookie: cookie}), 403, "csrf_failed")
	e := enroll(t, tg, Req{Cookie: cookie, CSRF: csrf})
	recovery := confirm(t, tg, Req{Cookie: cookie, CSRF: csrf}, code(t, e.Secret, 0))
	if meMFA(t, tg, Req{Cookie: cookie}) {
		t.Fatal("a session started before two-factor login was on says mfa")
	}
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/sensitive", Cookie: cookie}), 403, "mfa_required")

	bad := wrongCode(t, e.Secret)
	for i := 0; i < 4; i++ { // attempts 2-9
		Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": pass}}), 401, "mfa_required")
		Expect(t, tokenLogin(tg, t, name, pass, bad), 401, "invalid_credentials")
	}
	Expect(t, tokenLogin(tg, t, name, pass, "not-a-code"), 401, "invalid_credentials") // 10
	r := tokenLogin(tg, t, name, pass, code(t, e.Secret, 1))                           // 11
	Expect(t, r, 429, "rate_limited")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("429 without a useful Retry-After: %q", ra)
	}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/session/login", JSON: map[string]string{"username": name, "password": pass, "otp": recovery[0]}}), 429, "rate_limited")

	// The session turns it off with a current code.
	Expect(t, tg.Do(t, Req{Method: "DELETE", Path: "/api/mfa/totp", Cookie: cookie, CSRF: csrf, JSON: map[string]string{"code": code(t, e.Secret, 1)}}), 204, "")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/api/mfa/totp/confirm", Cookie: cookie, CSRF: csrf, JSON: map[string]string{"code": code(t, e.Secret, 1)}}), 400, "invalid_request")
}
