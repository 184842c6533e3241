package authfiber_test

import (
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	authfiber "github.com/authframe/authframe/adapters/fiber"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/adaptertest"
)

// TestConformance runs the adapters' shared suite against the app adaptertest.Build
// describes, built with Fiber.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, g *authframe.Guard) http.Handler {
		app := fiber.New()
		app.Use(authfiber.RequestID())
		auth := authfiber.Middleware(g)
		principal := func(c *fiber.Ctx) error {
			p, _ := authfiber.PrincipalFrom(c)
			return c.JSON(fiber.Map{"user_id": p.UserID, "auth_method": p.Method})
		}
		userID := func(c *fiber.Ctx) error {
			id := ""
			if p, ok := authfiber.PrincipalFrom(c); ok {
				id = p.UserID
			}
			return c.JSON(fiber.Map{"user_id": id})
		}
		ok := func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ok": true}) }
		app.Get("/protected", auth, principal)
		app.Post("/protected", auth, principal)
		app.Get("/optional", authfiber.Optional(g), userID)
		app.Get("/admin", auth, authfiber.Require("admin"), ok)
		app.Get("/any", auth, authfiber.RequireAny("admin", "read:reports"), ok)
		skip := authfiber.WithSkipper(func(c *fiber.Ctx) bool { return c.Path() == "/skipped" })
		app.Get("/skipped", authfiber.Middleware(g, skip), userID)
		app.Get("/request-id", func(c *fiber.Ctx) error {
			return c.JSON(fiber.Map{"request_id": authfiber.RequestIDFrom(c)})
		})
		app.Get("/client", func(c *fiber.Ctx) error {
			ci := authfiber.ClientInfo(c, g)
			return c.JSON(fiber.Map{"ip": ci.IP, "user_agent": ci.UserAgent})
		})
		authfiber.Mount(app.Group("/auth"), g, authfiber.WithRegistration())
		return adaptor.FiberApp(app)
	})
}
