package authfiber_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/gofiber/fiber/v2"

	authfiber "github.com/authframe/authframe/adapters/fiber"
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

	app := fiber.New()
	app.Use(authfiber.Middleware(guard)) // the one line
	app.Get("/api/me", func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		return c.SendString("hello " + p.Username)
	})

	res, err := app.Test(httptest.NewRequest("GET", "/api/me", nil))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate"))
	fmt.Println(string(body))
	// Output:
	// 401 Bearer realm="authframe"
	// {"error":{"code":"invalid_token","message":"authentication required"}}
}

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

	app := fiber.New()
	// POST /auth/token, /auth/refresh, /auth/logout, /auth/register, /auth/session/login,
	// /auth/session/logout; GET /auth/sessions, /auth/jwks.json; DELETE /auth/sessions/:id.
	authfiber.Mount(app.Group("/auth"), guard, authfiber.WithRegistration())
	api := app.Group("/api", authfiber.Middleware(guard))
	api.Get("/me", func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		return c.SendString("hello " + p.Username)
	})
	api.Get("/admin", authfiber.Require("admin"), func(c *fiber.Ctx) error {
		return c.SendString("welcome, admin")
	})

	send := func(method, path, body, token string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := app.Test(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	creds := `{"username":"ada","password":"correct horse battery"}`
	status, _ := send("POST", "/auth/register", creds, "")
	fmt.Println("register", status)
	status, body := send("POST", "/auth/token", creds, "")
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &pair); err != nil {
		panic(err)
	}
	fmt.Println("token", status)
	fmt.Println(send("GET", "/api/me", "", pair.AccessToken))
	status, _ = send("GET", "/api/admin", "", pair.AccessToken)
	fmt.Println("admin", status)
	status, _ = send("POST", "/auth/logout", "", pair.AccessToken)
	fmt.Println("logout", status)
	status, _ = send("GET", "/api/me", "", pair.AccessToken)
	fmt.Println("after logout", status)
	// Output:
	// register 201
	// token 200
	// 200 hello ada
	// admin 403
	// logout 204
	// after logout 401
}

// A handler tested without a token or a Guard: a one-line middleware gives each request
// the Principal the test wants, where Middleware would have put it.
func ExampleSetPrincipal() {
	as := func(p *authframe.Principal) fiber.Handler {
		return func(c *fiber.Ctx) error {
			authfiber.SetPrincipal(c, p)
			return c.Next()
		}
	}
	hello := func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		return c.SendString("hello " + p.Username)
	}
	for _, p := range []*authframe.Principal{
		{UserID: "u-1", Username: "ada", Roles: []string{"admin"}},
		{UserID: "u-2", Username: "bob"},
		nil,
	} {
		app := fiber.New()
		app.Get("/admin", as(p), authfiber.Require("admin"), hello)
		res, err := app.Test(httptest.NewRequest("GET", "/admin", nil))
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, string(body))
	}
	// Output:
	// 200 hello ada
	// 403 {"error":{"code":"forbidden","message":"insufficient permissions"}}
	// 401 {"error":{"code":"invalid_token","message":"authentication required"}}
}
