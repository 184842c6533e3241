package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/endpoint"
)

func ExampleNewLogger() {
	// Drop the time so that the output below is stable.
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: noTime}))
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an example secret of 32 bytes or more")),
		authframe.WithIssuer("https://auth.example"),
		authframe.WithAudience("api.example"),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithObserver(audit.NewLogger(logger)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer guard.Close()
	ctx := endpoint.ContextWithRequestID(context.Background(), "req-1")
	_, _ = guard.VerifyPassword(ctx, authframe.ClientInfo{IP: "192.0.2.1", UserAgent: "curl/8.5"}, "nobody", "not the password")
	// Output:
	// {"level":"INFO","msg":"authframe: login_failed","event":"login_failed","reason":"unknown_user","client_ip":"192.0.2.1","user_agent":"curl/8.5","request_id":"req-1"}
}
