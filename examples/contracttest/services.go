package contracttest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// defaultLoginLimit is AUTHFRAME_LOGIN_LIMIT's default, which every app under Run has.
const defaultLoginLimit = 10

var (
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43,}$`)
	apiKeyPattern = regexp.MustCompile(`^afk_[A-Za-z0-9_-]{43,}$`)
)

// RunServices runs the checks of the contract's sections "Service clients" and "API keys"
// against tg, whose administrator (tg.AdminUser) must be set: only an administrator makes
// service clients.
func RunServices(t *testing.T, tg Target) {
	if tg.AdminUser == "" {
		t.Fatal("the service client checks need the app's administrator: set Target.AdminUser and AdminPassword")
	}
	// Every login counts against the login limit of its (address, username), so the
	// administrator logs in once for all the checks.
	sv := &services{Target: tg}
	t.Run("service client administration", sv.checkClientAdmin)
	t.Run("client credentials grant", sv.checkClientCredentials)
	t.Run("a client token's caller", sv.checkClientCaller)
	t.Run("client authentication rate limit", sv.checkClientRateLimit)
	t.Run("refresh_token grant rotation and reuse", sv.checkOAuthRefresh)
	t.Run("token introspection", sv.checkIntrospection)
	t.Run("token revocation", sv.checkRevocation)
	t.Run("client deletion", sv.checkClientDeletion)
	t.Run("API key management", sv.checkKeyManagement)
	t.Run("an API key's caller", sv.checkKeyCaller)
	t.Run("API key expiry and deletion", sv.checkKeyEnd)
	t.Run("golang.org/x/oauth2 clients", sv.checkOAuth2Interop)
}

// services carries the administrator's login across the service checks.
type services struct {
	Target
	admin                  string
	adminCookie, adminCSRF string
}

// adminToken logs the administrator in with a token on first use.
func (sv *services) adminToken(t *testing.T) string {
	t.Helper()
	if sv.admin == "" {
		sv.admin = sv.Token(t, sv.AdminUser, sv.AdminPassword).AccessToken
	}
	return sv.admin
}

// adminSession logs the administrator in with a session on first use.
func (sv *services) adminSession(t *testing.T) (cookie, csrf string) {
	t.Helper()
	if sv.adminCookie == "" {
		sv.adminCookie, sv.adminCSRF, _ = sv.Session(t, sv.AdminUser, sv.AdminPassword)
	}
	return sv.adminCookie, sv.adminCSRF
}

// svcClient is a service client as POST /admin/clients made it.
type svcClient struct {
	ID, Secret, Name string
	Scopes           []string
}

// createClient makes a service client as the administrator and checks the answer.
func (sv *services) createClient(t *testing.T, prefix string, scopes ...string) svcClient {
	t.Helper()
	name := uniqueName(prefix)
	r := sv.Do(t, Req{Method: "POST", Path: "/admin/clients", Bearer: sv.adminToken(t), JSON: map[string]any{"name": name, "scopes": scopes}})
	Expect(t, r, http.StatusCreated, "")
	var c struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Name         string   `json:"name"`
		Scopes       []string `json:"scopes"`
		CreatedAt    string   `json:"created_at"`
	}
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatalf("POST /admin/clients answered %s", r.Body)
	}
	sv.Secrets.Add(c.ClientSecret)
	if c.ClientID == "" || c.Name != name || !slices.Equal(c.Scopes, scopes) {
		t.Fatalf("POST /admin/clients {name %q, scopes %q} answered %s", name, scopes, r.Body)
	}
	if !secretPattern.MatchString(c.ClientSecret) {
		t.Fatalf("client secret %.6q... (%d characters) is not at least 256 bits of base64url", c.ClientSecret, len(c.ClientSecret))
	}
	created, err := time.Parse(time.RFC3339, c.CreatedAt)
	if err != nil || time.Since(created).Abs() > time.Minute {
		t.Fatalf("created_at %q is not the RFC 3339 time of now", c.CreatedAt)
	}
	return svcClient{ID: c.ClientID, Secret: c.ClientSecret, Name: name, Scopes: scopes}
}

// basic is the Authorization header of client_secret_basic: id and secret
// form-urlencoded, then joined and base64-encoded (RFC 6749 §2.3.1).
func basic(id, secret string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
}

// oauthPost sends form to an /oauth/ route and checks what every /oauth/ answer carries,
// errors included: Cache-Control: no-store.
func (tg Target) oauthPost(t *testing.T, path string, form url.Values, header map[string]string) Resp {
	t.Helper()
	r := tg.Do(t, Req{Method: "POST", Path: path, Raw: form.Encode(), ContentType: "application/x-www-form-urlencoded", Header: header})
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("POST %s answered %d with Cache-Control %q, want no-store", path, r.StatusCode, cc)
	}
	return r
}

// expectOAuth fails unless r has the status and, for a failure, OAuth 2.0's error shape
// {"error","error_description"} with the code (any code when code is empty).
func expectOAuth(t *testing.T, r Resp, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s = %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); len(r.Body) > 0 && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q", r.Request.Method, r.Request.URL.Path, ct)
	}
	if status < 400 {
		return
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == "" || e.Description == "" {
		t.Fatalf("%s %s: failure body %s is not OAuth 2.0's error shape", r.Request.Method, r.Request.URL.Path, r.Body)
	}
	if code != "" && e.Error != code {
		t.Fatalf("%s %s: error %q, want %q (body %s)", r.Request.Method, r.Request.URL.Path, e.Error, code, r.Body)
	}
}

// expectBasicChallenge fails unless r asks for HTTP Basic in the contract's realm.
func expectBasicChallenge(t *testing.T, r Resp) {
	t.Helper()
	if h := r.Header.Get("WWW-Authenticate"); h != `Basic realm="authframe"` {
		t.Fatalf("401 after an HTTP Basic attempt carries WWW-Authenticate %q, want Basic realm=\"authframe\"", h)
	}
}

// oauthToken is an /oauth/token success.
type oauthToken struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

// decodeToken decodes a 200 of /oauth/token and checks its common fields.
func (tg Target) decodeToken(t *testing.T, r Resp) oauthToken {
	t.Helper()
	expectOAuth(t, r, http.StatusOK, "")
	var tok oauthToken
	if err := json.Unmarshal(r.Body, &tok); err != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 {
		t.Fatalf("/oauth/token answered %s", r.Body)
	}
	tg.Secrets.Add(tok.AccessToken, tok.RefreshToken)
	return tok
}

// clientToken gets a client_credentials token for c with scope (absent when empty), with
// client_secret_basic.
func (tg Target) clientToken(t *testing.T, c svcClient, scope string) oauthToken {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	tok := tg.decodeToken(t, tg.oauthPost(t, "/oauth/token", form, basic(c.ID, c.Secret)))
	if tok.RefreshToken != "" {
		t.Fatal("the client credentials grant answered a refresh token")
	}
	return tok
}

// jwtParts decodes a JWT's header and claims without verifying it.
func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT (%d parts)", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d is not base64url: %v", i, err)
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("JWT part %d is not JSON: %v", i, err)
		}
	}
	return header, claims
}

// numClaim is a numeric claim, failing when it is absent.
func numClaim(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s is %v, want a number", name, claims[name])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %s = %v is not an integer", name, n)
	}
	return v
}

// sameSet says whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// meAnswer is /api/me.
type meAnswer struct {
	UserID      string   `json:"user_id"`
	Username    string   `json:"username"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	AuthMethod  string   `json:"auth_method"`
}

