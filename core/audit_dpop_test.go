package authframe_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/dpop"
	"github.com/authframe/authframe/core/endpoint"
)

// Neither the audit log nor the Guard's own log ever holds a DPoP proof, a piece of one
// (its signature, its jti) or the bound token, whether the proof passes, is replayed, is
// for another request or is malformed.
func TestAuditLogNeverHoldsDPoPProofs(t *testing.T) {
	_, obs, logger, all := newDebugCapture()
	g := dpopGuard(t, nil, authframe.WithObserver(obs), authframe.WithLogger(logger))
	ctx := endpoint.ContextWithRequestID(context.Background(), "audit-dpop-1")
	u, err := g.Register(ctx, authframe.ClientInfo{}, "frida", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	p := newProver(t)
	pair := boundPair(t, g, u, p)
	var secrets []string
	use := func(pr string) string {
		secrets = append(secrets, pr)
		parts := strings.Split(pr, ".")
		secrets = append(secrets, parts[2])
		var claims struct {
			JTI string `json:"jti"`
		}
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(b, &claims) == nil && claims.JTI != "" {
			secrets = append(secrets, claims.JTI)
		}
		return pr
	}
	good := use(proof(t, p, "GET", "/api/me", dpop.WithAccessToken(pair.AccessToken)))
	auth := "DPoP " + pair.AccessToken
	if _, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: auth, proof: good}); err != nil {
		t.Fatal(err)
	}
	// Replayed, for another path, malformed, from another key.
	_, _ = g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: auth, proof: good})
	_, _ = g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: auth, proof: use(proof(t, p, "GET", "/elsewhere", dpop.WithAccessToken(pair.AccessToken)))})
	_, _ = g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: auth, proof: use("eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJzZWNyZXQtanRpLXZhbHVlIn0.c2lnbmF0dXJlLWJ5dGVz")})
	_, _ = g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: auth, proof: use(proof(t, newProver(t), "GET", "/api/me", dpop.WithAccessToken(pair.AccessToken)))})
	// A bound token presented as a plain bearer token.
	_, _ = g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: "Bearer " + pair.AccessToken})
	secrets = append(secrets, pair.AccessToken, strings.Split(pair.AccessToken, ".")[2], pair.RefreshToken)

	logs := all()
	if !strings.Contains(logs, "token_validated") {
		t.Fatalf("no validation was logged:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a log line holds a proof or token piece (%d bytes, starting %.8q)", len(s), s)
		}
	}
	if strings.Contains(logs, "secret-jti-value") {
		t.Error("a log line holds a proof's jti")
	}
}
