package endpoint_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/oauth"
)

// formReq is a request view with the headers an OAuth request carries.
type formReq struct {
	auth, contentType string
}

func (r formReq) Header(n string) string {
	switch strings.ToLower(n) {
	case "authorization":
		return r.auth
	case "content-type":
		return r.contentType
	}
	return ""
}
func (formReq) Cookie(string) string { return "" }
func (formReq) Query(string) string  { return "" }
func (formReq) Method() string       { return "POST" }
func (formReq) Path() string         { return "/oauth/token" }
func (formReq) RemoteAddr() string   { return "192.0.2.10:1234" }

const formType = "application/x-www-form-urlencoded"

func oauthGuard(t *testing.T) (*authframe.Guard, oauth.Client, string) {
	t.Helper()
	g, err := authframe.New(authframe.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")),
		authframe.WithIssuer("https://issuer.example"), authframe.WithAudience("api"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	c, secret, err := oauth.CreateClient(context.Background(), g, "svc", []string{"read:reports", "write:*"})
	if err != nil {
		t.Fatal(err)
	}
	return g, c, secret
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestOAuthTokenEndpoint(t *testing.T) {
	g, c, secret := oauthGuard(t)
	h := endpoint.NewHandlers(g, endpoint.Config{})
	post := func(r formReq, body string) (endpoint.Output, map[string]any) {
		out := h.OAuthToken(endpoint.Input{Ctx: context.Background(), Request: r, Body: []byte(body)})
		if out.Err != nil {
			t.Fatalf("OAuth answers are rendered by the handler, got Err %v", out.Err)
		}
		if out.CacheControl != "no-store" {
			t.Errorf("%s: Cache-Control %q", body, out.CacheControl)
		}
		var m map[string]any
		if len(out.Body) > 0 {
			if err := json.Unmarshal(out.Body, &m); err != nil {
				t.Fatal(err)
			}
		}
		return out, m
	}
	// client_secret_basic, with the id and secret form-urlencoded inside (RFC 6749 §2.3.1):
	// an escaped character that needs none decodes all the same.
	escapedID := strings.Replace(url.QueryEscape(c.ID), "_", "%5F", 1)
	escaped := "Basic " + base64.StdEncoding.EncodeToString([]byte(escapedID+":"+url.QueryEscape(secret)))
	for name, r := range map[string]formReq{"basic": {auth: basic(c.ID, secret), contentType: formType}, "escaped basic": {auth: escaped, contentType: formType}} {
		out, m := post(r, "grant_type=client_credentials&scope=read%3Areports")
		if out.Status != http.StatusOK || m["scope"] != "read:reports" || m["token_type"] != "Bearer" || m["refresh_token"] != nil {
			t.Fatalf("%s: %d %v", name, out.Status, m)
		}
	}
	// client_secret_post, all scopes by default, a wildcard granting a narrower one.
	out, m := post(formReq{contentType: formType}, "grant_type=client_credentials&client_id="+c.ID+"&client_secret="+url.QueryEscape(secret))
	if out.Status != 200 || m["scope"] != "read:reports write:*" {
		t.Fatalf("post: %d %v", out.Status, m)
	}
	out, m = post(formReq{auth: basic(c.ID, secret), contentType: formType}, "grant_type=client_credentials&scope=write%3Anotes")
	if out.Status != 200 || m["scope"] != "write:notes" {
		t.Fatalf("a wildcard scope: %d %v", out.Status, m)
	}
	for name, tc := range map[string]struct {
		r      formReq
		body   string
		status int
		code   string
	}{
		"both methods":        {formReq{auth: basic(c.ID, secret), contentType: formType}, "grant_type=client_credentials&client_id=" + c.ID + "&client_secret=x", 400, "invalid_request"},
		"no client":           {formReq{contentType: formType}, "grant_type=client_credentials", 401, "invalid_client"},
		"wrong secret":        {formReq{auth: basic(c.ID, "wrong"), contentType: formType}, "grant_type=client_credentials", 401, "invalid_client"},
		"unknown client":      {formReq{auth: basic("cl_nobody", secret), contentType: formType}, "grant_type=client_credentials", 401, "invalid_client"},
		"id without secret":   {formReq{contentType: formType}, "grant_type=client_credentials&client_id=" + c.ID, 401, "invalid_client"},
		"scope not held":      {formReq{auth: basic(c.ID, secret), contentType: formType}, "grant_type=client_credentials&scope=delete%3Aall", 400, "invalid_scope"},
		"bad grant":           {formReq{auth: basic(c.ID, secret), contentType: formType}, "grant_type=password", 400, "unsupported_grant_type"},
		"no grant":            {formReq{auth: basic(c.ID, secret), contentType: formType}, "scope=x", 400, "invalid_request"},
		"repeated parameter":  {formReq{auth: basic(c.ID, secret), contentType: formType}, "grant_type=client_credentials&grant_type=client_credentials", 400, "invalid_request"},
		"JSON body":           {formReq{auth: basic(c.ID, secret), contentType: "application/json"}, `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		"malformed basic":     {formReq{auth: "Basic !!!", contentType: formType}, "grant_type=client_credentials", 401, "invalid_client"},
		"bad refresh token":   {formReq{contentType: formType}, "grant_type=refresh_token&refresh_token=abc.def", 400, "invalid_grant"},
		"refresh without one": {formReq{contentType: formType}, "grant_type=refresh_token", 400, "invalid_request"},
	} {
		out, m := post(tc.r, tc.body)
		if out.Status != tc.status || m["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", name, out.Status, m, tc.status, tc.code)
		}
		basicTried := strings.HasPrefix(tc.r.auth, "Basic")
		if challenge := out.Header.Get("WWW-Authenticate"); tc.status == 401 && basicTried != (challenge == `Basic realm="authframe"`) {
			t.Errorf("%s: WWW-Authenticate %q", name, challenge)
		}
	}
}

func TestIntrospectionNeedsAClientAndSaysNoMore(t *testing.T) {
	g, c, secret := oauthGuard(t)
	h := endpoint.NewHandlers(g, endpoint.Config{})
	in := func(auth, body string) endpoint.Output {
		return h.Introspect(endpoint.Input{Ctx: context.Background(), Request: formReq{auth: auth, contentType: formType}, Body: []byte(body)})
	}
	if out := in("", "token=x"); out.Status != 401 {
		t.Fatalf("without a client: %d %s", out.Status, out.Body)
	}
	if out := in(basic(c.ID, secret), "token=garbage"); out.Status != 200 || string(out.Body) != `{"active":false}` {
		t.Fatalf("garbage: %d %s", out.Status, out.Body)
	}
	if out := h.RevokeToken(endpoint.Input{Ctx: context.Background(), Request: formReq{contentType: formType}, Body: []byte("token=unknown")}); out.Status != 200 || out.CacheControl != "no-store" {
		t.Fatalf("revoking an unknown token: %d %s", out.Status, out.Body)
	}
	if out := h.RevokeToken(endpoint.Input{Ctx: context.Background(), Request: formReq{auth: basic(c.ID, "wrong"), contentType: formType}, Body: []byte("token=unknown")}); out.Status != 401 {
		t.Fatalf("revoking with a wrong client: %d %s", out.Status, out.Body)
	}
}