// me reads /api/me with r's credentials and checks that roles and permissions are arrays.
func (tg Target) me(t *testing.T, r Req) meAnswer {
	t.Helper()
	r.Method, r.Path = "GET", "/api/me"
	resp := tg.Do(t, r)
	Expect(t, resp, http.StatusOK, "")
	var raw map[string]json.RawMessage
	var me meAnswer
	if json.Unmarshal(resp.Body, &raw) != nil || json.Unmarshal(resp.Body, &me) != nil {
		t.Fatalf("/api/me answered %s", resp.Body)
	}
	for _, f := range []string{"roles", "permissions"} {
		if !strings.HasPrefix(string(raw[f]), "[") {
			t.Fatalf("/api/me %s is not an array: %s", f, resp.Body)
		}
	}
	return me
}

func (sv *services) checkClientAdmin(t *testing.T) {
	admin := sv.adminToken(t)
	c := sv.createClient(t, "svc-admin", "read:reports", "write:*")
	d := sv.createClient(t, "svc-admin", "read:reports")
	if c.ID == d.ID || c.Secret == d.Secret {
		t.Fatal("two clients share an id or a secret")
	}

	// Validation.
	scopes := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("read:r%d", i)
		}
		return s
	}
	bad := []struct {
		name string
		body any
		raw  string
	}{
		{"an empty name", map[string]any{"name": "", "scopes": []string{"read:reports"}}, ""},
		{"a 65-character name", map[string]any{"name": strings.Repeat("n", 65), "scopes": []string{"read:reports"}}, ""},
		{"a name with a control character", map[string]any{"name": "svc\x01name", "scopes": []string{"read:reports"}}, ""},
		{"a name with a newline", map[string]any{"name": "svc\nname", "scopes": []string{"read:reports"}}, ""},
		{"a name with DEL", map[string]any{"name": "svc\x7f", "scopes": []string{"read:reports"}}, ""},
		{"no name", map[string]any{"scopes": []string{"read:reports"}}, ""},
		{"no scopes", map[string]any{"name": "svc", "scopes": []string{}}, ""},
		{"a missing scopes field", map[string]any{"name": "svc"}, ""},
		{"33 scopes", map[string]any{"name": "svc", "scopes": scopes(33)}, ""},
		{"a scope without a colon", map[string]any{"name": "svc", "scopes": []string{"read:reports", "reports"}}, ""},
		{"an empty scope", map[string]any{"name": "svc", "scopes": []string{""}}, ""},
		{"a scope with a space", map[string]any{"name": "svc", "scopes": []string{"read:a read:b"}}, ""},
		{"scopes that are not a list", map[string]any{"name": "svc", "scopes": "read:reports"}, ""},
		{"malformed JSON", nil, `{"name":`},
	}
	for _, b := range bad {
		r := sv.Do(t, Req{Method: "POST", Path: "/admin/clients", Bearer: admin, JSON: b.body, Raw: b.raw, ContentType: "application/json"})
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %d %s, want 400", b.name, r.StatusCode, r.Body)
		}
		Expect(t, r, http.StatusBadRequest, "invalid_request")
	}
	// The boundaries pass: 64 characters (not bytes), 32 scopes, wildcards.
	for _, body := range []map[string]any{
		{"name": strings.Repeat("é", 64), "scopes": []string{"read:reports"}},
		{"name": "Reporting service (nightly)", "scopes": scopes(32)},
		{"name": "everything", "scopes": []string{"*:*", "*:reports", "read:*"}},
	} {
		r := sv.Do(t, Req{Method: "POST", Path: "/admin/clients", Bearer: admin, JSON: body})
		Expect(t, r, http.StatusCreated, "")
		var got struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		json.Unmarshal(r.Body, &got)
		sv.Secrets.Add(got.Secret)
		Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(got.ID), Bearer: admin}), http.StatusNoContent, "")
	}

	// The list shows every client, never a secret.
	r := sv.Do(t, Req{Method: "GET", Path: "/admin/clients", Bearer: admin})
	Expect(t, r, http.StatusOK, "")
	if strings.Contains(string(r.Body), c.Secret) || strings.Contains(string(r.Body), "secret") {
		t.Fatalf("GET /admin/clients shows a secret: %s", r.Body)
	}
	listed := sv.listClients(t, admin)
	for _, want := range []svcClient{c, d} {
		got, ok := listed[want.ID]
		if !ok || got.Name != want.Name || !slices.Equal(got.Scopes, want.Scopes) {
			t.Fatalf("GET /admin/clients lists %+v for %s, want %+v", got, want.ID, want)
		}
		if _, err := time.Parse(time.RFC3339, got.CreatedAt); err != nil {
			t.Fatalf("listed created_at %q is not RFC 3339", got.CreatedAt)
		}
	}

	// Deletion.
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(d.ID), Bearer: admin}), http.StatusNoContent, "")
	if _, ok := sv.listClients(t, admin)[d.ID]; ok {
		t.Fatal("a deleted client is still listed")
	}
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(d.ID), Bearer: admin}), http.StatusNotFound, "")
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/cl_no-such-client", Bearer: admin}), http.StatusNotFound, "")

	// Who may: nobody without credentials, not a plain user, not a client.
	name, pass := sv.Register(t, "svcplain")
	user := sv.Token(t, name, pass)
	ctok := sv.clientToken(t, c, "")
	create := map[string]any{"name": "svc", "scopes": []string{"read:reports"}}
	for _, who := range []struct {
		bearer string
		status int
		code   string
	}{{"", 401, "invalid_token"}, {user.AccessToken, 403, "forbidden"}, {ctok.AccessToken, 403, "forbidden"}} {
		Expect(t, sv.Do(t, Req{Method: "POST", Path: "/admin/clients", Bearer: who.bearer, JSON: create}), who.status, who.code)
		Expect(t, sv.Do(t, Req{Method: "GET", Path: "/admin/clients", Bearer: who.bearer}), who.status, who.code)
		Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(c.ID), Bearer: who.bearer}), who.status, who.code)
	}
	if _, ok := sv.listClients(t, admin)[c.ID]; !ok {
		t.Fatal("a refused DELETE removed the client")
	}

	// An administrator's session needs the CSRF token for POST and DELETE.
	cookie, csrf := sv.adminSession(t)
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/admin/clients", Cookie: cookie, JSON: create}), 403, "csrf_failed")
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/admin/clients", Cookie: cookie, CSRF: "wrong", JSON: create}), 403, "csrf_failed")
	r = sv.Do(t, Req{Method: "POST", Path: "/admin/clients", Cookie: cookie, CSRF: csrf, JSON: create})
	Expect(t, r, http.StatusCreated, "")
	var made struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	json.Unmarshal(r.Body, &made)
	sv.Secrets.Add(made.Secret)
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/admin/clients", Cookie: cookie}), http.StatusOK, "")
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(made.ID), Cookie: cookie}), 403, "csrf_failed")
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(made.ID), Cookie: cookie, CSRF: csrf}), http.StatusNoContent, "")
}

// listedClient is one entry of GET /admin/clients.
type listedClient struct {
	ClientID  string   `json:"client_id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"created_at"`
}

func (sv *services) listClients(t *testing.T, admin string) map[string]listedClient {
	t.Helper()
	r := sv.Do(t, Req{Method: "GET", Path: "/admin/clients", Bearer: admin})
	Expect(t, r, http.StatusOK, "")
	var a struct {
		Clients []listedClient `json:"clients"`
	}
	if err := json.Unmarshal(r.Body, &a); err != nil || a.Clients == nil {
		t.Fatalf("GET /admin/clients answered %s", r.Body)
	}
	out := make(map[string]listedClient, len(a.Clients))
	for _, c := range a.Clients {
		out[c.ClientID] = c
	}
	return out
}

