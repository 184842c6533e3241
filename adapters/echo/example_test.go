package authecho_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	authecho "github.com/authframe/authframe/adapters/echo"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
)

func ExampleMiddleware() {
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	e := echo.New()
	e.Use(authecho.Middleware(guard)) // the one line
	e.GET("/api/me", func(c echo.Context) error {
		p, _ := authecho.PrincipalFrom(c)
		return c.String(http.StatusOK, "hello "+p.Username+"\n")
	})
	e.GET("/api/admin", func(c echo.Context) error {
		return c.String(http.StatusOK, "welcome, admin\n")
	}, authecho.Require("admin"))

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/api/me", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Println(rec.Body.String())

	tok := exampleToken(guard, "alice")
	for _, path := range []string{"/api/me", "/api/admin"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 401 Bearer realm="authframe"
	// {"error":{"code":"invalid_token","message":"authentication required"}}
	// 200 hello alice
	// 403 {"error":{"code":"forbidden","message":"insufficient permissions"}}
}

// exampleToken registers a user and logs it in, as POST /token does.
func exampleToken(guard *authframe.Guard, name string) string {
	ctx := context.Background()
	if _, err := guard.Register(ctx, authframe.ClientInfo{}, name, "correct horse battery"); err != nil {
		panic(err)
	}
	u, err := guard.VerifyPassword(ctx, authframe.ClientInfo{}, name, "correct horse battery")
	if err != nil {
		panic(err)
	}
	pair, err := guard.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		panic(err)
	}
	return pair.AccessToken
}

// With WithHTTPError(true) failures reach the Echo instance's HTTPErrorHandler as
// *echo.HTTPError, with the *authframe.Error inside.
func ExampleWithHTTPError() {
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		// errors.Is and errors.As see the *authframe.Error through the *echo.HTTPError.
		if errors.Is(err, authframe.ErrUnauthenticated) {
			_ = c.Redirect(http.StatusSeeOther, "/login")
			return
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.Use(authecho.Middleware(guard, authecho.WithHTTPError(true)))
	e.GET("/dashboard", func(c echo.Context) error { return c.String(http.StatusOK, "dashboard") })

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/dashboard", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output:
	// 303 /login
}

// Mount serves the standard routes on a group: token login, refresh and logout, cookie
// sessions, the caller's session list and the JWKS (and sign-up, with WithRegistration).
func ExampleMount() {
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	e := echo.New()
	e.Use(authecho.RequestID())
	authecho.Mount(e.Group("/auth"), guard, authecho.WithRegistration())
	e.GET("/api/me", func(c echo.Context) error {
		p, _ := authecho.PrincipalFrom(c)
		return c.String(http.StatusOK, "hello "+p.Username)
	}, authecho.Middleware(guard))

	do := func(method, path, body, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	creds := `{"username":"alice","password":"correct horse battery"}`
	fmt.Println(do("POST", "/auth/register", creds, "").Code)
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(do("POST", "/auth/token", creds, "").Body.Bytes(), &pair)
	me := do("GET", "/api/me", "", pair.AccessToken)
	fmt.Println(me.Code, me.Body.String())
	fmt.Println(do("POST", "/auth/logout", "", pair.AccessToken).Code)
	fmt.Println(do("GET", "/api/me", "", pair.AccessToken).Code)
	// Output:
	// 201
	// 200 hello alice
	// 204
	// 401
}

// A handler unit-tested without a token or a Guard: its request carries the Principal that
// Middleware would have put there.
func ExamplePrincipalFrom() {
	me := func(c echo.Context) error {
		p, ok := authecho.PrincipalFrom(c)
		if !ok {
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.String(http.StatusOK, fmt.Sprintf("hello %s, admin: %v", p.Username, p.HasRole("admin")))
	}

	req := authtest.WithPrincipal(httptest.NewRequest("GET", "/api/me", nil),
		&authframe.Principal{UserID: "u-1", Username: "ada", Roles: []string{"admin"}})
	rec := httptest.NewRecorder()
	if err := me(echo.New().NewContext(req, rec)); err != nil {
		panic(err)
	}
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// 200 hello ada, admin: true
}
