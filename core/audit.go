package authframe

import (
	"errors"
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

// scrubDependencyError keeps a store or cache error useful to an operator while removing
// what must not be logged even if a driver put it in its message (see audit.Scrub).
func scrubDependencyError(s string) string { return audit.Scrub(s) }

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