func (sv *services) checkClientCredentials(t *testing.T) {
	c := sv.createClient(t, "svc-cc", "read:reports", "write:notes")
	w := sv.createClient(t, "svc-wild", "read:*")
	grant := url.Values{"grant_type": {"client_credentials"}}

	// client_secret_basic, absent scope: all of the client's.
	tok := sv.clientToken(t, c, "")
	if !sameSet(strings.Fields(tok.Scope), c.Scopes) {
		t.Fatalf("absent scope granted %q, want all of %q", tok.Scope, c.Scopes)
	}
	var raw map[string]any
	json.Unmarshal(sv.oauthPost(t, "/oauth/token", grant, basic(c.ID, c.Secret)).Body, &raw)
	if _, ok := raw["refresh_token"]; ok {
		t.Fatal("a client token answer carries a refresh_token")
	}
	sv.checkClientJWT(t, c, tok, c.Scopes)

	// RFC 6749 §2.3.1: id and secret are form-urlencoded inside Basic. Base64url needs no
	// escaping, so escape some characters anyway: the server must decode them.
	escape := func(s string) string {
		var b strings.Builder
		for i := range len(s) {
			if i%3 == 0 || s[i] == '_' || s[i] == '-' {
				fmt.Fprintf(&b, "%%%02X", s[i])
			} else {
				b.WriteByte(s[i])
			}
		}
		return b.String()
	}
	escaped := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(escape(c.ID)+":"+escape(c.Secret)))}
	sv.decodeToken(t, sv.oauthPost(t, "/oauth/token", grant, escaped))
	plain := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":"+c.Secret))}
	sv.decodeToken(t, sv.oauthPost(t, "/oauth/token", grant, plain))
	lower := map[string]string{"Authorization": "basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":"+c.Secret))}
	sv.decodeToken(t, sv.oauthPost(t, "/oauth/token", grant, lower))

	// client_secret_post.
	post := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {c.Secret}, "scope": {"write:notes"}}
	if got := sv.decodeToken(t, sv.oauthPost(t, "/oauth/token", post, nil)); got.Scope != "write:notes" {
		t.Fatalf("client_secret_post with scope write:notes granted %q", got.Scope)
	}

	// Both methods at once.
	r := sv.oauthPost(t, "/oauth/token", post, basic(c.ID, c.Secret))
	expectOAuth(t, r, http.StatusBadRequest, "invalid_request")

	// No client authentication.
	r = sv.oauthPost(t, "/oauth/token", grant, nil)
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
	r = sv.oauthPost(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}}, nil)
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")

	// A wrong secret, an unknown client: the same 401, with the Basic challenge when Basic
	// was tried.
	wrong := sv.oauthPost(t, "/oauth/token", grant, basic(c.ID, c.Secret[:len(c.Secret)-2]+"xy"))
	expectOAuth(t, wrong, http.StatusUnauthorized, "invalid_client")
	expectBasicChallenge(t, wrong)
	unknown := sv.oauthPost(t, "/oauth/token", grant, basic("cl_"+uniqueName("ghost"), c.Secret))
	expectOAuth(t, unknown, http.StatusUnauthorized, "invalid_client")
	expectBasicChallenge(t, unknown)
	if string(wrong.Body) != string(unknown.Body) {
		t.Fatalf("a wrong secret and an unknown client answer differently: %s / %s", wrong.Body, unknown.Body)
	}
	for _, h := range []string{"Basic !!!not-base64", "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon")), "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":%zz"))} {
		r = sv.oauthPost(t, "/oauth/token", grant, map[string]string{"Authorization": h})
		expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
		expectBasicChallenge(t, r)
	}
	r = sv.oauthPost(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {"wrong-secret"}}, nil)
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")

	// Scopes: a subset, one granted by a wildcard, one not held.
	if got := sv.clientToken(t, c, "read:reports"); got.Scope != "read:reports" {
		t.Fatalf("scope read:reports granted %q", got.Scope)
	}
	if got := sv.clientToken(t, c, "write:notes read:reports"); !sameSet(strings.Fields(got.Scope), []string{"read:reports", "write:notes"}) {
		t.Fatalf("scope \"write:notes read:reports\" granted %q", got.Scope)
	}
	if got := sv.clientToken(t, w, "read:reports"); got.Scope != "read:reports" {
		t.Fatalf("a read:* client asking for read:reports was granted %q", got.Scope)
	}
	if got := sv.clientToken(t, w, ""); got.Scope != "read:*" {
		t.Fatalf("a read:* client asking for nothing was granted %q", got.Scope)
	}
	for _, s := range []struct {
		c     svcClient
		scope string
	}{{c, "write:reports"}, {c, "read:reports delete:reports"}, {c, "read:*"}, {w, "write:notes"}, {w, "admin"}} {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {s.scope}}
		expectOAuth(t, sv.oauthPost(t, "/oauth/token", form, basic(s.c.ID, s.c.Secret)), http.StatusBadRequest, "invalid_scope")
	}

	// Grant types and body formats.
	for _, gt := range []string{"password", "authorization_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"} {
		r = sv.oauthPost(t, "/oauth/token", url.Values{"grant_type": {gt}}, basic(c.ID, c.Secret))
		expectOAuth(t, r, http.StatusBadRequest, "unsupported_grant_type")
	}
	expectOAuth(t, sv.oauthPost(t, "/oauth/token", url.Values{}, basic(c.ID, c.Secret)), http.StatusBadRequest, "invalid_request")
	expectOAuth(t, sv.oauthPost(t, "/oauth/token", url.Values{"scope": {"read:reports"}}, basic(c.ID, c.Secret)), http.StatusBadRequest, "invalid_request")
	r = sv.Do(t, Req{Method: "POST", Path: "/oauth/token", JSON: map[string]string{"grant_type": "client_credentials", "client_id": c.ID, "client_secret": c.Secret}})
	expectOAuth(t, r, http.StatusBadRequest, "invalid_request")
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("a JSON body's refusal carries Cache-Control %q", cc)
	}
	r = sv.Do(t, Req{Method: "POST", Path: "/oauth/token", Raw: "grant_type=client_credentials&grant_type=client_credentials", ContentType: "application/x-www-form-urlencoded", Header: basic(c.ID, c.Secret)})
	expectOAuth(t, r, http.StatusBadRequest, "invalid_request")
}

// checkClientJWT decodes a client's access token: RFC 9068's header and claims, with sub
// and client_id the client id, scope the granted scopes, no sid and no roles, and iss and
// aud those of the app's user tokens.
func (sv *services) checkClientJWT(t *testing.T, c svcClient, tok oauthToken, scopes []string) {
	t.Helper()
	header, claims := jwtParts(t, tok.AccessToken)
	if header["typ"] != "at+jwt" {
		t.Fatalf("client token header typ %v, want at+jwt", header["typ"])
	}
	if claims["sub"] != c.ID || claims["client_id"] != c.ID {
		t.Fatalf("client token sub %v and client_id %v, want both %s", claims["sub"], claims["client_id"], c.ID)
	}
	scope, _ := claims["scope"].(string)
	if !sameSet(strings.Fields(scope), scopes) {
		t.Fatalf("client token scope %q, want %q", scope, scopes)
	}
	for _, absent := range []string{"sid", "roles"} {
		if v, ok := claims[absent]; ok {
			t.Fatalf("client token carries %s = %v", absent, v)
		}
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Fatal("client token has no jti")
	}
	exp, iat, nbf := numClaim(t, claims, "exp"), numClaim(t, claims, "iat"), numClaim(t, claims, "nbf")
	now := time.Now().Unix()
	if iat > now+5 || iat < now-60 || nbf > iat || exp-iat != tok.ExpiresIn {
		t.Fatalf("client token iat %d nbf %d exp %d (expires_in %d) at %d", iat, nbf, exp, tok.ExpiresIn, now)
	}
	// iss and aud are those of a user's token.
	name, pass := sv.Register(t, "svcjwt")
	_, user := jwtParts(t, sv.Token(t, name, pass).AccessToken)
	for _, k := range []string{"iss", "aud"} {
		if claims[k] == nil || fmt.Sprint(claims[k]) != fmt.Sprint(user[k]) {
			t.Fatalf("client token %s %v, a user token's %v", k, claims[k], user[k])
		}
	}
}

