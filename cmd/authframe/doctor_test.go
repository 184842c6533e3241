package main

import (
	"strings"
	"testing"
	"time"
)

// appEnv is every variable doctor reads, set to a valid configuration.
func appEnv(t *testing.T) {
	for k, v := range map[string]string{
		"ADDR": "", "AUTHFRAME_STORE": "memory", "AUTHFRAME_CACHE": "lru", "REDIS_URL": "", "DATABASE_URL": "",
		"AUTHFRAME_SECRET": "0123456789abcdef0123456789abcdef", "AUTHFRAME_KEY_FILE": "",
		"AUTHFRAME_ISSUER": "https://auth.example", "AUTHFRAME_AUDIENCE": "api",
		"AUTHFRAME_ACCESS_TTL": "", "AUTHFRAME_REFRESH_TTL": "", "AUTHFRAME_SESSION_IDLE": "", "AUTHFRAME_SESSION_ABSOLUTE": "",
		"AUTHFRAME_LOGIN_LIMIT": "", "AUTHFRAME_LOGIN_WINDOW": "", "AUTHFRAME_ADMIN_USER": "", "AUTHFRAME_ADMIN_PASSWORD": "",
		"AUTHFRAME_OIDC_ISSUER": "", "AUTHFRAME_FAIL_OPEN": "", "AUTHFRAME_INSECURE_COOKIES": "", "AUTHFRAME_PUBLIC_URL": "",
		envStoreURL: "",
	} {
		t.Setenv(k, v)
	}
}

type doctorOut struct {
	Checks []check
	OK     bool
}

func (d doctorOut) status(name string) string {
	for _, c := range d.Checks {
		if strings.HasPrefix(c.Name, name) {
			return c.Status
		}
	}
	return "absent"
}

func TestDoctorChecksTheStoreSchemaAndClock(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			appEnv(t)
			// Any other command migrates the schema; doctor then finds it current.
			cli(t, b, "", nil, "users", "list").must(t, exitOK)
			var d doctorOut
			cli(t, b, "", nil, "doctor", "-o", "json").must(t, exitOK).decode(t, &d)
			if !d.OK || d.status("store connectivity") != "ok" || d.status("clock skew") != "ok" || d.status("guard configuration") != "ok" {
				t.Fatalf("doctor: %+v", d)
			}
			want := "ok"
			if b.name == "redis" {
				want = "skip"
			}
			if d.status("schema version") != want {
				t.Fatalf("schema version: %+v", d)
			}
		})
	}
}

func TestDoctorFindsAnUnmigratedSchema(t *testing.T) {
	b := backends(t)[1]
	appEnv(t)
	var d doctorOut
	cli(t, b, "", nil, "doctor", "-o", "json").must(t, exitFailure).decode(t, &d)
	if d.OK || d.status("schema version") != "fail" {
		t.Fatalf("doctor on a fresh prefix: %+v", d)
	}
}

func TestDoctorNamesTheBadVariable(t *testing.T) {
	tests := []struct{ name, key, value, check string }{
		{"a short secret", "AUTHFRAME_SECRET", "short", "env AUTHFRAME_SECRET"},
		{"an unknown store", "AUTHFRAME_STORE", "mongo", "env AUTHFRAME_STORE"},
		{"a bad duration", "AUTHFRAME_ACCESS_TTL", "15 minutes", "env AUTHFRAME_ACCESS_TTL"},
		{"a missing key file", "AUTHFRAME_KEY_FILE", "/nonexistent/key.pem", "env AUTHFRAME_KEY_FILE"},
		{"a half admin", "AUTHFRAME_ADMIN_USER", "root", "env AUTHFRAME_ADMIN_USER"},
		{"a bad login limit", "AUTHFRAME_LOGIN_LIMIT", "0", "env AUTHFRAME_LOGIN_LIMIT"},
		{"a relative public URL", "AUTHFRAME_PUBLIC_URL", "example.com", "env AUTHFRAME_PUBLIC_URL"},
		{"fail open as a word", "AUTHFRAME_FAIL_OPEN", "yes", "env AUTHFRAME_FAIL_OPEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			appEnv(t)
			t.Setenv(tc.key, tc.value)
			var d doctorOut
			cli(t, backend{}, "", nil, "doctor", "-o", "json").must(t, exitFailure).decode(t, &d)
			if d.status(tc.check) != "fail" {
				t.Fatalf("doctor did not name %s: %+v", tc.key, d)
			}
		})
	}
	appEnv(t)
	t.Setenv("AUTHFRAME_SECRET", "")
	r := cli(t, backend{}, "", nil, "doctor").must(t, exitOK)
	if !strings.Contains(r.out, "WARN  env signing key") || !strings.Contains(r.out, "SKIP  store") {
		t.Fatalf("doctor without a key or a store:\n%s", r.out)
	}
}

func TestSkewIsMeasuredAgainstTheMidpoint(t *testing.T) {
	t0 := time.Unix(1000, 0)
	if d := skew(t0, t0.Add(2*time.Second), t0.Add(100*time.Millisecond)); d != 1950*time.Millisecond {
		t.Fatalf("skew = %s, want 1.95s", d)
	}
}
