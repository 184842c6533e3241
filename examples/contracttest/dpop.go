package contracttest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authframe/authframe/core/dpop"
)

// DPoPClient is a client holding one DPoP key: a Prover for hand-made proofs, and an
// http.Client whose Transport adds a fresh proof to every request.
type DPoPClient struct {
	Key    ed25519.PrivateKey
	Prover *dpop.Prover
	HTTP   *http.Client
	// PublicURL is the URL proofs name (the app's AUTHFRAME_PUBLIC_URL).
	PublicURL string
}

// NewDPoPClient returns a client with a fresh Ed25519 key whose proofs name publicURL.
func NewDPoPClient(t *testing.T, publicURL string) *DPoPClient {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dpop.NewProver(key)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := dpop.NewTransport(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &DPoPClient{Key: key, Prover: p, HTTP: &http.Client{Transport: tr, Timeout: 10 * time.Second}, PublicURL: publicURL}
}

// Proof is a fresh proof for method and path (under PublicURL), bound to the access token
// when one is given.
func (c *DPoPClient) Proof(t *testing.T, method, path, accessToken string) string {
	t.Helper()
	var opts []dpop.ProofOption
	if accessToken != "" {
		opts = append(opts, dpop.WithAccessToken(accessToken))
	}
	s, err := c.Prover.Proof(method, c.PublicURL+path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ProofAt is a proof signed by hand with the given iat, for the freshness checks.
func (c *DPoPClient) ProofAt(t *testing.T, method, path, accessToken string, iat time.Time) string {
	t.Helper()
	b64 := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "EdDSA",
		"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(c.Key.Public().(ed25519.PublicKey))}})
	sum := sha256.Sum256([]byte(accessToken))
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	payload, _ := json.Marshal(map[string]any{"htm": method, "htu": c.PublicURL + path, "iat": iat.Unix(), "jti": b64.EncodeToString(jti), "ath": b64.EncodeToString(sum[:])})
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	return signing + "." + b64.EncodeToString(ed25519.Sign(c.Key, []byte(signing)))
}

// DPoPReq is a request carrying a bound token and a proof.
func DPoPReq(method, path, token, proof string) Req {
	h := map[string]string{"Authorization": "DPoP " + token}
	if proof != "" {
		h["DPoP"] = proof
	}
	return Req{Method: method, Path: path, Header: h}
}

// BoundPair logs in at /auth/token with a proof by c and checks the answer is a DPoP pair
// bound to c's key.
func (tg Target) BoundPair(t *testing.T, c *DPoPClient, name, pass string) Pair {
	t.Helper()
	r := tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: map[string]string{"username": name, "password": pass},
		Header: map[string]string{"DPoP": c.Proof(t, "POST", "/auth/token", "")}})
	Expect(t, r, 200, "")
	var p Pair
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.TokenType != "DPoP" || p.AccessToken == "" || p.RefreshToken == "" {
		t.Fatalf("a login with a proof answered %s", r.Body)
	}
	tg.Secrets.Add(p.AccessToken, p.RefreshToken)
	wantJKT(t, p.AccessToken, c.Prover.JKT())
	return p
}

// wantJKT fails unless the access token's cnf.jkt is jkt.
func wantJKT(t *testing.T, token, jkt string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Cnf.JKT != jkt {
		t.Fatalf("the access token's cnf.jkt is %q, want %q", c.Cnf.JKT, jkt)
	}
}

// expectDPoPChallenge fails unless r is a 401 of code with a WWW-Authenticate: DPoP
// challenge naming that error.
func expectDPoPChallenge(t *testing.T, r Resp, code string) {
	t.Helper()
	Expect(t, r, 401, code)
	ch := r.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, "DPoP ") || !strings.Contains(ch, `algs="`) || !strings.Contains(ch, `error="`+code+`"`) {
		t.Fatalf("%s %s: WWW-Authenticate %q, want a DPoP challenge with error=%q", r.Request.Method, r.Request.URL.Path, ch, code)
	}
}

