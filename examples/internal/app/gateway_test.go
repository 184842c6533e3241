package app

import (
	"reflect"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadGatewayConfig(t *testing.T) {
	cfg, err := LoadGatewayConfig(env(map[string]string{
		"AUTHFRAME_UPSTREAM":        "http://10.0.0.7:9000/base",
		"AUTHFRAME_GATEWAY_PUBLIC":  "/public/, /docs ,",
		"AUTHFRAME_GATEWAY_REQUIRE": "/api/=user, /api/reports/=read:reports,/admin=admin",
	}))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gateway
	if g.Upstream.String() != "http://10.0.0.7:9000/base" {
		t.Fatalf("Upstream %v", g.Upstream)
	}
	if !reflect.DeepEqual(g.Public, []string{"/public/", "/docs"}) {
		t.Fatalf("Public %q", g.Public)
	}
	want := []GatewayRule{{"/api/reports/", "read:reports"}, {"/admin", "admin"}, {"/api/", "user"}}
	if !reflect.DeepEqual(g.Require, want) {
		t.Fatalf("Require %v, want %v (longest prefix first)", g.Require, want)
	}

	cfg, err = LoadGatewayConfig(env(map[string]string{"AUTHFRAME_UPSTREAM": "https://svc.internal"}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Gateway.Public, []string{"/public/"}) || cfg.Gateway.Require != nil {
		t.Fatalf("defaults: Public %q, Require %v", cfg.Gateway.Public, cfg.Gateway.Require)
	}

	cfg, err = LoadGatewayConfig(env(map[string]string{"AUTHFRAME_UPSTREAM": "https://svc.internal", "AUTHFRAME_GATEWAY_PUBLIC": ","}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Gateway.Public != nil {
		t.Fatalf("a lone comma: Public %q, want none", cfg.Gateway.Public)
	}
}

func TestBadGatewayConfigurationNamesTheVariable(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"no upstream", nil, "AUTHFRAME_UPSTREAM"},
		{"a relative upstream", map[string]string{"AUTHFRAME_UPSTREAM": "svc:9000"}, "AUTHFRAME_UPSTREAM"},
		{"an upstream that is not http", map[string]string{"AUTHFRAME_UPSTREAM": "ftp://svc"}, "AUTHFRAME_UPSTREAM"},
		{"an upstream with a password", map[string]string{"AUTHFRAME_UPSTREAM": "http://u:p@svc"}, "AUTHFRAME_UPSTREAM"},
		{"a public prefix without a slash", map[string]string{"AUTHFRAME_GATEWAY_PUBLIC": "public/"}, "AUTHFRAME_GATEWAY_PUBLIC"},
		{"a public prefix with a dot segment", map[string]string{"AUTHFRAME_GATEWAY_PUBLIC": "/public/../x"}, "AUTHFRAME_GATEWAY_PUBLIC"},
		{"a public prefix with a double slash", map[string]string{"AUTHFRAME_GATEWAY_PUBLIC": "//public/"}, "AUTHFRAME_GATEWAY_PUBLIC"},
		{"a rule without =", map[string]string{"AUTHFRAME_GATEWAY_REQUIRE": "/admin"}, "AUTHFRAME_GATEWAY_REQUIRE"},
		{"a rule without a requirement", map[string]string{"AUTHFRAME_GATEWAY_REQUIRE": "/admin="}, "AUTHFRAME_GATEWAY_REQUIRE"},
		{"a rule with a relative prefix", map[string]string{"AUTHFRAME_GATEWAY_REQUIRE": "admin=admin"}, "AUTHFRAME_GATEWAY_REQUIRE"},
		{"a permission that is not action:resource", map[string]string{"AUTHFRAME_GATEWAY_REQUIRE": "/r=read:a:b"}, "AUTHFRAME_GATEWAY_REQUIRE"},
		{"a permission without an action", map[string]string{"AUTHFRAME_GATEWAY_REQUIRE": "/r=:reports"}, "AUTHFRAME_GATEWAY_REQUIRE"},
		{"a prefix given twice", map[string]string{"AUTHFRAME_GATEWAY_REQUIRE": "/a=x,/a=y"}, "AUTHFRAME_GATEWAY_REQUIRE"},
		{"a rule on a public path", map[string]string{"AUTHFRAME_GATEWAY_REQUIRE": "/public/admin/=admin"}, "AUTHFRAME_GATEWAY_REQUIRE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{"AUTHFRAME_UPSTREAM": "http://127.0.0.1:9000"}
			for k, v := range c.vars {
				vars[k] = v
			}
			if c.vars == nil {
				delete(vars, "AUTHFRAME_UPSTREAM")
			}
			_, err := LoadGatewayConfig(env(vars))
			if err == nil || !strings.HasPrefix(err.Error(), c.want+":") {
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
		})
	}
}

// TestTheAppsIgnoreTheGatewayVariables: the four apps load with LoadConfig, which neither
// requires AUTHFRAME_UPSTREAM nor reads the gateway's variables, however malformed.
func TestTheAppsIgnoreTheGatewayVariables(t *testing.T) {
	cfg, err := LoadConfig(env(map[string]string{
		"AUTHFRAME_UPSTREAM":        "not a URL",
		"AUTHFRAME_GATEWAY_PUBLIC":  "nonsense",
		"AUTHFRAME_GATEWAY_REQUIRE": "nonsense",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Gateway, GatewayConfig{}) {
		t.Fatalf("LoadConfig filled Gateway: %+v", cfg.Gateway)
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "/",
		"/":                "/",
		"/a/b":             "/a/b",
		"/a/b/":            "/a/b/",
		"//public/x":       "/public/x",
		"/public//x//":     "/public/x/",
		"/public/../admin": "/admin",
		"/public/./x":      "/public/x",
		"/../../etc":       "/etc",
		"/a/..":            "/",
		"/a/../":           "/",
		"a/b":              "/a/b",
	} {
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { CleanPath("/api/notes/1/") }); n != 0 {
		t.Errorf("CleanPath of a clean path allocates %v times", n)
	}
}

func TestAccess(t *testing.T) {
	g := GatewayConfig{
		Public: []string{"/public/", "/status"},
		Require: []GatewayRule{
			{"/api/notes/", "read:notes"}, {"/admin", "admin"}, {"/api/", "user"},
		},
	}
	cases := []struct {
		path        string
		public      bool
		requirement string
	}{
		{"/public/x", true, ""},
		{"/public/", true, ""},
		{"/public", false, ""},
		{"/publicity", false, ""},
		{"/status", true, ""},
		{"/status/deep", true, ""},
		{"/statusx", false, ""},
		{"/api/notes/1", false, "read:notes"},
		{"/api/notes", false, "user"},
		{"/api/x", false, "user"},
		{"/admin", false, "admin"},
		{"/admin/users", false, "admin"},
		{"/administrator", false, ""},
		{"/", false, ""},
	}
	for _, c := range cases {
		public, req := g.Access(c.path)
		if public != c.public || req != c.requirement {
			t.Errorf("Access(%q) = %v, %q; want %v, %q", c.path, public, req, c.public, c.requirement)
		}
	}
}
