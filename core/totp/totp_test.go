package totp_test

import (
	"bytes"
	"encoding/base32"
	"errors"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/authframe/authframe/core/totp"
)

// rfcSecret is the SHA-1 secret of RFC 6238's test vectors, "12345678901234567890".
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

func TestCodesMatchTheVectorsOfRFC6238(t *testing.T) {
	// RFC 6238 Appendix B gives 8 digits; a 6-digit code is their last six.
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		got, err := totp.Code(rfcSecret, totp.Step(time.Unix(tc.unix, 0)))
		if err != nil || got != tc.want {
			t.Errorf("Code at %d = %q, %v; want %q", tc.unix, got, err, tc.want)
		}
	}
}

func TestValidateAcceptsTheCurrentStepAndOneEitherSide(t *testing.T) {
	now := time.Unix(1_700_000_015, 0)
	cur := totp.Step(now)
	for _, tc := range []struct {
		name   string
		offset int64
		ok     bool
	}{
		{"the current step", 0, true},
		{"the previous step", -1, true},
		{"the next step", 1, true},
		{"two steps ago", -2, false},
		{"two steps ahead", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := totp.Code(rfcSecret, cur+tc.offset)
			if err != nil {
				t.Fatal(err)
			}
			step, ok, err := totp.Validate(rfcSecret, code, now)
			if err != nil || ok != tc.ok {
				t.Fatalf("Validate = %d, %v, %v; want ok %v", step, ok, err, tc.ok)
			}
			if ok && step != cur+tc.offset {
				t.Fatalf("Validate matched step %d, want %d", step, cur+tc.offset)
			}
		})
	}
}

func TestValidateReadsCodesAsUsersTypeThem(t *testing.T) {
	now := time.Unix(1_700_000_015, 0)
	code, _ := totp.Code(rfcSecret, totp.Step(now))
	for _, typed := range []string{code, code[:3] + " " + code[3:], code[:3] + "-" + code[3:], " " + code + "\n", "\t" + code} {
		if _, ok, err := totp.Validate(rfcSecret, typed, now); !ok || err != nil {
			t.Errorf("Validate(%q) = %v, %v; want accepted", typed, ok, err)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "12345a", "１２３４５６", code + "0", "abcdef", strings.Repeat(" ", 100) + code} {
		if _, ok, err := totp.Validate(rfcSecret, bad, now); ok || !errors.Is(err, totp.ErrMalformedCode) {
			t.Errorf("Validate(%q) = %v, %v; want ErrMalformedCode", bad, ok, err)
		}
	}
	wrong := "000000"
	if wrong == code {
		wrong = "000001"
	}
	if _, ok, err := totp.Validate(rfcSecret, wrong, now); ok || err != nil {
		t.Errorf("Validate(a wrong code) = %v, %v; want false, nil", ok, err)
	}
	for _, secret := range []string{"", "not base32!", "AAAA"} {
		if _, _, err := totp.Validate(secret, code, now); !errors.Is(err, totp.ErrBadSecret) {
			t.Errorf("Validate with secret %q = %v, want ErrBadSecret", secret, err)
		}
	}
}

func TestEnrollMakesASecretItsURIAndAQRCode(t *testing.T) {
	e, err := totp.Generate("Example App", "alice@example.com", totp.WithQRSize(200))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw) != totp.SecretSize {
		t.Fatalf("secret decodes to %d bytes, %v; want %d", len(raw), err, totp.SecretSize)
	}
	key, err := otp.NewKeyFromURL(e.URI)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URI, "otpauth://totp/") || key.Issuer() != "Example App" || key.AccountName() != "alice@example.com" ||
		key.Secret() != e.Secret || key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
		t.Fatalf("URI %q does not describe the enrolment", e.URI)
	}
	img, err := png.Decode(bytes.NewReader(e.QRPNG))
	if err != nil {
		t.Fatalf("QRPNG is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 200 {
		t.Fatalf("QR code is %v, want 200x200", b)
	}
	now := time.Now()
	code, _ := totp.Code(e.Secret, totp.Step(now))
	if _, ok, err := totp.Validate(e.Secret, code, now); !ok || err != nil {
		t.Fatalf("a code of the enrolled secret is refused: %v, %v", ok, err)
	}
	if other, _ := totp.Generate("Example App", "alice@example.com"); other.Secret == e.Secret {
		t.Fatal("two enrolments share a secret")
	}
}

func TestEnrollRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, issuer, account string
		opts                  []totp.Option
	}{
		{"an empty issuer", "", "alice", nil},
		{"an empty account", "Example", " ", nil},
		{"a colon in the issuer", "Ex:ample", "alice", nil},
		{"a colon in the account", "Example", "al:ice", nil},
		{"a tiny QR code", "Example", "alice", []totp.Option{totp.WithQRSize(10)}},
		{"a huge QR code", "Example", "alice", []totp.Option{totp.WithQRSize(100000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := totp.Generate(tc.issuer, tc.account, tc.opts...); err == nil {
				t.Fatalf("Generate = %+v, want an error", e)
			}
		})
	}
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, totp.KeySize) }

func TestSealerOpensOnlyWhatItSealedForThatUser(t *testing.T) {
	s, err := totp.NewSealer(key(1))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("u1", rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(rfcSecret)) {
		t.Fatal("the sealed secret holds the secret in the clear")
	}
	if again, _ := s.Seal("u1", rfcSecret); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one secret are equal: the nonce is not fresh")
	}
	if got, err := s.Open("u1", sealed); err != nil || got != rfcSecret {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := totp.NewSealer(key(2))
	for name, open := range map[string]func() (string, error){
		"for another user":  func() (string, error) { return s.Open("u2", sealed) },
		"under another key": func() (string, error) { return other.Open("u1", sealed) },
		"altered": func() (string, error) {
			b := bytes.Clone(sealed)
			b[len(b)-1] ^= 1
			return s.Open("u1", b)
		},
		"truncated": func() (string, error) { return s.Open("u1", sealed[:10]) },
		"empty":     func() (string, error) { return s.Open("u1", nil) },
		"of version 2": func() (string, error) {
			b := bytes.Clone(sealed)
			b[0] = 2
			return s.Open("u1", b)
		},
	} {
		if got, err := open(); !errors.Is(err, totp.ErrUnseal) || got != "" {
			t.Errorf("Open %s = %q, %v; want ErrUnseal", name, got, err)
		}
	}
}

func TestSealerKeepsOpeningUnderAPreviousKey(t *testing.T) {
	old, _ := totp.NewSealer(key(1))
	sealed, _ := old.Seal("u1", rfcSecret)
	rotated, err := totp.NewSealer(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open("u1", sealed); err != nil || got != rfcSecret {
		t.Fatalf("Open under the previous key = %q, %v", got, err)
	}
	if !rotated.NeedsReseal(sealed) {
		t.Fatal("NeedsReseal = false for a secret sealed under the previous key")
	}
	resealed, _ := rotated.Seal("u1", rfcSecret)
	if rotated.NeedsReseal(resealed) {
		t.Fatal("NeedsReseal = true for a secret sealed under the current key")
	}
	if _, err := old.Open("u1", resealed); !errors.Is(err, totp.ErrUnseal) {
		t.Fatalf("the old sealer opened a secret sealed under the new key: %v", err)
	}
}

func TestNewSealerSaysWhatIsWrongWithTheKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keys    [][]byte
		index   int
		len     int
		message string
	}{
		{"a missing key", [][]byte{nil}, 0, 0, "is missing"},
		{"a short key", [][]byte{key(1)[:16]}, 0, 16, "is 16 bytes, want exactly 32"},
		{"a long previous key", [][]byte{key(1), append(key(2), 0)}, 1, 33, "previous TOTP secret-sealing key #1 is 33 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := totp.NewSealer(tc.keys[0], tc.keys[1:]...)
			ke, ok := errors.AsType[*totp.KeyError](err)
			if !ok || ke.Index != tc.index || ke.Len != tc.len || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("NewSealer = %v, want a KeyError saying %q", err, tc.message)
			}
		})
	}
	if _, err := totp.NewSealer(key(1), key(1)); err == nil {
		t.Fatal("NewSealer accepted one key twice")
	}
}