func (sv *services) checkClientCaller(t *testing.T) {
	c := sv.createClient(t, "svc-caller", "read:reports", "write:notes")
	tok := sv.clientToken(t, c, "")
	me := sv.me(t, Req{Bearer: tok.AccessToken})
	if me.UserID != c.ID || me.Username != c.Name || len(me.Roles) != 0 || !sameSet(me.Permissions, c.Scopes) || me.AuthMethod != "client" {
		t.Fatalf("/api/me of a client token: %+v, want user_id %s, username %s, no roles, permissions %q, auth_method client", me, c.ID, c.Name, c.Scopes)
	}
	r := sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: tok.AccessToken})
	Expect(t, r, http.StatusOK, "")
	if r.JSON(t)["ok"] != true {
		t.Fatalf("/api/reports answered %s", r.Body)
	}
	// Unsafe methods with a bearer token need no CSRF token.
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/api/echo", Bearer: tok.AccessToken, Raw: `{"from":"client"}`, ContentType: "application/json"}), http.StatusOK, "")

	// Only the granted scopes count: a token narrowed to write:notes cannot read reports.
	narrow := sv.clientToken(t, c, "write:notes")
	if me := sv.me(t, Req{Bearer: narrow.AccessToken}); !slices.Equal(me.Permissions, []string{"write:notes"}) {
		t.Fatalf("/api/me of a write:notes token: permissions %q", me.Permissions)
	}
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: narrow.AccessToken}), http.StatusForbidden, "forbidden")
	other := sv.createClient(t, "svc-noreports", "read:notes")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: sv.clientToken(t, other, "").AccessToken}), http.StatusForbidden, "forbidden")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports"}), http.StatusUnauthorized, "invalid_token")
	// A user holds read:notes and write:notes, not read:reports; the administrator holds all.
	name, pass := sv.Register(t, "svcreports")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: sv.Token(t, name, pass).AccessToken}), http.StatusForbidden, "forbidden")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: sv.adminToken(t)}), http.StatusOK, "")

	// A client has no sessions and no admin role.
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/sessions", Bearer: tok.AccessToken}), http.StatusForbidden, "forbidden")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/admin", Bearer: tok.AccessToken}), http.StatusForbidden, "forbidden")

	// Logout refuses that token, and only that one.
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/auth/logout", Bearer: tok.AccessToken}), http.StatusNoContent, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: tok.AccessToken}), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: tok.AccessToken}), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: narrow.AccessToken}), http.StatusOK, "")
	sv.me(t, Req{Bearer: sv.clientToken(t, c, "").AccessToken})
}

func (sv *services) checkClientRateLimit(t *testing.T) {
	c := sv.createClient(t, "svc-limit", "read:reports")
	other := sv.createClient(t, "svc-limit2", "read:reports")
	grant := url.Values{"grant_type": {"client_credentials"}}
	// Successes alone never reach the limit.
	var tok oauthToken
	for range defaultLoginLimit + 2 {
		tok = sv.clientToken(t, c, "")
	}
	// Failures do, whichever method they use and wherever client authentication happens.
	for i := range defaultLoginLimit {
		var r Resp
		switch i % 3 {
		case 0:
			r = sv.oauthPost(t, "/oauth/token", grant, basic(c.ID, "wrong-secret"))
		case 1:
			r = sv.oauthPost(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {"wrong-secret"}}, nil)
		default:
			r = sv.oauthPost(t, "/oauth/introspect", url.Values{"token": {"x"}}, basic(c.ID, "wrong-secret"))
		}
		expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
	}
	for _, r := range []Resp{
		sv.oauthPost(t, "/oauth/token", grant, basic(c.ID, c.Secret)),
		sv.oauthPost(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {c.Secret}}, nil),
		sv.oauthPost(t, "/oauth/introspect", url.Values{"token": {"x"}}, basic(c.ID, c.Secret)),
	} {
		expectOAuth(t, r, http.StatusTooManyRequests, "")
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra <= 0 {
			t.Fatalf("429 with Retry-After %q, want positive seconds", r.Header.Get("Retry-After"))
		}
	}
	// The limit is per client id: another client from the same address is unaffected.
	sv.clientToken(t, other, "")
	// It limits authentication, nothing else: a token issued before keeps working.
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: tok.AccessToken}), http.StatusOK, "")
}

func (sv *services) checkOAuthRefresh(t *testing.T) {
	name, pass := sv.Register(t, "svcrefresh")
	first := sv.Token(t, name, pass)
	refreshForm := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	}
	second := sv.decodeToken(t, sv.oauthPost(t, "/oauth/token", refreshForm(first.RefreshToken), nil))
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("the refresh_token grant did not rotate the pair")
	}
	if me := sv.me(t, Req{Bearer: second.AccessToken}); me.Username != name || me.AuthMethod != "bearer" {
		t.Fatalf("/api/me after the refresh_token grant: %+v", me)
	}
	// /auth/refresh and the refresh_token grant rotate one family: either spends the token.
	third := refresh(t, sv.Target, second.RefreshToken)
	Expect(t, third, http.StatusOK, "")
	var p3 Pair
	json.Unmarshal(third.Body, &p3)
	sv.Secrets.Add(p3.AccessToken, p3.RefreshToken)
	fourth := sv.decodeToken(t, sv.oauthPost(t, "/oauth/token", refreshForm(p3.RefreshToken), nil))
	sv.me(t, Req{Bearer: fourth.AccessToken})

	// Reuse of a spent token kills the family: the newest refresh token and the session's
	// access tokens too.
	expectOAuth(t, sv.oauthPost(t, "/oauth/token", refreshForm(second.RefreshToken), nil), http.StatusBadRequest, "invalid_grant")
	expectOAuth(t, sv.oauthPost(t, "/oauth/token", refreshForm(fourth.RefreshToken), nil), http.StatusBadRequest, "invalid_grant")
	Expect(t, refresh(t, sv.Target, fourth.RefreshToken), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: fourth.AccessToken}), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: second.AccessToken}), http.StatusUnauthorized, "invalid_token")

	// A reuse caught at /auth/refresh is the same.
	p := sv.Token(t, name, pass)
	next := sv.decodeToken(t, sv.oauthPost(t, "/oauth/token", refreshForm(p.RefreshToken), nil))
	Expect(t, refresh(t, sv.Target, p.RefreshToken), http.StatusUnauthorized, "invalid_token")
	expectOAuth(t, sv.oauthPost(t, "/oauth/token", refreshForm(next.RefreshToken), nil), http.StatusBadRequest, "invalid_grant")

	expectOAuth(t, sv.oauthPost(t, "/oauth/token", refreshForm("garbage"), nil), http.StatusBadRequest, "invalid_grant")
	expectOAuth(t, sv.oauthPost(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}}, nil), http.StatusBadRequest, "invalid_request")
	// A client's access token is no refresh token.
	c := sv.createClient(t, "svc-notrefresh", "read:reports")
	expectOAuth(t, sv.oauthPost(t, "/oauth/token", refreshForm(sv.clientToken(t, c, "").AccessToken), nil), http.StatusBadRequest, "invalid_grant")
}

