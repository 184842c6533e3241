package authgin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
	authframe "github.com/authframe/authframe/core"
)

func ExampleMiddleware() {
	gin.SetMode(gin.ReleaseMode)
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	r := gin.New()
	r.Use(authgin.Middleware(guard)) // the one line
	r.GET("/api/me", func(c *gin.Context) {
		p, _ := authgin.PrincipalFrom(c)
		c.String(http.StatusOK, "hello %s\n", p.Username)
	})

	// Without credentials: the contract's 401.
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/api/me", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Println(rec.Body.String())

	// With a bearer token (a real app issues it with guard.IssueTokens after guard.Login).
	tok, _ := guard.SignAccessToken("u-1", "alice", nil, "")
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 401 Bearer realm="authframe"
	// {"error":{"code":"invalid_token","message":"authentication required"}}
	// 200 hello alice
}

func ExampleRequire() {
	gin.SetMode(gin.ReleaseMode)
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
		authframe.WithRolePermissions("auditor", "read:reports"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	r := gin.New()
	r.Use(authgin.Middleware(guard))
	ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	r.GET("/admin", authgin.Require("admin"), ok)                            // a role
	r.GET("/reports", authgin.RequireAny("admin", "read:reports"), ok)       // a role or a permission
	r.GET("/reports/all", authgin.Require("read:reports", "read:users"), ok) // both permissions

	tok, _ := guard.SignAccessToken("u-2", "carol", []string{"auditor"}, "")
	for _, path := range []string{"/admin", "/reports", "/reports/all"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(path, rec.Code, rec.Body.String())
	}
	// Output:
	// /admin 403 {"error":{"code":"forbidden","message":"insufficient permissions"}}
	// /reports 200 ok
	// /reports/all 403 {"error":{"code":"forbidden","message":"insufficient permissions"}}
}

func ExampleLogin() {
	gin.SetMode(gin.ReleaseMode)
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

	r := gin.New()
	r.POST("/session/login", func(c *gin.Context) {
		grant, err := authgin.VerifyPassword(c, guard, c.PostForm("username"), c.PostForm("password"))
		if err != nil {
			authgin.WriteError(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"csrf_token": grant.CSRFToken})
	})
	r.POST("/session/logout", authgin.Middleware(guard), func(c *gin.Context) {
		if err := authgin.Logout(c, guard); err != nil {
			authgin.WriteError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})

	form := strings.NewReader("username=alice&password=correct+horse+battery")
	req := httptest.NewRequest("POST", "/session/login", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	cookie := rec.Result().Cookies()[0]
	fmt.Println(rec.Code, cookie.Name, cookie.HttpOnly, cookie.Secure)

	// An unsafe request on a cookie session needs the CSRF token.
	req = httptest.NewRequest("POST", "/session/logout", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 200 __Host-session true true
	// 403 {"error":{"code":"csrf_failed","message":"missing or invalid CSRF token"}}
}

func ExampleRequestID() {
	gin.SetMode(gin.ReleaseMode)
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	r := gin.New()
	r.Use(authgin.RequestID(), authgin.Middleware(guard))
	r.GET("/api/me", func(c *gin.Context) { c.Status(http.StatusOK) })

	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("X-Request-ID", "req-42")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Header().Get("X-Request-ID"))
	fmt.Println(rec.Body.String())
	// Output:
	// req-42
	// {"error":{"code":"invalid_token","message":"authentication required"},"request_id":"req-42"}
}

func ExampleWithSkipper() {
	gin.SetMode(gin.ReleaseMode)
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	r := gin.New()
	r.Use(authgin.Middleware(guard, authgin.WithSkipper(func(c *gin.Context) bool {
		return c.FullPath() == "/healthz"
	})))
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 200 ok
}
