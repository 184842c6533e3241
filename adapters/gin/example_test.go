package authgin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
)

// issue returns an access token for a new user with roles, as POST /token would.
func issue(guard *authframe.Guard, username string, roles ...string) string {
	ctx := context.Background()
	u, err := guard.Register(ctx, authframe.ClientInfo{}, username, "correct horse battery", roles...)
	if err != nil {
		panic(err)
	}
	pair, err := guard.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		panic(err)
	}
	return pair.AccessToken
}

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

	// With a bearer token.
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+issue(guard, "alice"))
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

	tok := issue(guard, "carol", "auditor")
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

func ExampleMount() {
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
	// POST /auth/register, /auth/token, /auth/refresh, /auth/logout, /auth/session/login,
	// /auth/session/logout; GET /auth/sessions, /auth/jwks.json; DELETE /auth/sessions/:id.
	authgin.Mount(r.Group("/auth"), guard, authgin.WithRegistration("user"))
	api := r.Group("/api", authgin.Middleware(guard))
	api.GET("/me", func(c *gin.Context) {
		p, _ := authgin.PrincipalFrom(c)
		c.String(http.StatusOK, "%s %v", p.Username, p.Roles)
	})

	do := func(method, path, token, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	creds := `{"username":"alice","password":"correct horse battery"}`
	fmt.Println("register", do("POST", "/auth/register", "", creds).Code)
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(do("POST", "/auth/token", "", creds).Body.Bytes(), &pair)
	fmt.Println("me", do("GET", "/api/me", pair.AccessToken, "").Body.String())
	fmt.Println("logout", do("POST", "/auth/logout", pair.AccessToken, "").Code)
	fmt.Println("me", do("GET", "/api/me", pair.AccessToken, "").Code)
	// Output:
	// register 201
	// me alice [user]
	// logout 204
	// me 401
}

func ExampleNewHandlers() {
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
	issue(guard, "alice")

	// The handlers one by one, on paths of the app's choosing.
	h := authgin.NewHandlers(guard)
	r := gin.New()
	r.POST("/login", h.SessionLogin)
	r.POST("/logout", authgin.Middleware(guard), h.SessionLogout)

	form := strings.NewReader("username=alice&password=correct+horse+battery")
	req := httptest.NewRequest("POST", "/login", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	cookie := rec.Result().Cookies()[0]
	fmt.Println(rec.Code, cookie.Name, cookie.HttpOnly, cookie.Secure)

	// An unsafe request on a cookie session needs the CSRF token.
	req = httptest.NewRequest("POST", "/logout", nil)
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

// A handler unit-tested without a token or a Guard: its request carries the Principal that
// Middleware would have put there.
func ExamplePrincipalFrom() {
	gin.SetMode(gin.ReleaseMode)
	me := func(c *gin.Context) {
		p, ok := authgin.PrincipalFrom(c)
		if !ok {
			c.Status(http.StatusUnauthorized)
			return
		}
		c.String(http.StatusOK, "hello %s, admin: %v", p.Username, p.HasRole("admin"))
	}

	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = authtest.WithPrincipal(httptest.NewRequest("GET", "/api/me", nil),
		&authframe.Principal{UserID: "u-1", Username: "ada", Roles: []string{"admin"}})
	me(c)
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// 200 hello ada, admin: true
}
