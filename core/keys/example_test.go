package keys_test

import (
	"fmt"
	"strings"

	"github.com/authframe/authframe/core/keys"
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