// RunDPoP checks the contract's sender-constrained tokens (DPoP, RFC 9449). The app's
// public URL is tg.Base (the default AUTHFRAME_PUBLIC_URL).
func RunDPoP(t *testing.T, tg Target) {
	t.Run("login with a proof binds the pair", func(t *testing.T) { checkDPoPResource(t, tg) })
	t.Run("a bound refresh token needs its key's proof", func(t *testing.T) { checkDPoPRefresh(t, tg) })
	t.Run("invalid proofs at the token endpoints", func(t *testing.T) { checkDPoPTokenEndpoints(t, tg) })
	t.Run("OAuth token endpoint binds and introspects", func(t *testing.T) { checkDPoPOAuth(t, tg) })
}

func checkDPoPResource(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "dpop")
	c := NewDPoPClient(t, tg.Base)
	p := tg.BoundPair(t, c, name, pass)
	at := p.AccessToken

	// The Transport signs a fresh proof for each request: the cached token is accepted
	// every time.
	for range 3 {
		req, _ := http.NewRequest("GET", tg.Base+"/api/me", nil)
		req.Header.Set("Authorization", "DPoP "+at)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /api/me with the DPoP transport = %d %s", resp.StatusCode, body)
		}
		var me struct {
			AuthMethod string `json:"auth_method"`
			Username   string `json:"username"`
		}
		if err := json.Unmarshal(body, &me); err != nil || me.AuthMethod != "bearer" || me.Username != name {
			t.Fatalf("/api/me of a DPoP caller: %s", body)
		}
	}
	// An unsafe method needs no CSRF token either.
	echo := DPoPReq("POST", "/api/echo", at, c.Proof(t, "POST", "/api/echo", at))
	echo.Raw, echo.ContentType = `{"a":1}`, "application/json"
	Expect(t, tg.Do(t, echo), 200, "")

	replayed := c.Proof(t, "GET", "/api/me", at)
	Expect(t, tg.Do(t, DPoPReq("GET", "/api/me", at, replayed)), 200, "")
	other := NewDPoPClient(t, tg.Base)
	cases := []struct {
		name string
		r    Req
	}{
		{"a replayed proof", DPoPReq("GET", "/api/me", at, replayed)},
		{"no proof", DPoPReq("GET", "/api/me", at, "")},
		{"a proof by another key", DPoPReq("GET", "/api/me", at, other.Proof(t, "GET", "/api/me", at))},
		{"a proof for another method", DPoPReq("GET", "/api/me", at, c.Proof(t, "POST", "/api/me", at))},
		{"a proof for another path", DPoPReq("GET", "/api/me", at, c.Proof(t, "GET", "/api/admin", at))},
		{"a proof for another origin", DPoPReq("GET", "/api/me", at, (&DPoPClient{Prover: c.Prover, PublicURL: "http://evil.example"}).Proof(t, "GET", "/api/me", at))},
		{"a proof without ath", DPoPReq("GET", "/api/me", at, c.Proof(t, "GET", "/api/me", ""))},
		{"a proof for another token", DPoPReq("GET", "/api/me", at, c.Proof(t, "GET", "/api/me", at+"x"))},
		{"a proof 61 s old", DPoPReq("GET", "/api/me", at, c.ProofAt(t, "GET", "/api/me", at, time.Now().Add(-61*time.Second)))},
		{"a proof 30 s ahead", DPoPReq("GET", "/api/me", at, c.ProofAt(t, "GET", "/api/me", at, time.Now().Add(30*time.Second)))},
		{"a proof that is not a JWS", DPoPReq("GET", "/api/me", at, "not-a-proof")},
	}
	for _, k := range cases {
		expectDPoPChallenge(t, tg.Do(t, k.r), "invalid_dpop_proof")
	}
	// A hand-made proof within the window (2 s old, 3 s ahead) is accepted.
	Expect(t, tg.Do(t, DPoPReq("GET", "/api/me", at, c.ProofAt(t, "GET", "/api/me", at, time.Now().Add(-2*time.Second)))), 200, "")
	Expect(t, tg.Do(t, DPoPReq("GET", "/api/me", at, c.ProofAt(t, "GET", "/api/me", at, time.Now().Add(3*time.Second)))), 200, "")
	// A query string is not part of htu.
	Expect(t, tg.Do(t, DPoPReq("GET", "/api/me?x=1", at, c.Proof(t, "GET", "/api/me", at))), 200, "")

	r := tg.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: at})
	Expect(t, r, 401, "invalid_token")
	if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `error="invalid_token"`) {
		t.Fatalf("a bound token as Bearer: WWW-Authenticate %q", ch)
	}

	plain := tg.Token(t, name, pass)
	expectDPoPChallenge(t, tg.Do(t, DPoPReq("GET", "/api/me", plain.AccessToken, c.Proof(t, "GET", "/api/me", plain.AccessToken))), "invalid_token")
	garbled := at[:len(at)-6] + "AAAAAA"
	expectDPoPChallenge(t, tg.Do(t, DPoPReq("GET", "/api/me", garbled, c.Proof(t, "GET", "/api/me", garbled))), "invalid_token")

	// Logout with the bound token ends it.
	Expect(t, tg.Do(t, DPoPReq("POST", "/auth/logout", at, c.Proof(t, "POST", "/auth/logout", at))), 204, "")
	expectDPoPChallenge(t, tg.Do(t, DPoPReq("GET", "/api/me", at, c.Proof(t, "GET", "/api/me", at))), "invalid_token")
}

