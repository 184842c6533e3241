package keys_test

import (
	"context"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/keys"
)

func TestGeneratedKeysSignAndVerify(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "ES384", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			pem, err := keys.GeneratePEM(alg)
			if err != nil {
				t.Fatal(err)
			}
			g, err := authframe.New(authframe.WithKey(authframe.Key{PEM: pem}), authframe.WithIssuer("https://i"), authframe.WithAudience("a"))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			ctx := context.Background()
			pair, err := g.IssueTokens(ctx, authframe.User{ID: "u1", Username: "u"}, authframe.ClientInfo{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := keys.GeneratePEM("HS256"); err == nil {
		t.Fatal("an HMAC algorithm was accepted")
	}
}
