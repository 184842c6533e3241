package authgin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

func post(path, body string) *http.Request {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", rec.Header()["Set-Cookie"])
	return nil
}

// The suite covers the routes' answers; these cases cover what it cannot: a presented
// session id, CSRF on the logout route, and the cookie bytes net/http writes.
func TestSessionHandlers(t *testing.T) {
	g := newGuard(t)
	tokenFor(t, g, "bob")
	r := gin.New()
	authgin.Mount(r, g)
	login := func(pass string) *httptest.ResponseRecorder {
		req := post("/session/login", `{"username":"bob","password":"`+pass+`"}`)
		req.AddCookie(&http.Cookie{Name: "__Host-session", Value: "attacker-chosen-id-aaaaaaaaaaaaaaaaaaaaaaaa"})
		return serve(r, req)
	}

	t.Run("a wrong password is a 401 invalid_credentials and sets no cookie", func(t *testing.T) {
		rec := login("wrong-password")
		if rec.Code != 401 || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("login: %d %v", rec.Code, rec.Result().Cookies())
		}
		checkErrorResponse(t, rec, authframe.ErrInvalidCredentials)
	})

	rec := login("password123")
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("login: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	sc := sessionCookie(t, rec)
	if sc.Value == "attacker-chosen-id-aaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Fatal("the session id the client presented was adopted")
	}
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.CSRF == "" {
		t.Fatalf("login body %s", rec.Body)
	}
	logout := func(csrf string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/session/logout", nil)
		req.AddCookie(&http.Cookie{Name: sc.Name, Value: sc.Value})
		if csrf != "" {
			req.Header.Set(endpoint.CSRFHeader, csrf)
		}
		return serve(r, req)
	}

	t.Run("logout without the CSRF token is refused and keeps the session", func(t *testing.T) {
		rec := logout("")
		if rec.Code != 403 || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("logout: %d %v", rec.Code, rec.Result().Cookies())
		}
		checkErrorResponse(t, rec, authframe.ErrCSRF)
		req := httptest.NewRequest("GET", "/sessions", nil)
		req.AddCookie(&http.Cookie{Name: sc.Name, Value: sc.Value})
		if rec := serve(r, req); rec.Code != 200 {
			t.Fatalf("the session is gone after a refused logout: %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("logout clears the cookie exactly as the Guard writes it", func(t *testing.T) {
		rec := logout(body.CSRF)
		if rec.Code != 204 || rec.Body.Len() != 0 || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("logout: %d %v %q", rec.Code, rec.Header(), rec.Body)
		}
		if got, want := rec.Header().Get("Set-Cookie"), g.ClearSessionCookie().String(); got != want {
			t.Fatalf("Set-Cookie %q, want %q", got, want)
		}
		if rec := logout(body.CSRF); rec.Code != 401 {
			t.Fatalf("the destroyed session still works: %d", rec.Code)
		}
	})
}