func checkDPoPRefresh(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "dpoprt")
	c, other := NewDPoPClient(t, tg.Base), NewDPoPClient(t, tg.Base)
	p := tg.BoundPair(t, c, name, pass)
	body := map[string]string{"refresh_token": p.RefreshToken}
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: body}), 401, "invalid_token")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: body, Header: map[string]string{"DPoP": other.Proof(t, "POST", "/auth/refresh", "")}}), 401, "invalid_token")
	// The refused attempts did not spend it.
	r := tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: body, Header: map[string]string{"DPoP": c.Proof(t, "POST", "/auth/refresh", "")}})
	Expect(t, r, 200, "")
	var next Pair
	if err := json.Unmarshal(r.Body, &next); err != nil || next.TokenType != "DPoP" || next.RefreshToken == "" {
		t.Fatalf("a bound refresh answered %s", r.Body)
	}
	tg.Secrets.Add(next.AccessToken, next.RefreshToken)
	wantJKT(t, next.AccessToken, c.Prover.JKT())
	Expect(t, tg.Do(t, DPoPReq("GET", "/api/me", next.AccessToken, c.Proof(t, "GET", "/api/me", next.AccessToken))), 200, "")
	// The new refresh token is bound too.
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: map[string]string{"refresh_token": next.RefreshToken}}), 401, "invalid_token")
	// A plain pair refreshed with a proof gets a bound access token.
	plain := tg.Token(t, name, pass)
	r = tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: map[string]string{"refresh_token": plain.RefreshToken}, Header: map[string]string{"DPoP": c.Proof(t, "POST", "/auth/refresh", "")}})
	Expect(t, r, 200, "")
	if tt, _ := r.JSON(t)["token_type"].(string); tt != "DPoP" {
		t.Fatalf("refresh of a plain pair with a proof answered %s", r.Body)
	}
}

func checkDPoPTokenEndpoints(t *testing.T, tg Target) {
	name, pass := tg.Register(t, "dpopep")
	c := NewDPoPClient(t, tg.Base)
	creds := map[string]string{"username": name, "password": pass}
	replayed := c.Proof(t, "POST", "/auth/token", "")
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: creds, Header: map[string]string{"DPoP": replayed}}), 200, "")
	for _, proof := range []string{
		replayed,
		c.Proof(t, "POST", "/auth/refresh", ""),
		c.Proof(t, "GET", "/auth/token", ""),
		c.ProofAt(t, "POST", "/auth/token", "", time.Now().Add(-5*time.Minute)),
		"not-a-proof",
	} {
		Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/token", JSON: creds, Header: map[string]string{"DPoP": proof}}), 400, "invalid_dpop_proof")
	}
	p := tg.BoundPair(t, c, name, pass)
	Expect(t, tg.Do(t, Req{Method: "POST", Path: "/auth/refresh", JSON: map[string]string{"refresh_token": p.RefreshToken}, Header: map[string]string{"DPoP": "not-a-proof"}}), 400, "invalid_dpop_proof")
}

