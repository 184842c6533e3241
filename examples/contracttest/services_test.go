package contracttest

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestServiceRevocationAcrossInstances: two instances sharing a store (and optionally the
// Redis cache) form one service for clients and API keys too: a client deleted, a client
// token revoked or an API key deleted on one is refused by the other within one second,
// although the other had verified and cached it before.
func TestServiceRevocationAcrossInstances(t *testing.T) {
	for _, bc := range backendCases {
		if bc.store == "memory" {
			continue
		}
		t.Run(bc.store+"+"+bc.cache, func(t *testing.T) {
			// An administrator of its own, so that its logins count against no other test's
			// login limit on the shared store.
			adminPass := "twin-admin-pass-0123"
			env := append(backendEnv(t, bc.store, bc.cache), "AUTHFRAME_KEY_FILE="+keyFile(t), "AUTHFRAME_ISSUER=http://authframe.cluster.test",
				"AUTHFRAME_ADMIN_USER=twinroot", "AUTHFRAME_ADMIN_PASSWORD="+adminPass)
			a := Start(t, "nethttp", env...)
			b := Start(t, "nethttp", env...)
			sa := &services{Target: Target{Base: a.Base, AdminUser: "twinroot", AdminPassword: adminPass, CookieName: "__Host-session", Secrets: &Secrets{}}}
			sb := &services{Target: Target{Base: b.Base, CookieName: "__Host-session", Secrets: &Secrets{}}}
			reports := func(bearer string) Req { return Req{Method: "GET", Path: "/api/reports", Bearer: bearer} }

			// A client made on A gets its token from B; both instances accept it, B twice
			// (the second time from its cache).
			c := sa.createClient(t, "twin-client", "read:reports")
			tok := sb.clientToken(t, c, "")
			for _, tg := range []Target{sb.Target, sb.Target, sa.Target} {
				Expect(t, tg.Do(t, reports(tok.AccessToken)), http.StatusOK, "")
			}
			Expect(t, sa.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(c.ID), Bearer: sa.adminToken(t)}), http.StatusNoContent, "")
			start := time.Now()
			waitStatus(t, sb.Target, reports(tok.AccessToken), http.StatusUnauthorized, time.Second)
			t.Logf("client deletion on A enforced on B after %v", time.Since(start))
			expectOAuth(t, sb.oauthPost(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basic(c.ID, c.Secret)), http.StatusUnauthorized, "invalid_client")

			// A client token revoked on B is refused by A, which had cached it.
			c2 := sa.createClient(t, "twin-client2", "read:reports")
			tok2 := sa.clientToken(t, c2, "")
			Expect(t, sa.Do(t, reports(tok2.AccessToken)), http.StatusOK, "")
			Expect(t, sa.Do(t, reports(tok2.AccessToken)), http.StatusOK, "")
			expectOAuth(t, sb.oauthPost(t, "/oauth/revoke", url.Values{"token": {tok2.AccessToken}}, nil), http.StatusOK, "")
			start = time.Now()
			waitStatus(t, sa.Target, reports(tok2.AccessToken), http.StatusUnauthorized, time.Second)
			t.Logf("client token revocation on B enforced on A after %v", time.Since(start))

			// An API key made on A, used (and cached) on B, deleted on A.
			name, pass := sa.Register(t, "twinkey")
			user := sa.Token(t, name, pass)
			k := sa.createKey(t, user.AccessToken, "twin", []string{"read:notes"}, 0)
			withKey := Req{Method: "GET", Path: "/api/me", Header: map[string]string{"X-API-Key": k.Key}}
			Expect(t, sb.Do(t, withKey), http.StatusOK, "")
			Expect(t, sb.Do(t, withKey), http.StatusOK, "")
			Expect(t, sa.Do(t, withKey), http.StatusOK, "")
			Expect(t, sa.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(k.ID), Bearer: user.AccessToken}), http.StatusNoContent, "")
			start = time.Now()
			waitStatus(t, sb.Target, withKey, http.StatusUnauthorized, time.Second)
			t.Logf("API key deletion on A enforced on B after %v", time.Since(start))
			Expect(t, sb.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: k.Key}), http.StatusUnauthorized, "invalid_token")
		})
	}
}

// TestExpiredTokensAreInactive: with one-second access tokens, a user's and a client's
// token are refused once expired (past the verification leeway), and introspection says
// exactly {"active":false} of them.
func TestExpiredTokensAreInactive(t *testing.T) {
	adminPass := "expiry-admin-pass-0123"
	proc := Start(t, "nethttp", "AUTHFRAME_ACCESS_TTL=1s", "AUTHFRAME_ADMIN_USER=root", "AUTHFRAME_ADMIN_PASSWORD="+adminPass)
	sv := &services{Target: Target{Base: proc.Base, AdminUser: "root", AdminPassword: adminPass, CookieName: "__Host-session", Secrets: &Secrets{}}}
	c := sv.createClient(t, "svc-expiry", "read:reports")
	name, pass := sv.Register(t, "expiry")
	user := sv.Token(t, name, pass)
	ctok := sv.clientToken(t, c, "")
	if ctok.ExpiresIn != 1 || user.ExpiresIn != 1 {
		t.Fatalf("expires_in %d (client) and %d (user), want 1 with AUTHFRAME_ACCESS_TTL=1s", ctok.ExpiresIn, user.ExpiresIn)
	}
	userMe := sv.me(t, Req{Bearer: user.AccessToken})
	sv.expectActive(t, c, "a fresh user token", user.AccessToken, "Bearer", userMe, true)
	// Accepted until exp plus the leeway the apps verify with (10 s by default, at most
	// 30 s by the contract): poll past it rather than assume it.
	var latest int64
	for _, tok := range []string{user.AccessToken, ctok.AccessToken} {
		_, claims := jwtParts(t, tok)
		latest = max(latest, numClaim(t, claims, "exp"))
	}
	deadline := time.Unix(latest, 0).Add(31 * time.Second)
	for _, r := range []Req{{Method: "GET", Path: "/api/me", Bearer: user.AccessToken}, {Method: "GET", Path: "/api/reports", Bearer: ctok.AccessToken}} {
		waitStatus(t, sv.Target, r, http.StatusUnauthorized, time.Until(deadline))
		Expect(t, sv.Do(t, r), http.StatusUnauthorized, "invalid_token")
	}
	sv.expectInactive(t, c, "an expired user token", user.AccessToken)
	sv.expectInactive(t, c, "an expired client token", ctok.AccessToken)
	t.Logf("expired tokens refused %s s after exp", strconv.FormatFloat(time.Since(time.Unix(latest, 0)).Seconds(), 'f', 1, 64))
}