// readCounter records whether the handler read the body at all.
type readCounter struct {
	r    io.Reader
	read int
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func TestHandlerBodies(t *testing.T) {
	g := newGuard(t)
	tokenFor(t, g, "carol")
	r := gin.New()
	authgin.Mount(r, g, authgin.WithBodyLimit(64))

	t.Run("an encoded body is refused unread, with Accept-Encoding: identity", func(t *testing.T) {
		body := &readCounter{r: strings.NewReader(`{"username":"carol","password":"password123"}`)}
		req := httptest.NewRequest("POST", "/token", body)
		req.Header.Add("Content-Encoding", "identity")
		req.Header.Add("Content-Encoding", "gzip")
		rec := serve(r, req)
		if rec.Code != http.StatusUnsupportedMediaType || rec.Header().Get("Accept-Encoding") != "identity" {
			t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		checkErrorResponse(t, rec, endpoint.ErrEncodedBody)
		if body.read != 0 {
			t.Fatalf("%d bytes of the encoded body were read", body.read)
		}
	})

	t.Run("WithBodyLimit sets the 413 threshold", func(t *testing.T) {
		fits := `{"username":"carol","password":"password123"}`
		if rec := serve(r, post("/token", fits)); rec.Code != 200 {
			t.Fatalf("a %d-byte body: %d %s", len(fits), rec.Code, rec.Body)
		}
		rec := serve(r, post("/token", `{"username":"carol","password":"password123","padding":"`+strings.Repeat("x", 64)+`"}`))
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("a body over the limit: %d %s", rec.Code, rec.Body)
		}
		checkErrorResponse(t, rec, authframe.ErrPayloadTooLarge)
	})
}

func TestMountOptions(t *testing.T) {
	t.Run("without WithRegistration there is no /register", func(t *testing.T) {
		r := gin.New()
		authgin.Mount(r.Group("/auth"), newGuard(t))
		if rec := serve(r, post("/auth/register", `{"username":"mallory","password":"password123"}`)); rec.Code != 404 {
			t.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("WithRegistration gives new users its roles", func(t *testing.T) {
		g := newGuard(t)
		r := gin.New()
		authgin.Mount(r.Group("/auth"), g, authgin.WithRegistration("user", "beta"))
		if rec := serve(r, post("/auth/register", `{"username":"nina","password":"password123"}`)); rec.Code != 201 {
			t.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
		u, err := g.VerifyPassword(context.Background(), authframe.ClientInfo{}, "nina", "password123")
		if err != nil || !slices.Equal(u.Roles, []string{"user", "beta"}) {
			t.Fatalf("user %+v, %v", u, err)
		}
	})

	t.Run("WithErrorHandler answers for the handlers and the middleware, and the chain stops", func(t *testing.T) {
		g := newGuard(t)
		var seen []authframe.Code
		lazy := func(c *gin.Context, err error) {
			// Answers, but forgets c.Abort().
			seen = append(seen, endpoint.AsError(err).Code.Wire())
			c.Status(http.StatusTeapot)
		}
		r := gin.New()
		unaborted := false
		api := r.Group("/auth", func(c *gin.Context) { c.Next(); unaborted = unaborted || !c.IsAborted() })
		authgin.Mount(api, g, authgin.WithErrorHandler(lazy))
		for _, req := range []*http.Request{
			post("/auth/token", `{"username":"nobody","password":"password123"}`),
			httptest.NewRequest("GET", "/auth/sessions", nil),
		} {
			if rec := serve(r, req); rec.Code != http.StatusTeapot {
				t.Fatalf("%s: %d %s", req.URL.Path, rec.Code, rec.Body)
			}
		}
		if !slices.Equal(seen, []authframe.Code{authframe.ErrInvalidCredentials, authframe.ErrInvalidToken}) || unaborted {
			t.Fatalf("error handler saw %v; a chain was left unaborted: %v", seen, unaborted)
		}
	})

	t.Run("WithSkipper does not open the routes that need a caller", func(t *testing.T) {
		r := gin.New()
		authgin.Mount(r, newGuard(t), authgin.WithSkipper(func(*gin.Context) bool { return true }))
		// Middleware's answer, not the one the handler gives a request without a caller.
		rec := serve(r, httptest.NewRequest("POST", "/session/logout", nil))
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
			t.Fatalf("session logout: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		checkErrorResponse(t, rec, authframe.ErrUnauthenticated)
	})
}

// The methods serve the same routes under paths and middleware of the app's choosing.
func TestHandlersRoutedByHand(t *testing.T) {
	g := newGuard(t)
	tok := tokenFor(t, g, "dora")
	h := authgin.NewHandlers(g)
	r := gin.New()
	r.POST("/login", h.Token)
	r.GET("/keys", h.JWKS)
	r.POST("/bye", h.SessionLogout)
	me := r.Group("/me", authgin.Middleware(g))
	me.GET("/devices", h.Sessions)
	me.DELETE("/devices/:id", h.DeleteSession)

	form := httptest.NewRequest("POST", "/login", strings.NewReader("username=dora&password=password123"))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rec := serve(r, form); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"access_token"`) {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	rec := serve(r, httptest.NewRequest("GET", "/keys", nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=300" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("jwks: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// Without Middleware in front there is no session to end.
	rec = serve(r, httptest.NewRequest("POST", "/bye", nil))
	if rec.Code != 401 {
		t.Fatalf("session logout without a caller: %d %s", rec.Code, rec.Body)
	}
	checkErrorResponse(t, rec, authframe.ErrSessionInvalid)

	req := httptest.NewRequest("GET", "/me/devices", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec = serve(r, req)
	var list struct {
		Sessions []struct{ ID string } `json:"sessions"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Sessions) != 2 {
		t.Fatalf("sessions: %d %s", rec.Code, rec.Body)
	}
	req = httptest.NewRequest("DELETE", "/me/devices/"+list.Sessions[0].ID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if rec := serve(r, req); rec.Code != 204 {
		t.Fatalf("delete by :id: %d %s", rec.Code, rec.Body)
	}
}