// oauthDo posts an OAuth form, with optional HTTP Basic and DPoP headers.
func oauthDo(t *testing.T, tg Target, path string, form url.Values, basic [2]string, proof string) Resp {
	t.Helper()
	h := map[string]string{}
	if basic[0] != "" {
		h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(basic[0])+":"+url.QueryEscape(basic[1])))
	}
	if proof != "" {
		h["DPoP"] = proof
	}
	return tg.Do(t, Req{Method: "POST", Path: path, Raw: form.Encode(), ContentType: "application/x-www-form-urlencoded", Header: h})
}

func oauthErrorCode(t *testing.T, r Resp, status int) string {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s = %d %s, want %d", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Body, status)
	}
	code, _ := r.JSON(t)["error"].(string)
	return code
}

func checkDPoPOAuth(t *testing.T, tg Target) {
	c := NewDPoPClient(t, tg.Base)
	// A user's bound refresh token at /oauth/token.
	name, pass := tg.Register(t, "dpopoa")
	p := tg.BoundPair(t, c, name, pass)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}}
	if code := oauthErrorCode(t, oauthDo(t, tg, "/oauth/token", form, [2]string{}, ""), 400); code != "invalid_grant" {
		t.Fatalf("a bound refresh token without a proof at /oauth/token: %q, want invalid_grant", code)
	}
	if code := oauthErrorCode(t, oauthDo(t, tg, "/oauth/token", form, [2]string{}, "not-a-proof"), 400); code != "invalid_dpop_proof" {
		t.Fatalf("an invalid proof at /oauth/token: %q, want invalid_dpop_proof", code)
	}
	r := oauthDo(t, tg, "/oauth/token", form, [2]string{}, c.Proof(t, "POST", "/oauth/token", ""))
	if r.StatusCode != 200 {
		t.Fatalf("a bound refresh with its proof at /oauth/token = %d %s", r.StatusCode, r.Body)
	}
	if tt, _ := r.JSON(t)["token_type"].(string); tt != "DPoP" {
		t.Fatalf("/oauth/token refresh answered %s", r.Body)
	}

	if tg.AdminUser == "" {
		return
	}
	admin := tg.Token(t, tg.AdminUser, tg.AdminPassword)
	cr := tg.Do(t, Req{Method: "POST", Path: "/admin/clients", Bearer: admin.AccessToken, JSON: map[string]any{"name": "dpop-reports", "scopes": []string{"read:reports"}}})
	Expect(t, cr, 201, "")
	id, _ := cr.JSON(t)["client_id"].(string)
	secret, _ := cr.JSON(t)["client_secret"].(string)
	tg.Secrets.Add(secret)
	basic := [2]string{id, secret}
	r = oauthDo(t, tg, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basic, c.Proof(t, "POST", "/oauth/token", ""))
	if r.StatusCode != 200 {
		t.Fatalf("client credentials with a proof = %d %s", r.StatusCode, r.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(r.Body, &tok); err != nil || tok.TokenType != "DPoP" {
		t.Fatalf("client credentials with a proof answered %s", r.Body)
	}
	tg.Secrets.Add(tok.AccessToken)
	wantJKT(t, tok.AccessToken, c.Prover.JKT())
	Expect(t, tg.Do(t, DPoPReq("GET", "/api/reports", tok.AccessToken, c.Proof(t, "GET", "/api/reports", tok.AccessToken))), 200, "")
	me := tg.Do(t, DPoPReq("GET", "/api/me", tok.AccessToken, c.Proof(t, "GET", "/api/me", tok.AccessToken)))
	Expect(t, me, 200, "")
	if m, _ := me.JSON(t)["auth_method"].(string); m != "client" {
		t.Fatalf("a bound client token's auth_method %q", m)
	}
	Expect(t, tg.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: tok.AccessToken}), 401, "invalid_token")
	in := oauthDo(t, tg, "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, basic, "")
	if in.StatusCode != 200 || in.JSON(t)["token_type"] != "DPoP" || in.JSON(t)["active"] != true {
		t.Fatalf("introspection of a bound token: %d %s", in.StatusCode, in.Body)
	}
	// Without a proof the grant stays a bearer token.
	r = oauthDo(t, tg, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basic, "")
	if r.StatusCode != 200 || r.JSON(t)["token_type"] != "Bearer" {
		t.Fatalf("client credentials without a proof: %d %s", r.StatusCode, r.Body)
	}
}
