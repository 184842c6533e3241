package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// A key's lifetime is checked in seconds before it becomes a time.Duration: 2^62 seconds
// times time.Second wraps to 0, which would make a key that never expires.
func TestCreateKeyRefusesLifetimesThatOverflow(t *testing.T) {
	g, err := authframe.New(authframe.WithHMACSecret([]byte("endpoint-test-secret-0123456789abcdef")),
		authframe.WithIssuer("https://auth.test"), authframe.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := endpoint.NewHandlers(g, endpoint.Config{})
	user := &authframe.Principal{UserID: "u1", Username: "alice", Permissions: []string{"read:notes"}, Method: authframe.MethodBearer, Local: true}
	for _, tc := range []struct {
		expiresIn string
		status    int
	}{
		{"4611686018427387904", http.StatusBadRequest}, // 2^62
		{"9223372036854775807", http.StatusBadRequest},
		{"315360001", http.StatusBadRequest}, // ten years and a second
		{"0", http.StatusBadRequest},
		{"-1", http.StatusBadRequest},
		{"315360000", http.StatusCreated},
		{"60", http.StatusCreated},
	} {
		body := `{"name":"ci","permissions":["read:notes"],"expires_in":` + tc.expiresIn + `}`
		out := h.CreateKey(endpoint.Input{Ctx: context.Background(), Body: []byte(body), Principal: user})
		status := out.Status
		if errors.Is(out.Err, authframe.ErrInvalidRequest) {
			status = http.StatusBadRequest
		} else if out.Err != nil {
			t.Fatalf("expires_in %s: %v", tc.expiresIn, out.Err)
		}
		if status != tc.status {
			t.Fatalf("expires_in %s: status %d (%v), want %d", tc.expiresIn, status, out.Err, tc.status)
		}
		if status == http.StatusCreated {
			var k struct {
				ExpiresAt *string `json:"expires_at"`
			}
			if json.Unmarshal(out.Body, &k) != nil || k.ExpiresAt == nil {
				t.Fatalf("expires_in %s: a key without expiry: %s", tc.expiresIn, out.Body)
			}
		}
	}
}
