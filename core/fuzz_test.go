package authframe_test

import (
	"context"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
)

// FuzzAuthenticate feeds arbitrary Authorization headers and cookies through extraction
// and verification: nothing may panic, and nothing but the genuine token may pass.
func FuzzAuthenticate(f *testing.F) {
	g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud))
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	valid := sign(f, jwt.SigningMethodHS256, hmacSecret, claims(nil), nil)
	f.Add("Bearer "+valid, "")
	f.Add("bearer "+valid+"x", "")
	f.Add("Bearer a.b.c", "")
	f.Add("Bearer ....", "")
	f.Add("Basic Zm9vOmJhcg==", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "")
	f.Fuzz(func(t *testing.T, authz, cookie string) {
		req := fakeReq{method: "POST", headers: map[string]string{"Authorization": authz}, cookies: map[string]string{"__Host-session": cookie}}
		p, err := g.Authenticate(context.Background(), req)
		if err == nil {
			if !strings.Contains(authz, valid) || p.UserID != "user-1" {
				t.Fatalf("accepted %q / %q as %+v", authz, cookie, p)
			}
		}
	})
}
