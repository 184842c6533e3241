package authecho_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	authecho "github.com/authframe/authframe/adapters/echo"
	authframe "github.com/authframe/authframe/core"
)

func serve(e *echo.Echo, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// TestMountOnEchoWithoutRegistration mounts on the *echo.Echo itself: the routes sit at
// the root, and without WithRegistration there is no sign-up route to find.
func TestMountOnEchoWithoutRegistration(t *testing.T) {
	g := newGuard(t)
	tokenFor(t, g, "hana")
	e := echo.New()
	e.Use(authecho.RequestID())
	authecho.Mount(e, g)
	creds := `{"username":"hana","password":"password123"}`
	if rec := serve(e, "POST", "/register", `{"username":"newcomer","password":"password123"}`, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("POST /register without WithRegistration: %d %s", rec.Code, rec.Body)
	}
	rec := serve(e, "POST", "/token", creds, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"access_token"`) {
		t.Fatalf("POST /token: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(e, "GET", "/jwks.json", "", nil); rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET /jwks.json: %d %v", rec.Code, rec.Header())
	}
}

// TestHandlersOnRoutesOfTheirOwn wires single handlers where an app wants them, with the
// body limit and registration roles given to NewHandlers.
func TestHandlersOnRoutesOfTheirOwn(t *testing.T) {
	g := newGuard(t)
	h := authecho.NewHandlers(g, authecho.WithRegistration("admin"), authecho.WithBodyLimit(128))
	e := echo.New()
	e.Use(authecho.RequestID())
	e.POST("/signup", h.Register)
	e.POST("/login", h.Token)
	e.GET("/admin", whoami, authecho.Middleware(g), authecho.Require("admin"))
	e.DELETE("/devices/:id", h.DeleteSession, authecho.Middleware(g))

	creds := `{"username":"ivan","password":"password123"}`
	if rec := serve(e, "POST", "/signup", creds, nil); rec.Code != http.StatusCreated {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	rec := serve(e, "POST", "/login", creds, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	tok := strings.Split(strings.Split(rec.Body.String(), `"access_token":"`)[1], `"`)[0]
	bearer := map[string]string{"Authorization": "Bearer " + tok}
	if rec := serve(e, "GET", "/admin", "", bearer); rec.Code != http.StatusOK || rec.Body.String() != "ivan" {
		t.Fatalf("WithRegistration's role: %d %s", rec.Code, rec.Body)
	}
	rec = serve(e, "DELETE", "/devices/no-such-session", "", bearer)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("DELETE an unknown session: %d %s", rec.Code, rec.Body)
	}
	assertContractError(t, rec, authframe.ErrInvalidRequest)

	big := `{"username":"ivan","password":"` + strings.Repeat("p", 128) + `"}`
	rec = serve(e, "POST", "/login", big, nil)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over WithBodyLimit: %d %s", rec.Code, rec.Body)
	}
	assertContractError(t, rec, authframe.ErrPayloadTooLarge)
}

// unreadable fails the test when the handler reads the body.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the body of an encoded request was read")
	return 0, errors.New("must not be read")
}

// TestEncodedBodiesAreRefusedUnread defends the body limit: a decompressed body could
// inflate to gigabytes before the limit was measured, so an encoded one is refused before
// a byte of it is read, and the 415 names the coding the server takes.
func TestEncodedBodiesAreRefusedUnread(t *testing.T) {
	g := newGuard(t)
	e := echo.New()
	e.Use(authecho.RequestID())
	authecho.Mount(e.Group("/auth"), g, authecho.WithRegistration())
	for _, path := range []string{"/auth/token", "/auth/refresh", "/auth/register", "/auth/session/login"} {
		for _, enc := range []string{"gzip", "identity, br"} {
			req := httptest.NewRequest("POST", path, unreadable{t})
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", enc)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnsupportedMediaType || rec.Header().Get("Accept-Encoding") != "identity" {
				t.Fatalf("%s with Content-Encoding %q: %d %v", path, enc, rec.Code, rec.Header())
			}
			assertContractError(t, rec, authframe.ErrInvalidRequest)
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestEncodedBodiesAreRefusedBehindEchosDecompress: echo's Decompress middleware swaps the
// body for a gzip reader but keeps the Content-Encoding header, so the handlers still
// refuse the request, without reading the inflated stream (Decompress itself reads only
// the gzip header, buffered).
func TestEncodedBodiesAreRefusedBehindEchosDecompress(t *testing.T) {
	g := newGuard(t)
	e := echo.New()
	e.Use(authecho.RequestID(), middleware.Decompress())
	authecho.Mount(e.Group("/auth"), g)
	// Incompressible, so that reading the inflated stream up to the body limit would
	// consume as much of the raw body.
	plain := make([]byte, 256<<10)
	rand.NewChaCha8([32]byte{1}).Read(plain)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	raw := &countingReader{r: &gz}
	req := httptest.NewRequest("POST", "/auth/token", raw)
	req.Header.Set("Content-Encoding", "gzip")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("%d %s, want 415", rec.Code, rec.Body)
	}
	assertContractError(t, rec, authframe.ErrInvalidRequest)
	if raw.n > 8<<10 {
		t.Fatalf("%d bytes of the body were read: the inflated stream was consumed", raw.n)
	}
}

// TestMountAnswersThroughTheErrorOptions: the handlers' failures and those of the
// Middleware that Mount puts in front take the error handler, and WithSkipper, which
// would let requests reach logout unauthenticated, is left out.
func TestMountAnswersThroughTheErrorOptions(t *testing.T) {
	g := newGuard(t)
	tokenFor(t, g, "june")
	cookie, _ := session(t, g, "june")
	var seen []error
	e := echo.New()
	e.Use(authecho.RequestID())
	authecho.Mount(e.Group("/auth"), g,
		authecho.WithSkipper(func(echo.Context) bool { return true }),
		authecho.WithErrorHandler(func(c echo.Context, err error) error {
			seen = append(seen, err)
			return c.String(499, "handled")
		}))
	authecho.Mount(e.Group("/http-error"), g, authecho.WithHTTPError(true))

	for _, tc := range []struct {
		name, path, body string
		cookie           bool
		want             authframe.Code
	}{
		{name: "a wrong password", path: "/auth/token", body: `{"username":"june","password":"wrong-password"}`, want: authframe.ErrInvalidCredentials},
		{name: "a malformed body", path: "/auth/refresh", body: `{"refresh_token":`, want: authframe.ErrInvalidRequest},
		{name: "a logout without CSRF, which a skipper would have let through", path: "/auth/session/logout", cookie: true, want: authframe.ErrCSRF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			req := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
			if tc.cookie {
				req.AddCookie(&http.Cookie{Name: "__Host-session", Value: cookie})
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != 499 || len(seen) != 1 || !errors.Is(seen[0], tc.want) {
				t.Fatalf("%d %s, errors %v; want the error handler to see %v", rec.Code, rec.Body, seen, tc.want)
			}
		})
	}

	var he *echo.HTTPError
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		errors.As(err, &he)
		e.DefaultHTTPErrorHandler(err, c)
	}
	rec := serve(e, "POST", "/http-error/token", `{"username":"june","password":"wrong-password"}`, nil)
	if he == nil || !errors.Is(he, authframe.ErrInvalidCredentials) || rec.Code != http.StatusUnauthorized {
		t.Fatalf("WithHTTPError: %d %s, %v", rec.Code, rec.Body, he)
	}
	assertContractError(t, rec, authframe.ErrInvalidCredentials)
}
