package endpoint_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

func TestCheckContentEncoding(t *testing.T) {
	for _, tc := range []struct {
		header string
		refuse bool
	}{
		{"", false},
		{"identity", false},
		{"IDENTITY", false},
		{" identity , identity ", false},
		{",", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"deflate", true},
		{"br", true},
		{"zstd", true},
		{"identity, gzip", true},
		{"gzip, identity", true},
		{", gzip", true},
		{"anything-else", true},
	} {
		err := endpoint.CheckContentEncoding(tc.header)
		if tc.refuse != (err != nil) || err != nil && !errors.Is(err, endpoint.ErrEncodedBody) {
			t.Errorf("CheckContentEncoding(%q) = %v, want refusal %v", tc.header, err, tc.refuse)
		}
	}
	if endpoint.ErrEncodedBody.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("endpoint.ErrEncodedBody status %d", endpoint.ErrEncodedBody.Status)
	}
}

func TestReadBodyRefusesPastTheLimit(t *testing.T) {
	b, err := endpoint.ReadBody(strings.NewReader("12345"), 5)
	if err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	if _, err := endpoint.ReadBody(strings.NewReader("123456"), 5); !errors.Is(err, authframe.ErrPayloadTooLarge) {
		t.Fatalf("past the limit: %v", err)
	}
}

func TestRenderErrorShapes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		status    int
		code      string
		challenge string
	}{
		{"no credentials", authframe.ErrUnauthenticated, 401, "invalid_token", `Bearer realm="authframe"`},
		{"an expired token", authframe.ErrTokenExpired, 401, "invalid_token", `Bearer realm="authframe", error="invalid_token", error_description="token has expired"`},
		{"a stale session", authframe.ErrSessionInvalid, 401, "invalid_token", ""},
		{"forbidden", authframe.ErrForbidden, 403, "forbidden", ""},
		{"not found", authframe.ErrNotFound, 404, "invalid_request", ""},
		{"rate limited", &authframe.Error{Code: authframe.ErrRateLimited, RetryAfter: 1500e6}, 429, "rate_limited", ""},
		{"something else", errors.New("boom: secret-value"), 500, "internal", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := endpoint.RenderError(tc.err, "rid")
			if r.Status != tc.status || !strings.Contains(string(r.Body), `"code":"`+tc.code+`"`) || !strings.Contains(string(r.Body), `"request_id":"rid"`) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), "secret-value") {
				t.Fatalf("the cause reached the body: %s", r.Body)
			}
			got := ""
			for _, h := range r.Headers {
				if h[0] == "WWW-Authenticate" {
					got = h[1]
				}
				if h[0] == "Retry-After" && h[1] != "2" {
					t.Fatalf("Retry-After %q, want 2 (rounded up)", h[1])
				}
			}
			if got != tc.challenge {
				t.Fatalf("challenge %q, want %q", got, tc.challenge)
			}
		})
	}
}

func TestAnonymousIsOnlyForMissingOrStaleCredentials(t *testing.T) {
	for err, want := range map[error]bool{
		authframe.ErrUnauthenticated: true,
		authframe.ErrSessionInvalid:  true,
		authframe.ErrTokenExpired:    false,
		authframe.ErrInvalidToken:    false,
		authframe.ErrCSRF:            false,
		authframe.ErrUnavailable:     false,
	} {
		if got := endpoint.Anonymous(err); got != want {
			t.Errorf("Anonymous(%v) = %v, want %v", err, got, want)
		}
	}
}
