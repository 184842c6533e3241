package authecho_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	authecho "github.com/authframe/authframe/adapters/echo"
	authframe "github.com/authframe/authframe/core"
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

	tok, _ := guard.SignAccessToken("user-1", "alice", []string{"staff"}, "")
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

func ExampleLogin() {
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()
	if _, err := guard.Register(context.Background(), "alice", "correct horse battery"); err != nil {
		panic(err)
	}

	e := echo.New()
	e.Use(authecho.RequestID())
	e.POST("/session/login", func(c echo.Context) error {
		grant, err := authecho.VerifyPassword(c, guard, c.FormValue("username"), c.FormValue("password"))
		if err != nil {
			return authecho.WriteError(c, err)
		}
		return c.JSON(http.StatusOK, map[string]string{"csrf_token": grant.CSRFToken})
	})
	// Unsafe requests on a session need the CSRF token; Middleware checks it.
	e.POST("/session/logout", func(c echo.Context) error {
		if err := authecho.Logout(c, guard); err != nil {
			return authecho.WriteError(c, err)
		}
		return c.NoContent(http.StatusNoContent)
	}, authecho.Middleware(guard))

	req := httptest.NewRequest("POST", "/session/login", strings.NewReader("username=alice&password=correct+horse+battery"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	cookie := rec.Result().Cookies()[0]
	fmt.Println(rec.Code, cookie.Name, cookie.HttpOnly, cookie.Secure)
	// Output:
	// 200 __Host-session true true
}
