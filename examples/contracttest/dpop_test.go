package contracttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDPoPReplayAcrossInstances: two instances behind one public URL (as behind a load
// balancer) share the store; a proof accepted by one is a replay to the other, while a
// fresh proof by the same key is accepted by both. The proofs name the shared public URL,
// not the address each instance listens on: htu is checked against configuration, never
// against the request's Host.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	for _, bc := range backendCases {
		if bc.store == "memory" {
			continue
		}
		t.Run(bc.store+"+"+bc.cache, func(t *testing.T) {
			const public = "http://authframe.cluster.test"
			env := append(backendEnv(t, bc.store, bc.cache), "AUTHFRAME_KEY_FILE="+keyFile(t), "AUTHFRAME_ISSUER=http://authframe.cluster.test", "AUTHFRAME_PUBLIC_URL="+public)
			a := Start(t, "nethttp", env...)
			b := Start(t, "nethttp", env...)
			ta := Target{Base: a.Base, CookieName: "__Host-session", Secrets: &Secrets{}}
			tb := Target{Base: b.Base, CookieName: "__Host-session", Secrets: &Secrets{}}
			name, pass := ta.Register(t, "dpoptwin")
			c := NewDPoPClient(t, public)
			p := ta.BoundPair(t, c, name, pass)
			at := p.AccessToken

			proof := c.Proof(t, "GET", "/api/me", at)
			Expect(t, ta.Do(t, DPoPReq("GET", "/api/me", at, proof)), 200, "")
			expectDPoPChallenge(t, tb.Do(t, DPoPReq("GET", "/api/me", at, proof)), "invalid_dpop_proof")
			Expect(t, tb.Do(t, DPoPReq("GET", "/api/me", at, c.Proof(t, "GET", "/api/me", at))), 200, "")

			// The other way round, with the token cached on both.
			proof = c.Proof(t, "GET", "/api/me", at)
			Expect(t, tb.Do(t, DPoPReq("GET", "/api/me", at, proof)), 200, "")
			expectDPoPChallenge(t, ta.Do(t, DPoPReq("GET", "/api/me", at, proof)), "invalid_dpop_proof")

			// A proof naming the instance's own address is not for the public URL.
			local := NewDPoPClient(t, a.Base)
			local.Prover = c.Prover
			expectDPoPChallenge(t, ta.Do(t, DPoPReq("GET", "/api/me", at, local.Proof(t, "GET", "/api/me", at))), "invalid_dpop_proof")

			// A token-endpoint proof is spent across instances too.
			tp := c.Proof(t, "POST", "/auth/token", "")
			creds := map[string]string{"username": name, "password": pass}
			Expect(t, ta.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: creds, Header: map[string]string{"DPoP": tp}}), 200, "")
			Expect(t, tb.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: creds, Header: map[string]string{"DPoP": tp}}), 400, "invalid_dpop_proof")

			// The bound refresh token refreshes on the other instance with its key's proof.
			rt := map[string]string{"refresh_token": p.RefreshToken}
			Expect(t, tb.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: rt}), 401, "invalid_token")
			Expect(t, tb.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: rt, Header: map[string]string{"DPoP": c.Proof(t, "POST", "/auth/refresh", "")}}), 200, "")
		})
	}
}

// TestServicesMFAAndDPoPOnEveryAppAndStore runs the checks of the contract's service
// clients, API keys, two-factor login and DPoP sections on each example app over the Redis
// and the PostgreSQL store (TestContract covers the memory store,
// TestContractOnSharedBackends every backend combination on one app).
func TestServicesMFAAndDPoPOnEveryAppAndStore(t *testing.T) {
	for _, fw := range frameworks {
		for _, storeName := range []string{"redis", "postgres"} {
			t.Run(fw+"/"+storeName, func(t *testing.T) {
				env := backendEnv(t, storeName, "lru")
				admin, adminPass := uniqueName("sectionadmin"), "admin-pass-"+uniqueName("section")
				proc := Start(t, fw, append(env, "AUTHFRAME_ADMIN_USER="+admin, "AUTHFRAME_ADMIN_PASSWORD="+adminPass)...)
				tg := Target{Base: proc.Base, AdminUser: admin, AdminPassword: adminPass, CookieName: "__Host-session", Secrets: &Secrets{}}
				t.Run("service clients and API keys", func(t *testing.T) { RunServices(t, tg) })
				t.Run("two-factor login", func(t *testing.T) { RunMFA(t, tg) })
				t.Run("sender-constrained tokens (DPoP)", func(t *testing.T) { RunDPoP(t, tg) })
			})
		}
	}
}

// TestDPoPClientExample runs examples/dpop-client against an app: it registers, logs in with
// DPoP, calls /api/me, refreshes, and sees its token refused as a bearer token.
func TestDPoPClientExample(t *testing.T) {
	proc := Start(t, "nethttp")
	bin := filepath.Join(t.TempDir(), "dpop-client")
	build := exec.Command("go", "build", "-o", bin, "./dpop-client")
	build.Dir = examplesDir()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./dpop-client: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-url", proc.Base, "-register", "-user", uniqueName("dpopcli"))
	cmd.Env = append(os.Environ(), "AUTHFRAME_PASSWORD=pw-"+uniqueName("secret"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpop-client: %v\n%s", err, out)
	}
	for _, want := range []string{"logged in: token_type DPoP", `"auth_method":"bearer"`, "refreshed: token_type DPoP", "the token as a bearer token: 401"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("dpop-client output lacks %q:\n%s", want, out)
		}
	}
}