// introspect posts token to /oauth/introspect as c and returns the decoded answer.
func (sv *services) introspect(t *testing.T, c svcClient, token string) map[string]any {
	t.Helper()
	r := sv.oauthPost(t, "/oauth/introspect", url.Values{"token": {token}}, basic(c.ID, c.Secret))
	expectOAuth(t, r, http.StatusOK, "")
	d := json.NewDecoder(strings.NewReader(string(r.Body)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("introspection answered %s", r.Body)
	}
	return m
}

// expectInactive fails unless the introspection of token is exactly {"active":false}.
func (sv *services) expectInactive(t *testing.T, c svcClient, what, token string) {
	t.Helper()
	if m := sv.introspect(t, c, token); len(m) != 1 || m["active"] != false {
		t.Fatalf("introspection of %s: %v, want exactly {\"active\":false}", what, m)
	}
}

// expectActive checks an active introspection answer against the credential's caller.
func (sv *services) expectActive(t *testing.T, c svcClient, what, token, tokenType string, me meAnswer, exp bool) map[string]any {
	t.Helper()
	m := sv.introspect(t, c, token)
	scope, _ := m["scope"].(string)
	if m["active"] != true || m["sub"] != me.UserID || !sameSet(strings.Fields(scope), me.Permissions) || m["token_type"] != tokenType {
		t.Fatalf("introspection of %s: %v, want active, sub %s, scope %q, token_type %s", what, m, me.UserID, me.Permissions, tokenType)
	}
	if iss, _ := m["iss"].(string); iss == "" {
		t.Fatalf("introspection of %s has no iss: %v", what, m)
	}
	iat := numClaim(t, m, "iat")
	if now := time.Now().Unix(); iat > now+5 || iat < now-3600 {
		t.Fatalf("introspection of %s: iat %d, now %d", what, iat, now)
	}
	if _, has := m["exp"]; has != exp {
		t.Fatalf("introspection of %s: exp present %v, want %v (%v)", what, has, exp, m)
	}
	if exp && numClaim(t, m, "exp") <= time.Now().Unix() {
		t.Fatalf("introspection of %s: exp %v is past", what, m["exp"])
	}
	return m
}

func (sv *services) checkIntrospection(t *testing.T) {
	c := sv.createClient(t, "svc-introspect", "read:reports", "write:notes")
	name, pass := sv.Register(t, "svcintro")
	user := sv.Token(t, name, pass)
	userMe := sv.me(t, Req{Bearer: user.AccessToken})

	// Client authentication is required.
	r := sv.oauthPost(t, "/oauth/introspect", url.Values{"token": {user.AccessToken}}, nil)
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
	r = sv.oauthPost(t, "/oauth/introspect", url.Values{"token": {user.AccessToken}}, basic(c.ID, "wrong-secret"))
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
	expectBasicChallenge(t, r)
	// A user's bearer token is no client authentication.
	r = sv.oauthPost(t, "/oauth/introspect", url.Values{"token": {user.AccessToken}}, map[string]string{"Authorization": "Bearer " + user.AccessToken})
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
	expectOAuth(t, sv.oauthPost(t, "/oauth/introspect", url.Values{}, basic(c.ID, c.Secret)), http.StatusBadRequest, "invalid_request")
	// client_secret_post works here too.
	r = sv.oauthPost(t, "/oauth/introspect", url.Values{"token": {user.AccessToken}, "client_id": {c.ID}, "client_secret": {c.Secret}}, nil)
	expectOAuth(t, r, http.StatusOK, "")

	// A user's access token.
	m := sv.expectActive(t, c, "a user's access token", user.AccessToken, "Bearer", userMe, true)
	_, claims := jwtParts(t, user.AccessToken)
	if numClaim(t, m, "exp") != numClaim(t, claims, "exp") || numClaim(t, m, "iat") != numClaim(t, claims, "iat") || m["iss"] != claims["iss"] {
		t.Fatalf("introspection %v disagrees with the token's claims %v", m, claims)
	}
	// A client's access token.
	ctok := sv.clientToken(t, c, "read:reports")
	sv.expectActive(t, c, "a client's access token", ctok.AccessToken, "Bearer", meAnswer{UserID: c.ID, Permissions: []string{"read:reports"}}, true)
	// API keys, with and without an expiry.
	key := sv.createKey(t, user.AccessToken, "intro", []string{"read:notes"}, 0)
	sv.expectActive(t, c, "an API key without expiry", key.Key, "api_key", meAnswer{UserID: userMe.UserID, Permissions: []string{"read:notes"}}, false)
	expiring := sv.createKey(t, user.AccessToken, "intro-exp", []string{"write:notes"}, 3600)
	m = sv.expectActive(t, c, "an API key with an expiry", expiring.Key, "api_key", meAnswer{UserID: userMe.UserID, Permissions: []string{"write:notes"}}, true)
	if at, _ := time.Parse(time.RFC3339, *expiring.ExpiresAt); numClaim(t, m, "exp") != at.Unix() {
		t.Fatalf("introspected exp %v, the key's expires_at %s", m["exp"], *expiring.ExpiresAt)
	}

	// Anything else is inactive, with no reason.
	sv.expectInactive(t, c, "a refresh token", user.RefreshToken)
	sv.expectInactive(t, c, "garbage", "garbage")
	sv.expectInactive(t, c, "a tampered token", user.AccessToken[:len(user.AccessToken)-4]+"AAAA")
	sv.expectInactive(t, c, "an unknown API key", "afk_"+strings.Repeat("A", 43))
	sv.expectInactive(t, c, "a client secret", c.Secret)
	other := sv.Token(t, name, pass)
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/auth/logout", Bearer: other.AccessToken}), http.StatusNoContent, "")
	sv.expectInactive(t, c, "a logged-out access token", other.AccessToken)
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(key.ID), Bearer: user.AccessToken}), http.StatusNoContent, "")
	sv.expectInactive(t, c, "a deleted API key", key.Key)
	short := sv.createKey(t, user.AccessToken, "intro-short", []string{"read:notes"}, 2)
	sv.expectActive(t, c, "a two-second API key", short.Key, "api_key", meAnswer{UserID: userMe.UserID, Permissions: []string{"read:notes"}}, true)
	sleepPast(t, *short.ExpiresAt)
	sv.expectInactive(t, c, "an expired API key", short.Key)
	// Introspection changed nothing: the user's token is still active.
	sv.expectActive(t, c, "a user's access token, again", user.AccessToken, "Bearer", userMe, true)
}

// sleepPast waits until a little after the RFC 3339 time at.
func sleepPast(t *testing.T, at string) {
	t.Helper()
	when, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatalf("expires_at %q is not RFC 3339", at)
	}
	// RFC 3339 without fractions rounds down: the key may live up to a second longer.
	time.Sleep(time.Until(when.Add(time.Second + 100*time.Millisecond)))
}

func (sv *services) checkRevocation(t *testing.T) {
	c := sv.createClient(t, "svc-revoke", "read:reports")
	revoke := func(token string, header map[string]string, extra url.Values) Resp {
		form := url.Values{"token": {token}}
		for k, v := range extra {
			form[k] = v
		}
		return sv.oauthPost(t, "/oauth/revoke", form, header)
	}
	// Unknown tokens are 200, with or without client authentication.
	expectOAuth(t, revoke("no-such-token", nil, nil), http.StatusOK, "")
	expectOAuth(t, revoke("no-such-token", basic(c.ID, c.Secret), nil), http.StatusOK, "")
	expectOAuth(t, revoke("abc.def", nil, url.Values{"token_type_hint": {"refresh_token"}}), http.StatusOK, "")
	expectOAuth(t, sv.oauthPost(t, "/oauth/revoke", url.Values{}, nil), http.StatusBadRequest, "invalid_request")
	// Client credentials, when sent, must be right.
	name, pass := sv.Register(t, "svcrevoke")
	p := sv.Token(t, name, pass)
	r := revoke(p.AccessToken, basic(c.ID, "wrong-secret"), nil)
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
	expectBasicChallenge(t, r)
	expectOAuth(t, revoke(p.AccessToken, nil, url.Values{"client_id": {c.ID}, "client_secret": {"wrong-secret"}}), http.StatusUnauthorized, "invalid_client")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: p.AccessToken}), http.StatusOK, "")

	// A refresh token: its family and session end, so its access token is refused.
	expectOAuth(t, revoke(p.RefreshToken, basic(c.ID, c.Secret), url.Values{"token_type_hint": {"refresh_token"}}), http.StatusOK, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: p.AccessToken}), http.StatusUnauthorized, "invalid_token")
	Expect(t, refresh(t, sv.Target, p.RefreshToken), http.StatusUnauthorized, "invalid_token")
	expectOAuth(t, revoke(p.RefreshToken, nil, nil), http.StatusOK, "")

	// An access token, without client authentication: refused from then on.
	q := sv.Token(t, name, pass)
	sv.me(t, Req{Bearer: q.AccessToken})
	expectOAuth(t, revoke(q.AccessToken, nil, nil), http.StatusOK, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: q.AccessToken}), http.StatusUnauthorized, "invalid_token")
	// A client's access token, with client_secret_post.
	ctok := sv.clientToken(t, c, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: ctok.AccessToken}), http.StatusOK, "")
	expectOAuth(t, revoke(ctok.AccessToken, nil, url.Values{"client_id": {c.ID}, "client_secret": {c.Secret}}), http.StatusOK, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: ctok.AccessToken}), http.StatusUnauthorized, "invalid_token")
	sv.expectInactive(t, c, "a revoked client token", ctok.AccessToken)
}

