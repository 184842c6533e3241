package authfiber_test

import (
	"fmt"
	"io"
	"net/http/httptest"

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
	app.Get("/api/admin", authfiber.Require("admin"), func(c *fiber.Ctx) error {
		return c.SendString("welcome, admin")
	})

	res, err := app.Test(httptest.NewRequest("GET", "/api/me", nil))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate"))
	fmt.Println(string(body))

	tok, _ := guard.SignAccessToken("u1", "ada", []string{"staff"}, "")
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, _ = app.Test(req)
	body, _ = io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body))

	req = httptest.NewRequest("GET", "/api/admin", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, _ = app.Test(req)
	fmt.Println(res.StatusCode)
	// Output:
	// 401 Bearer realm="authframe"
	// {"error":{"code":"invalid_token","message":"authentication required"}}
	// 200 hello ada
	// 403
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

	app := fiber.New()
	// c.FormValue reads the raw body; c.BodyParser would decompress a JSON body of any
	// Content-Encoding without a limit.
	app.Post("/session/login", func(c *fiber.Ctx) error {
		grant, err := authfiber.VerifyPassword(c, guard, c.FormValue("username"), c.FormValue("password"))
		if err != nil {
			return authfiber.WriteError(c, err)
		}
		return c.JSON(fiber.Map{"csrf_token": grant.CSRFToken})
	})
	// Logout is a session request with an unsafe method: the Guard wants X-CSRF-Token.
	app.Post("/session/logout", authfiber.Middleware(guard), func(c *fiber.Ctx) error {
		if err := authfiber.Logout(c, guard); err != nil {
			return authfiber.WriteError(c, err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	fmt.Println(len(app.GetRoutes()))
	// Output: 2
}
