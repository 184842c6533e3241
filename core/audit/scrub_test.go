package audit_test

import (
	"strings"
	"testing"

	"github.com/authframe/authframe/core/audit"
)

func TestScrubRemovesCredentialsAndOpaqueValues(t *testing.T) {
	in := `dial redis://default:hunter2@10.0.0.5:6379: key session:AbCdEfGhIjKlMnOpQrStUvWx refused; ` + strings.Repeat("x", 400)
	out := audit.Scrub(in)
	for _, secret := range []string{"hunter2", "AbCdEfGhIjKlMnOpQrStUvWx"} {
		if strings.Contains(out, secret) {
			t.Fatalf("%q survived: %s", secret, out)
		}
	}
	if !strings.Contains(out, "10.0.0.5:6379") || len(out) > 300 {
		t.Fatalf("the useful part is gone or the message is unbounded: %q", out)
	}
}