func (sv *services) checkClientDeletion(t *testing.T) {
	admin := sv.adminToken(t)
	c := sv.createClient(t, "svc-delete", "read:reports")
	keep := sv.createClient(t, "svc-keep", "read:reports")
	tokens := []oauthToken{sv.clientToken(t, c, ""), sv.clientToken(t, c, "read:reports")}
	kept := sv.clientToken(t, keep, "")
	for _, tok := range tokens {
		Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: tok.AccessToken}), http.StatusOK, "")
	}
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/admin/clients/" + url.PathEscape(c.ID), Bearer: admin}), http.StatusNoContent, "")
	for _, tok := range tokens {
		Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: tok.AccessToken}), http.StatusUnauthorized, "invalid_token")
		Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: tok.AccessToken}), http.StatusUnauthorized, "invalid_token")
	}
	r := sv.oauthPost(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basic(c.ID, c.Secret))
	expectOAuth(t, r, http.StatusUnauthorized, "invalid_client")
	expectBasicChallenge(t, r)
	// Other clients are unaffected.
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: kept.AccessToken}), http.StatusOK, "")
	sv.expectInactive(t, keep, "a deleted client's token", tokens[0].AccessToken)
}

// createdKey is the answer of POST /api/keys.
type createdKey struct {
	ID          string   `json:"id"`
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
	ExpiresAt   *string  `json:"expires_at"`
}

// createKey makes an API key with bearer (expiresIn 0: none) and checks the answer.
func (sv *services) createKey(t *testing.T, bearer, name string, perms []string, expiresIn int) createdKey {
	t.Helper()
	body := map[string]any{"name": name, "permissions": perms}
	if expiresIn > 0 {
		body["expires_in"] = expiresIn
	}
	r := sv.Do(t, Req{Method: "POST", Path: "/api/keys", Bearer: bearer, JSON: body})
	Expect(t, r, http.StatusCreated, "")
	return sv.decodeKey(t, r, name, perms, expiresIn)
}

func (sv *services) decodeKey(t *testing.T, r Resp, name string, perms []string, expiresIn int) createdKey {
	t.Helper()
	var k createdKey
	var raw map[string]json.RawMessage
	if json.Unmarshal(r.Body, &k) != nil || json.Unmarshal(r.Body, &raw) != nil {
		t.Fatalf("POST /api/keys answered %s", r.Body)
	}
	sv.Secrets.Add(k.Key)
	if !apiKeyPattern.MatchString(k.Key) {
		t.Fatalf("API key %.8q... (%d characters) is not afk_ and 256 bits of base64url", k.Key, len(k.Key))
	}
	if k.ID == "" || strings.Contains(k.Key, k.ID) || k.Name != name || !slices.Equal(k.Permissions, perms) {
		t.Fatalf("POST /api/keys {name %q, permissions %q} answered id %q name %q permissions %q", name, perms, k.ID, k.Name, k.Permissions)
	}
	created, err := time.Parse(time.RFC3339, k.CreatedAt)
	if err != nil || time.Since(created).Abs() > time.Minute {
		t.Fatalf("created_at %q is not the RFC 3339 time of now", k.CreatedAt)
	}
	if _, ok := raw["expires_at"]; !ok {
		t.Fatalf("POST /api/keys answer lacks expires_at: %s", r.Body)
	}
	switch {
	case expiresIn == 0 && k.ExpiresAt != nil:
		t.Fatalf("a key without expires_in expires at %s, want null", *k.ExpiresAt)
	case expiresIn > 0:
		if k.ExpiresAt == nil {
			t.Fatalf("a key with expires_in %d has expires_at null", expiresIn)
		}
		at, err := time.Parse(time.RFC3339, *k.ExpiresAt)
		if want := created.Add(time.Duration(expiresIn) * time.Second); err != nil || at.Sub(want).Abs() > 2*time.Second {
			t.Fatalf("expires_at %s, want created_at %s + %d s", *k.ExpiresAt, k.CreatedAt, expiresIn)
		}
	}
	return k
}

// listedKey is one entry of GET /api/keys.
type listedKey struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
	ExpiresAt   *string  `json:"expires_at"`
	LastUsedAt  *string  `json:"last_used_at"`
}

// listKeys reads GET /api/keys with r's credentials; none of keys may appear in it.
func (sv *services) listKeys(t *testing.T, r Req, keys ...string) map[string]listedKey {
	t.Helper()
	r.Method, r.Path = "GET", "/api/keys"
	resp := sv.Do(t, r)
	Expect(t, resp, http.StatusOK, "")
	for _, k := range keys {
		if strings.Contains(string(resp.Body), k) {
			t.Fatal("GET /api/keys shows a key")
		}
	}
	var a struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(resp.Body, &a); err != nil || a.Keys == nil {
		t.Fatalf("GET /api/keys answered %s", resp.Body)
	}
	out := map[string]listedKey{}
	for _, raw := range a.Keys {
		for _, f := range []string{"id", "name", "permissions", "created_at", "expires_at", "last_used_at"} {
			if _, ok := raw[f]; !ok {
				t.Fatalf("a listed key lacks %s: %s", f, resp.Body)
			}
		}
		if _, ok := raw["key"]; ok {
			t.Fatalf("a listed key carries the key: %s", resp.Body)
		}
		b, _ := json.Marshal(raw)
		var k listedKey
		json.Unmarshal(b, &k)
		out[k.ID] = k
	}
	return out
}

