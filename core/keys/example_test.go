package keys_test

import (
	"crypto/rand"
	"fmt"
	"strings"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/keys"
	"github.com/authframe/authframe/core/memstore"
)

func ExampleGenerateEd25519PEM() {
	pem, err := keys.GenerateEd25519PEM()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.SplitN(string(pem), "\n", 2)[0])
	// Output: -----BEGIN PRIVATE KEY-----
}

func ExampleWithRotation() {
	st := memstore.New() // or redisstore, pgstore: every instance then shares the ring
	defer st.Close()
	kek := make([]byte, 32) // in production: the same 32+ bytes on every instance, from a secret manager
	_, _ = rand.Read(kek)
	g, err := authframe.New(authframe.WithStore(st), authframe.WithIssuer("https://auth.example"), authframe.WithAudience("api"),
		keys.WithRotation(keys.Rotation{KEK: kek}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	for _, k := range keys.Held(g) {
		fmt.Println(k.Algorithm, k.State, k.Signing)
	}
	// Output: EdDSA active true
}
