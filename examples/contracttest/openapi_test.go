package contracttest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authframe/authframe/examples"
)

// The document loads and validates as OpenAPI 3.1.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	spec, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Doc.IsOpenAPI31OrLater() {
		t.Fatalf("examples/openapi.yaml is OpenAPI %s, want 3.1", spec.Doc.OpenAPI)
	}
}

// Every app serves the embedded document at GET /openapi.yaml as application/yaml (the
// request goes through the validating transport like every other of the suite).
func TestOpenAPIServedByEveryApp(t *testing.T) {
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			tg := Target{Base: Start(t, fw).Base, CookieName: "__Host-session", Secrets: &Secrets{}}
			r := tg.Do(t, Req{Method: "GET", Path: "/openapi.yaml"})
			Expect(t, r, http.StatusOK, "")
			if ct := r.Header.Get("Content-Type"); ct != "application/yaml" {
				t.Fatalf("Content-Type %q, want application/yaml", ct)
			}
			if !bytes.Equal(r.Body, examples.OpenAPI) {
				t.Fatal("the served document differs from examples/openapi.yaml")
			}
		})
	}
}

// The validating transport refuses what the document does not allow, naming the method,
// path, status and the schema error; and lets through what it allows.
func TestValidatingTransportNamesTheDisagreement(t *testing.T) {
	answer := func(status int, contentType, body string, hdr ...string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
	}
	errBody := `{"error":{"code":"invalid_token","message":"no"},"request_id":"r1"}`
	errHdr := []string{"Cache-Control", "no-store", "X-Request-ID", "r1"}
	cases := []struct {
		name       string
		srv        *httptest.Server
		method     string
		path, body string
		want       []string // substrings of the error; none: no error
	}{
		{"a conforming answer passes", answer(200, "application/json", `{"user_id":"u","username":"x","roles":[],"permissions":[],"auth_method":"bearer"}`), "GET", "/api/me", "", nil},
		{"a body missing a required field", answer(200, "application/json", `{"user_id":"u"}`), "GET", "/api/me", "", []string{"GET /api/me answered 200", "username"}},
		{"an undocumented status", answer(418, "application/json", errBody, errHdr...), "GET", "/api/me", "", []string{"GET /api/me answered 418", "status is not supported"}},
		{"an error without its shape", answer(401, "application/json", `{"error":"invalid_token"}`, errHdr...), "GET", "/api/me", "", []string{"GET /api/me answered 401", "doesn't match schema"}},
		{"an error without Cache-Control", answer(401, "application/json", errBody, "X-Request-ID", "r1"), "GET", "/api/me", "", []string{"answered 401", "Cache-Control"}},
		{"a 429 without Retry-After", answer(429, "application/json", strings.Replace(errBody, "invalid_token", "rate_limited", 1), errHdr...), "POST", "/auth/token", `{"username":"abc","password":"password1"}`, []string{"POST /auth/token answered 429", "Retry-After"}},
		{"an invalid request that was accepted", answer(201, "application/json", `{"user_id":"u"}`, "Cache-Control", "no-store"), "POST", "/auth/register", `{"username":"a/b","password":"password1"}`, []string{"POST /auth/register answered 201", "did not refuse it"}},
		{"an invalid request that was refused", answer(400, "application/json", strings.Replace(errBody, "invalid_token", "invalid_request", 1), errHdr...), "POST", "/auth/register", `{"username":"a/b","password":"password1"}`, nil},
		{"an unknown route answered 404 in the error shape", answer(404, "application/json", strings.Replace(errBody, "invalid_token", "invalid_request", 1), errHdr...), "GET", "/no/such/route", "", nil},
		{"an unknown route answered 200", answer(200, "text/plain", "hello"), "GET", "/no/such/route", "", []string{"GET /no/such/route answered 200", "404 or 405"}},
		{"a wrong method answered in plain text", answer(405, "text/plain", "Method Not Allowed"), "PUT", "/api/me", "", []string{"PUT /api/me answered 405", "Error shape"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer c.srv.Close()
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, c.srv.URL+c.path, body)
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := (&http.Client{Transport: ValidatingTransport{}}).Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error, got none")
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