func (sv *services) checkKeyManagement(t *testing.T) {
	name, pass := sv.Register(t, "svckeys")
	user := sv.Token(t, name, pass)
	k := sv.createKey(t, user.AccessToken, "ci", []string{"read:notes"}, 0)
	k2 := sv.createKey(t, user.AccessToken, "deploy (prod)", []string{"read:notes", "write:notes"}, 3600)
	if k.ID == k2.ID || k.Key == k2.Key {
		t.Fatal("two keys share an id or a key")
	}

	// A user holds read:notes and write:notes only.
	for _, perms := range [][]string{{"read:reports"}, {"read:*"}, {"*:*"}, {"*:notes"}, {"read:notes", "delete:notes"}, {"admin:users"}} {
		r := sv.Do(t, Req{Method: "POST", Path: "/api/keys", Bearer: user.AccessToken, JSON: map[string]any{"name": "too much", "permissions": perms}})
		Expect(t, r, http.StatusForbidden, "forbidden")
	}
	// Validation.
	perms := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = "read:notes"
		}
		return s
	}
	bad := []struct {
		name string
		body any
		raw  string
	}{
		{"an empty name", map[string]any{"name": "", "permissions": []string{"read:notes"}}, ""},
		{"a 65-character name", map[string]any{"name": strings.Repeat("k", 65), "permissions": []string{"read:notes"}}, ""},
		{"a name with a control character", map[string]any{"name": "ci\x00", "permissions": []string{"read:notes"}}, ""},
		{"a name with a tab", map[string]any{"name": "ci\tkey", "permissions": []string{"read:notes"}}, ""},
		{"no name", map[string]any{"permissions": []string{"read:notes"}}, ""},
		{"no permissions", map[string]any{"name": "ci", "permissions": []string{}}, ""},
		{"a missing permissions field", map[string]any{"name": "ci"}, ""},
		{"33 permissions", map[string]any{"name": "ci", "permissions": perms(33)}, ""},
		{"a permission without a colon", map[string]any{"name": "ci", "permissions": []string{"notes"}}, ""},
		{"expires_in 0", map[string]any{"name": "ci", "permissions": []string{"read:notes"}, "expires_in": 0}, ""},
		{"a negative expires_in", map[string]any{"name": "ci", "permissions": []string{"read:notes"}, "expires_in": -60}, ""},
		{"a fractional expires_in", map[string]any{"name": "ci", "permissions": []string{"read:notes"}, "expires_in": 1.5}, ""},
		{"a string expires_in", map[string]any{"name": "ci", "permissions": []string{"read:notes"}, "expires_in": "3600"}, ""},
		{"an absurd expires_in", map[string]any{"name": "ci", "permissions": []string{"read:notes"}, "expires_in": int64(1) << 62}, ""},
		{"malformed JSON", nil, `{"name":"ci",`},
	}
	for _, b := range bad {
		r := sv.Do(t, Req{Method: "POST", Path: "/api/keys", Bearer: user.AccessToken, JSON: b.body, Raw: b.raw, ContentType: "application/json"})
		if r.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %d %s, want 400", b.name, r.StatusCode, r.Body)
		}
		Expect(t, r, http.StatusBadRequest, "invalid_request")
	}
	// The boundaries pass: 64 characters, 32 permissions.
	sv.createKey(t, user.AccessToken, strings.Repeat("ü", 64), perms(1), 0)
	sv.createKey(t, user.AccessToken, "many", perms(32), 0)

	// The list: the caller's own keys, never a key; last_used_at is set by a use.
	listed := sv.listKeys(t, Req{Bearer: user.AccessToken}, k.Key, k2.Key)
	got, ok := listed[k.ID]
	if !ok || got.Name != "ci" || !slices.Equal(got.Permissions, k.Permissions) || got.CreatedAt != k.CreatedAt || got.ExpiresAt != nil || got.LastUsedAt != nil {
		t.Fatalf("listed %+v, want the key as created and never used", got)
	}
	if got2 := listed[k2.ID]; got2.ExpiresAt == nil || *got2.ExpiresAt != *k2.ExpiresAt {
		t.Fatalf("listed %+v, want expires_at %s", got2, *k2.ExpiresAt)
	}
	other, otherPass := sv.Register(t, "svckeys2")
	otherTok := sv.Token(t, other, otherPass)
	if keys := sv.listKeys(t, Req{Bearer: otherTok.AccessToken}, k.Key); len(keys) != 0 {
		t.Fatalf("a user without keys lists %d", len(keys))
	}
	sv.me(t, Req{Header: map[string]string{"X-API-Key": k.Key}})
	deadline := time.Now().Add(2 * time.Second)
	for sv.listKeys(t, Req{Bearer: user.AccessToken})[k.ID].LastUsedAt == nil {
		if time.Now().After(deadline) {
			t.Fatal("last_used_at is still null 2 s after the key's use")
		}
		time.Sleep(50 * time.Millisecond)
	}
	used := sv.listKeys(t, Req{Bearer: user.AccessToken})[k.ID].LastUsedAt
	if at, err := time.Parse(time.RFC3339, *used); err != nil || time.Since(at).Abs() > time.Minute {
		t.Fatalf("last_used_at %q is not the RFC 3339 time of the use", *used)
	}

	// Deletion: 404 for another user's key and an unknown id.
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(k.ID), Bearer: otherTok.AccessToken}), http.StatusNotFound, "")
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/key_no-such-key", Bearer: user.AccessToken}), http.StatusNotFound, "")
	sv.me(t, Req{Header: map[string]string{"X-API-Key": k.Key}})
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(k.ID), Bearer: user.AccessToken}), http.StatusNoContent, "")
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(k.ID), Bearer: user.AccessToken}), http.StatusNotFound, "")
	if _, ok := sv.listKeys(t, Req{Bearer: user.AccessToken})[k.ID]; ok {
		t.Fatal("a deleted key is still listed")
	}

	// Who may: nobody without credentials; a session needs the CSRF token.
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/keys"}), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/api/keys", JSON: map[string]any{"name": "ci", "permissions": []string{"read:notes"}}}), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(k2.ID)}), http.StatusUnauthorized, "invalid_token")
	cookie, csrf, _ := sv.Session(t, name, pass)
	body := map[string]any{"name": "browser", "permissions": []string{"write:notes"}}
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/api/keys", Cookie: cookie, JSON: body}), http.StatusForbidden, "csrf_failed")
	r := sv.Do(t, Req{Method: "POST", Path: "/api/keys", Cookie: cookie, CSRF: csrf, JSON: body})
	Expect(t, r, http.StatusCreated, "")
	fromSession := sv.decodeKey(t, r, "browser", []string{"write:notes"}, 0)
	if _, ok := sv.listKeys(t, Req{Cookie: cookie}, fromSession.Key)[fromSession.ID]; !ok {
		t.Fatal("a session does not list its user's key")
	}
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(fromSession.ID), Cookie: cookie}), http.StatusForbidden, "csrf_failed")
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(fromSession.ID), Cookie: cookie, CSRF: csrf}), http.StatusNoContent, "")

	// Neither a key nor a client manages keys.
	c := sv.createClient(t, "svc-nokeys", "read:notes")
	for _, h := range []map[string]string{{"X-API-Key": k2.Key}, {"Authorization": "Bearer " + k2.Key}, {"Authorization": "Bearer " + sv.clientToken(t, c, "").AccessToken}} {
		Expect(t, sv.Do(t, Req{Method: "POST", Path: "/api/keys", Header: h, JSON: map[string]any{"name": "child", "permissions": []string{"read:notes"}}}), http.StatusForbidden, "forbidden")
		Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/keys", Header: h}), http.StatusForbidden, "forbidden")
		Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(k2.ID), Header: h}), http.StatusForbidden, "forbidden")
	}
	sv.me(t, Req{Header: map[string]string{"X-API-Key": k2.Key}})
}

