package endpoint

import (
	"encoding/base64"
	"net/http"

	"github.com/authframe/authframe/core/totp"
)

// loginFields reads a login's username, password and optional otp (a TOTP code or a
// recovery code, for a user with two-factor login on).
func (h *Handlers) loginFields(in Input) (username, password, otp string, err error) {
	if err := decode(in, map[string]*string{"username": &username, "password": &password, "otp": &otp}); err != nil {
		return "", "", "", err
	}
	if username == "" || password == "" {
		return "", "", "", BadRequest("username and password are required")
	}
	return username, password, otp, nil
}

// codeField reads the {"code"} body of the two-factor routes.
func codeField(in Input) (string, error) {
	var body struct {
		Code *string `json:"code"`
	}
	if err := decodeJSON(in, &body); err != nil {
		return "", err
	}
	if body.Code == nil || *body.Code == "" {
		return "", BadRequest("code is required")
	}
	return *body.Code, nil
}

type enrollmentView struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
	QRPNG  string `json:"qr_png"`
}

// EnrollTOTP is POST /mfa/totp, behind the middleware: a new TOTP secret for the caller
// (a user with a token or a session), pending until ConfirmTOTP, as 200
// {"secret","otpauth_uri","qr_png"} (base32, the otpauth:// URI, a base64 PNG of its QR
// code). A new call replaces a pending enrolment; 409 conflict when two-factor login is
// already on. The answer is never cached.
func (h *Handlers) EnrollTOTP(in Input) Output {
	e, err := totp.Enroll(in.Ctx, h.guard, in.Principal)
	if err != nil {
		return fail(err)
	}
	return jsonOutput(http.StatusOK, enrollmentView{Secret: e.Secret, URI: e.URI, QRPNG: base64.StdEncoding.EncodeToString(e.QRPNG)})
}

// ConfirmTOTP is POST /mfa/totp/confirm, behind the middleware: {"code"}, a current code
// of the pending secret, turns two-factor login on and answers 200 {"recovery_codes"},
// shown this once. 400 for a wrong code or nothing pending.
func (h *Handlers) ConfirmTOTP(in Input) Output {
	code, err := codeField(in)
	if err != nil {
		return fail(err)
	}
	codes, err := totp.Confirm(in.Ctx, h.guard, in.Principal, code)
	if err != nil {
		return fail(err)
	}
	return jsonOutput(http.StatusOK, map[string][]string{"recovery_codes": codes})
}

// DisableTOTP is DELETE /mfa/totp, behind the middleware: {"code"}, a current code or an
// unused recovery code, turns two-factor login off: 204. 400 for a wrong code or when it
// is not on.
func (h *Handlers) DisableTOTP(in Input) Output {
	code, err := codeField(in)
	if err != nil {
		return fail(err)
	}
	if err := totp.Disable(in.Ctx, h.guard, in.Principal, code); err != nil {
		return fail(err)
	}
	return Output{Status: http.StatusNoContent, CacheControl: noStore}
}
