package authframe_test

import (
	"context"
	"fmt"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// A Guard that issues and verifies its own tokens with an HMAC secret and the in-memory
// store.
func ExampleNew() {
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
		authframe.WithRolePermissions("admin", "*:*"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer guard.Close()

	ctx := context.Background()
	client := authframe.ClientInfo{IP: "203.0.113.5", UserAgent: "example"}
	if _, err := guard.Register(ctx, authframe.ClientInfo{}, "alice", "correct horse battery", "admin"); err != nil {
		fmt.Println(err)
		return
	}
	user, err := guard.VerifyPassword(ctx, client, "alice", "correct horse battery")
	if err != nil {
		fmt.Println(err)
		return
	}
	pair, _ := guard.IssueTokens(ctx, user, client)
	p, err := guard.VerifyToken(ctx, pair.AccessToken)
	fmt.Println(p.Username, p.HasRole("admin"), p.Can("delete:users"), err)
	// Output: alice true true <nil>
}

// Misconfiguration is an error that names the option.
func ExampleNew_misconfiguration() {
	_, err := authframe.New(authframe.WithHMACSecret([]byte("too short")))
	fmt.Println(err)
	// Output: authframe: WithHMACSecret: HMAC secret is 9 bytes, at least 32 are required
}

func ExampleAuthorize() {
	p := &authframe.Principal{Roles: []string{"editor"}, Permissions: []string{"write:articles", "read:*"}}
	fmt.Println(authframe.Authorize(p, "editor", "read:comments") == nil)
	fmt.Println(authframe.Authorize(p, "admin"))
	// Output:
	// true
	// forbidden: insufficient permissions
}

func ExampleRenderError() {
	r := endpoint.RenderError(authframe.ErrTokenExpired, "req-42")
	fmt.Println(r.Status)
	fmt.Println(string(r.Body))
	fmt.Println(r.Headers[0][0]+":", r.Headers[0][1])
	// Output:
	// 401
	// {"error":{"code":"invalid_token","message":"token has expired"},"request_id":"req-42"}
	// WWW-Authenticate: Bearer realm="authframe", error="invalid_token", error_description="token has expired"
}