func (sv *services) checkKeyCaller(t *testing.T) {
	name, pass := sv.Register(t, "svckeycaller")
	user := sv.Token(t, name, pass)
	owner := sv.me(t, Req{Bearer: user.AccessToken})
	k := sv.createKey(t, user.AccessToken, "script", []string{"write:notes"}, 0)
	for _, r := range []Req{{Header: map[string]string{"X-API-Key": k.Key}}, {Bearer: k.Key}, {Header: map[string]string{"Authorization": "bearer " + k.Key}}} {
		me := sv.me(t, r)
		if me.UserID != owner.UserID || me.Username != name || len(me.Roles) != 0 || !slices.Equal(me.Permissions, []string{"write:notes"}) || me.AuthMethod != "api_key" {
			t.Fatalf("/api/me of an API key: %+v, want user_id %s, username %s, no roles, permissions [write:notes], auth_method api_key", me, owner.UserID, name)
		}
	}
	// Unsafe methods need no CSRF token.
	r := sv.Do(t, Req{Method: "POST", Path: "/api/echo", Header: map[string]string{"X-API-Key": k.Key}, Raw: `{"from":"key"}`, ContentType: "application/json"})
	Expect(t, r, http.StatusOK, "")
	if strings.TrimSpace(string(r.Body)) != `{"from":"key"}` {
		t.Fatalf("echo with an API key: %s", r.Body)
	}
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/api/echo", Bearer: k.Key, Raw: `{}`, ContentType: "application/json"}), http.StatusOK, "")
	// Its own permissions only: the owner's role gives it nothing.
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Header: map[string]string{"X-API-Key": k.Key}}), http.StatusForbidden, "forbidden")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/admin", Header: map[string]string{"X-API-Key": k.Key}}), http.StatusForbidden, "forbidden")
	// An administrator's key with read:* reads reports, and is no administrator.
	admin := sv.createKey(t, sv.adminToken(t), "reports", []string{"read:*"}, 0)
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Header: map[string]string{"X-API-Key": admin.Key}}), http.StatusOK, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/reports", Bearer: admin.Key}), http.StatusOK, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/admin", Bearer: admin.Key}), http.StatusForbidden, "forbidden")
	if me := sv.me(t, Req{Bearer: admin.Key}); me.Username != sv.AdminUser || len(me.Roles) != 0 || !slices.Equal(me.Permissions, []string{"read:*"}) {
		t.Fatalf("/api/me of the administrator's key: %+v", me)
	}
	// Unknown and malformed keys.
	for _, bad := range []string{"afk_" + strings.Repeat("A", 43), "afk_", "afk_" + k.Key[4:len(k.Key)-1], k.Key + "x"} {
		Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Header: map[string]string{"X-API-Key": bad}}), http.StatusUnauthorized, "invalid_token")
		r := sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: bad})
		Expect(t, r, http.StatusUnauthorized, "invalid_token")
		if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
			t.Fatalf("a bad key as a bearer token: challenge %q", h)
		}
	}
}

func (sv *services) checkKeyEnd(t *testing.T) {
	name, pass := sv.Register(t, "svckeyend")
	user := sv.Token(t, name, pass)
	short := sv.createKey(t, user.AccessToken, "short", []string{"read:notes"}, 2)
	long := sv.createKey(t, user.AccessToken, "long", []string{"read:notes"}, 0)
	// Both known to the app (and cached) before the end.
	for range 2 {
		sv.me(t, Req{Header: map[string]string{"X-API-Key": short.Key}})
		sv.me(t, Req{Header: map[string]string{"X-API-Key": long.Key}})
	}
	Expect(t, sv.Do(t, Req{Method: "DELETE", Path: "/api/keys/" + url.PathEscape(long.ID), Bearer: user.AccessToken}), http.StatusNoContent, "")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Header: map[string]string{"X-API-Key": long.Key}}), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: long.Key}), http.StatusUnauthorized, "invalid_token")
	sleepPast(t, *short.ExpiresAt)
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Header: map[string]string{"X-API-Key": short.Key}}), http.StatusUnauthorized, "invalid_token")
	Expect(t, sv.Do(t, Req{Method: "POST", Path: "/api/echo", Bearer: short.Key, Raw: `{}`, ContentType: "application/json"}), http.StatusUnauthorized, "invalid_token")
	// The owner's logins are unaffected.
	sv.me(t, Req{Bearer: user.AccessToken})
}

// checkOAuth2Interop drives the token endpoint with golang.org/x/oauth2, the OAuth 2.0
// client most Go services use: the client credentials grant with either client
// authentication, a client that fetches its own token, and a user's token source that
// refreshes by itself.
func (sv *services) checkOAuth2Interop(t *testing.T) {
	c := sv.createClient(t, "svc-oauth2", "read:reports", "write:notes")
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, client)
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"in header", oauth2.AuthStyleInHeader}, {"in params", oauth2.AuthStyleInParams}, {"detected", oauth2.AuthStyleAutoDetect}} {
		cfg := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: sv.Base + "/oauth/token", Scopes: []string{"read:reports"}, AuthStyle: style.style}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("auth style %s: %v", style.name, err)
		}
		sv.Secrets.Add(tok.AccessToken)
		if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Extra("scope") != "read:reports" || time.Until(tok.Expiry) <= 0 {
			t.Fatalf("auth style %s: token type %q, refresh %v, scope %v, expiry %v", style.name, tok.TokenType, tok.RefreshToken != "", tok.Extra("scope"), tok.Expiry)
		}
		resp, err := cfg.Client(ctx).Get(sv.Base + "/api/reports")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("auth style %s: /api/reports with the config's client = %d", style.name, resp.StatusCode)
		}
		// Without scopes the client gets all of its own.
		all := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: sv.Base + "/oauth/token", AuthStyle: style.style}
		tok, err = all.Token(ctx)
		if err != nil {
			t.Fatalf("auth style %s without scopes: %v", style.name, err)
		}
		sv.Secrets.Add(tok.AccessToken)
		if s, _ := tok.Extra("scope").(string); !sameSet(strings.Fields(s), c.Scopes) {
			t.Fatalf("auth style %s without scopes granted %q", style.name, s)
		}
	}
	// Errors reach the client as RFC 6749 errors.
	for _, e := range []struct {
		cfg    clientcredentials.Config
		status int
		code   string
	}{
		{clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, Scopes: []string{"delete:reports"}, AuthStyle: oauth2.AuthStyleInHeader}, 400, "invalid_scope"},
		{clientcredentials.Config{ClientID: c.ID, ClientSecret: "wrong-secret", AuthStyle: oauth2.AuthStyleInHeader}, 401, "invalid_client"},
		{clientcredentials.Config{ClientID: c.ID, ClientSecret: "wrong-secret", AuthStyle: oauth2.AuthStyleInParams}, 401, "invalid_client"},
	} {
		e.cfg.TokenURL = sv.Base + "/oauth/token"
		_, err := e.cfg.Token(ctx)
		re, ok := errors.AsType[*oauth2.RetrieveError](err)
		if !ok || re.Response.StatusCode != e.status || re.ErrorCode != e.code || re.ErrorDescription == "" {
			t.Fatalf("x/oauth2 error %v, want %d %s with a description", err, e.status, e.code)
		}
	}
	narrow := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: sv.Base + "/oauth/token", Scopes: []string{"write:notes"}}
	resp, err := narrow.Client(ctx).Get(sv.Base + "/api/reports")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("/api/reports with a write:notes token = %d, want 403", resp.StatusCode)
	}

	// A user's token source refreshes by itself through grant_type=refresh_token.
	name, pass := sv.Register(t, "svcoauth2")
	pair := sv.Token(t, name, pass)
	conf := &oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: sv.Base + "/oauth/token"}}
	ts := conf.TokenSource(ctx, &oauth2.Token{AccessToken: pair.AccessToken, RefreshToken: pair.RefreshToken, TokenType: "Bearer", Expiry: time.Now().Add(-time.Minute)})
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("refresh through x/oauth2: %v", err)
	}
	sv.Secrets.Add(tok.AccessToken, tok.RefreshToken)
	if tok.AccessToken == pair.AccessToken || tok.RefreshToken == pair.RefreshToken || tok.RefreshToken == "" || time.Until(tok.Expiry) <= 0 {
		t.Fatal("the token source did not get a new pair")
	}
	again, err := ts.Token()
	if err != nil || again.AccessToken != tok.AccessToken {
		t.Fatalf("a valid token was refreshed again (%v)", err)
	}
	resp, err = oauth2.NewClient(ctx, ts).Get(sv.Base + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	var me meAnswer
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || me.Username != name || me.AuthMethod != "bearer" {
		t.Fatalf("/api/me through the refreshing client: %d %+v", resp.StatusCode, me)
	}
	// The first refresh token is spent: reusing it kills the pair the source holds.
	stale := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: pair.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
	_, err = stale.Token()
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
		t.Fatalf("reusing a spent refresh token through x/oauth2: %v, want invalid_grant", err)
	}
	Expect(t, sv.Do(t, Req{Method: "GET", Path: "/api/me", Bearer: tok.AccessToken}), http.StatusUnauthorized, "invalid_token")
}
