package main

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/authframe/authframe/examples/internal/app"
	"github.com/authframe/authframe/examples/internal/testenv"
)

// backendEnv returns the variables for a shared store, or skips when the integration
// variables are unset (CI sets them).
func backendEnv(t *testing.T, storeName string) []string {
	t.Helper()
	name, hint := "AUTHFRAME_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
	variable := "REDIS_URL"
	if storeName == "postgres" {
		name, hint = "AUTHFRAME_TEST_DATABASE_URL", "'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'"
		variable = "DATABASE_URL"
	}
	u := os.Getenv(name)
	if u == "" {
		msg := name + " is unset; run with " + name + "=" + hint
		if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	isolated := testenv.RedisPrefix(t, u)
	if storeName == "postgres" {
		isolated = testenv.DBSchema(t, u)
	}
	return []string{"AUTHFRAME_STORE=" + storeName, variable + "=" + u, isolated}
}

// TestBesideAnAuthServiceOnSharedStores runs the gateway as it is deployed: beside an auth
// service (an app with the same key, issuer and store) on Redis and on PostgreSQL. What the
// service issues the gateway accepts, with the caller's identity forwarded; what the
// service revokes, after the gateway has cached it, the gateway refuses within one second.
func TestBesideAnAuthServiceOnSharedStores(t *testing.T) {
	for _, storeName := range []string{"redis", "postgres"} {
		t.Run(storeName, func(t *testing.T) {
			env := append(backendEnv(t, storeName),
				"AUTHFRAME_KEY_FILE="+keyFile(t), "AUTHFRAME_ISSUER=http://authframe.gateway.test",
				"AUTHFRAME_GATEWAY_REQUIRE=/admin/=admin")
			up := newUpstream(t, nil)
			g := startGateway(t, up, env...)
			auth := newApp(t, app.LoadConfig, env...)
			u, tok := login(t, auth, "user")
			bearer := []string{"Authorization", "Bearer " + tok}

			for range 2 { // the second answer comes from the gateway's cache
				if resp, body := g.do(t, "GET", "/api/x", "", bearer...); resp.StatusCode != 200 {
					t.Fatalf("GET /api/x = %d %s", resp.StatusCode, body)
				}
				if s := up.last(t); s.Header.Get("X-User-Id") != u.ID || s.Header.Get("X-User-Name") != u.Username {
					t.Fatalf("the upstream saw %v", s.Header)
				}
			}
			resp, body := g.do(t, "GET", "/admin/x", "", bearer...)
			expectError(t, resp, body, http.StatusForbidden, "forbidden")

			ctx := context.Background()
			p, err := auth.Guard.VerifyToken(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if err := auth.Guard.Logout(ctx, p); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for {
				resp, body := g.do(t, "GET", "/api/x", "", bearer...)
				if resp.StatusCode == http.StatusUnauthorized {
					expectError(t, resp, body, http.StatusUnauthorized, "invalid_token")
					break
				}
				if time.Since(start) > time.Second {
					t.Fatalf("the gateway still answers %d a second after the logout", resp.StatusCode)
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("the logout on the auth service was enforced by the gateway after %v", time.Since(start))
			// Requests answered by the gateway while the revocation travelled reached the
			// upstream; nothing after it.
			before := len(up.requests())
			resp, _ = g.do(t, "GET", "/api/x", "", bearer...)
			if resp.StatusCode != http.StatusUnauthorized || len(up.requests()) != before {
				t.Fatalf("after the revocation: %d, upstream requests %d → %d", resp.StatusCode, before, len(up.requests()))
			}
		})
	}
}
