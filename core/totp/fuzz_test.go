package totp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authframe/authframe/core/totp"
)

// FuzzParseInput feeds the parsers of what users type as a second factor arbitrary input:
// they never panic, accept only what normalises to the canonical shape, and normalising
// is idempotent.
func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "123-456", "abcd-efgh-jk", "ABCD EFGH JK", "oOiI-lL00-11", "", "12345",
		"1234567", "１２３４５６", "abcd-efgh-jku", "\x00\xff", "123456\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, norm, err := totp.ParseInput(s)
		if err != nil {
			if !errors.Is(err, totp.ErrMalformedCode) || kind != 0 || norm != "" {
				t.Fatalf("ParseInput(%q) = %v, %q, %v", s, kind, norm, err)
			}
			return
		}
		switch kind {
		case totp.KindCode:
			if len(norm) != totp.Digits {
				t.Fatalf("code %q normalised to %q", s, norm)
			}
			for _, c := range []byte(norm) {
				if c < '0' || c > '9' {
					t.Fatalf("code %q normalised to %q", s, norm)
				}
			}
		case totp.KindRecovery:
			if len(norm) != 10 {
				t.Fatalf("recovery code %q normalised to %q", s, norm)
			}
			if _, err := totp.HashRecoveryCode("u", s); err != nil {
				t.Fatalf("HashRecoveryCode refuses %q, which ParseInput accepted: %v", s, err)
			}
		default:
			t.Fatalf("ParseInput(%q) gave kind %v", s, kind)
		}
		if k2, n2, err := totp.ParseInput(norm); err != nil || k2 != kind || n2 != norm {
			t.Fatalf("ParseInput(%q) = %v, %q, %v; normalising is not idempotent", norm, k2, n2, err)
		}
	})
}

// FuzzValidate checks a code path end to end on arbitrary input: an accepted input is one
// whose normalised digits are the code of the step Validate reports.
func FuzzValidate(f *testing.F) {
	now := time.Unix(1_700_000_015, 0)
	code, _ := totp.Code(rfcSecret, totp.Step(now))
	for _, s := range []string{code, "000000", "123 456", "", "1234567", "99999\x00"} {
		f.Add(s, int64(0))
	}
	f.Add(code, int64(31))
	f.Fuzz(func(t *testing.T, s string, offset int64) {
		at := now.Add(time.Duration(offset%1_000_000) * time.Second)
		step, ok, err := totp.Validate(rfcSecret, s, at)
		if err != nil {
			if !errors.Is(err, totp.ErrMalformedCode) || ok {
				t.Fatalf("Validate(%q) = %v, %v", s, ok, err)
			}
			return
		}
		if !ok {
			return
		}
		if d := step - totp.Step(at); d < -1 || d > 1 {
			t.Fatalf("Validate(%q) matched step %d, %d away from now", s, step, d)
		}
		norm, _ := totp.NormalizeCode(s)
		if want, _ := totp.Code(rfcSecret, step); want != norm {
			t.Fatalf("Validate(%q) accepted step %d, whose code is not the input", s, step)
		}
	})
}