var recoveryFormat = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{2}$`)

func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := totp.NewRecoveryCodes("u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != totp.RecoveryCodeCount || len(hashes) != totp.RecoveryCodeCount {
		t.Fatalf("%d codes and %d hashes, want %d", len(codes), len(hashes), totp.RecoveryCodeCount)
	}
	if totp.RecoveryCodeBits < 50 {
		t.Fatalf("a recovery code carries %d bits, want at least 50", totp.RecoveryCodeBits)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if !recoveryFormat.MatchString(c) || seen[c] {
			t.Fatalf("code %q is malformed or repeated", c)
		}
		seen[c] = true
		h, err := totp.HashRecoveryCode("u1", c)
		if err != nil || !bytes.Equal(h, hashes[i]) {
			t.Fatalf("HashRecoveryCode(code %d) does not give its hash: %v", i, err)
		}
		if bytes.Contains(h, []byte(c)) {
			t.Fatal("the hash holds the code")
		}
	}
	c := codes[4]
	plain := strings.ReplaceAll(c, "-", "")
	for _, typed := range []string{plain, strings.ToUpper(c), " " + c[:4] + " " + c[5:9] + " " + c[10:] + " ",
		strings.NewReplacer("0", "O", "1", "l").Replace(c), strings.NewReplacer("1", "I", "0", "o").Replace(plain)} {
		i, ok := totp.MatchRecoveryCode(hashes, "u1", typed)
		if !ok || i != 4 {
			t.Errorf("MatchRecoveryCode(%q) = %d, %v; want 4, true", typed, i, ok)
		}
	}
	if _, ok := totp.MatchRecoveryCode(hashes, "u2", c); ok {
		t.Error("a code of u1 matches for u2: the hash is not bound to the user")
	}
	for _, bad := range []string{"", c[:9], c + "x", strings.Replace(c, c[:1], "u", 1), strings.Repeat("-", 65) + plain} {
		if _, err := totp.HashRecoveryCode("u1", bad); !errors.Is(err, totp.ErrMalformedCode) {
			t.Errorf("HashRecoveryCode(%q) = %v, want ErrMalformedCode", bad, err)
		}
	}
}

func TestParseInputTellsCodesFromRecoveryCodes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind totp.Kind
		norm string
	}{
		{"123456", totp.KindCode, "123456"},
		{"123 456", totp.KindCode, "123456"},
		{"abcd-efgh-jk", totp.KindRecovery, "abcdefghjk"},
		{"ABCD EFGH JK", totp.KindRecovery, "abcdefghjk"},
		{"1234567890", totp.KindRecovery, "1234567890"},
		{"oOiI-lL00-11", totp.KindRecovery, "0011110011"},
	} {
		kind, norm, err := totp.ParseInput(tc.in)
		if err != nil || kind != tc.kind || norm != tc.norm {
			t.Errorf("ParseInput(%q) = %v, %q, %v; want %v, %q", tc.in, kind, norm, err, tc.kind, tc.norm)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcd-efgh-j", "abcd-efgh-jku", "uuuu-uuuu-uu", "12345\x00"} {
		if kind, _, err := totp.ParseInput(bad); !errors.Is(err, totp.ErrMalformedCode) {
			t.Errorf("ParseInput(%q) = %v, %v; want ErrMalformedCode", bad, kind, err)
		}
	}
}

func TestStepCountsWholePeriods(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2}, {-1, -1}, {-30, -1}, {-31, -2}} {
		if got := totp.Step(time.Unix(tc.unix, 0)); got != tc.want {
			t.Errorf("Step(%d) = %d, want %d", tc.unix, got, tc.want)
		}
	}
}
