package totp_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/totp"
)

// Enrolment, confirmation and a login with a code, against the memory store. The sealing
// key would come from the application's secrets, never from code.
func Example() {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()

	sealingKey := make([]byte, totp.KeySize)
	_, _ = rand.Read(sealingKey)
	sealer, err := totp.NewSealer(sealingKey)
	if err != nil {
		panic(err)
	}

	// Enrolment: show e.URI as the QR code e.QRPNG; store the secret sealed, pending.
	e, err := totp.Generate("Example App", "alice")
	if err != nil {
		panic(err)
	}
	sealed, _ := sealer.Seal("u1", e.Secret)
	_ = st.PutMFA(ctx, store.MFA{UserID: "u1", SealedSecret: sealed, CreatedAt: time.Now()})

	// Confirmation: the user types the code their app shows.
	now := time.Now()
	typed, _ := totp.Code(e.Secret, totp.Step(now))
	rec, _, _ := st.GetMFA(ctx, "u1")
	secret, _ := sealer.Open("u1", rec.SealedSecret)
	step, ok, _ := totp.Validate(secret, typed, now)
	codes, hashes, _ := totp.NewRecoveryCodes("u1")
	if ok {
		_ = st.ConfirmMFA(ctx, "u1", rec.SealedSecret, step, hashes)
	}
	fmt.Println("confirmed:", ok, "recovery codes:", len(codes))

	// A login with the same code is refused: its step was used by the confirmation.
	step, ok, _ = totp.Validate(secret, typed, now)
	accepted, _ := st.UseTOTPStep(ctx, "u1", step)
	fmt.Println("code valid:", ok, "accepted again:", accepted)

	// A recovery code works once.
	h, _ := totp.HashRecoveryCode("u1", codes[0])
	first, _ := st.UseRecoveryCode(ctx, "u1", h)
	second, _ := st.UseRecoveryCode(ctx, "u1", h)
	fmt.Println("recovery code:", first, second)
	// Output:
	// confirmed: true recovery codes: 10
	// code valid: true accepted again: false
	// recovery code: true false
}

// Codes are typed with spaces or dashes; ParseInput tells a code from a recovery code.
func ExampleParseInput() {
	for _, in := range []string{"123 456", "ABCD-EFGH-JK", "12345"} {
		kind, norm, err := totp.ParseInput(in)
		fmt.Println(kind, norm, err)
	}
	// Output:
	// code 123456 <nil>
	// recovery code abcdefghjk <nil>
	// Kind(0)  totp: malformed code: want 6 digits or a recovery code
}
