package authframe

import (
	"errors"
	"regexp"
	"unicode/utf8"

	"github.com/authframe/authframe/core/audit"
)

// safeErrorForm reduces an event's error to what may be logged.
func safeErrorForm(e audit.Event) (code, msg string) {
	var ae *Error
	if e.Type == audit.DependencyError {
		cause := e.Err
		if errors.As(cause, &ae) {
			code = string(ae.Code.Wire())
			if ae.Err != nil {
				cause = ae.Err
			} else {
				return code, safeMessage(ae)
			}
		}
		return code, scrubDependencyError(cause.Error())
	}
	if errors.As(e.Err, &ae) {
		return string(ae.Code.Wire()), safeMessage(ae)
	}
	var c Code
	if errors.As(e.Err, &c) {
		return string(c.Wire()), c.message()
	}
	// Not one of ours: its text may come from anywhere, so only say that there was one.
	return string(ErrInternal), "unclassified error"
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

func safeMessage(e *Error) string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code.message()
}
