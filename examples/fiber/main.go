// Command fiber serves the authframe HTTP contract (examples/README.md) with Fiber v2 and
// authfiber.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	authfiber "github.com/authframe/authframe/adapters/fiber"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/totp"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	app.Run("fiber", func(a *app.App) error {
		f := App(a)
		return a.ServeFunc(f.Listen, func(context.Context) error { return f.Shutdown() })
	})
}

// App is the whole contract on a Fiber app.
func App(a *app.App) *fiber.App {
	g := a.Guard
	t := a.Timeouts()
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// fasthttp has no header-only deadline: ReadTimeout covers the headers and body of
		// each request from its first byte, IdleTimeout the wait for the next one.
		ReadTimeout:  t.Read,
		WriteTimeout: t.Write,
		IdleTimeout:  t.Idle,
		// fasthttp answers a body over BodyLimit without reading it and closes the
		// connection, so a client still sending gets a reset instead of the 413. It reads
		// up to 1 MiB here, and the handlers enforce the contract's 64 KiB with a 413 on a
		// connection that stays usable.
		BodyLimit: 16 * app.BodyLimit,
		// Room for headers past the Guard's 8 KiB token cap, so an oversized token gets the
		// contract's 401 rather than fasthttp's 431.
		ReadBufferSize: 16 << 10,
		ErrorHandler:   errorHandler,
	})
	f.Use(authfiber.RequestID(), timeout)

	h := authfiber.NewHandlers(g, authfiber.WithRegistration(app.UserRoles...), authfiber.WithBodyLimit(app.BodyLimit))
	auth := authfiber.Middleware(g)

	f.Get("/", func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
		c.Type("html", "utf-8")
		return c.SendString(app.Page)
	})
	f.Get("/healthz", func(c *fiber.Ctx) error {
		rep := g.Health(c.UserContext())
		deps := rep.Dependencies
		if deps == nil {
			deps = []authframe.DependencyHealth{}
		}
		status, word := fiber.StatusOK, "ok"
		if !rep.OK {
			status, word = fiber.StatusServiceUnavailable, "unavailable"
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(status).JSON(fiber.Map{"status": word, "dependencies": deps})
	})
	f.Get("/metrics", adaptor.HTTPHandler(a.Metrics))
	f.Get("/openapi.yaml", adaptor.HTTPHandler(app.OpenAPIHandler))
	f.Get("/.well-known/jwks.json", h.JWKS)

	f.Post("/auth/register", h.Register)
	f.Post("/auth/token", h.Token)
	f.Post("/auth/refresh", h.Refresh)
	f.Post("/auth/logout", auth, h.Logout)
	f.Post("/session/login", h.SessionLogin)
	f.Post("/session/logout", auth, h.SessionLogout)

	f.Post("/oauth/token", h.OAuthToken)
	f.Post("/oauth/introspect", h.Introspect)
	f.Post("/oauth/revoke", h.RevokeToken)
	f.Post("/admin/clients", auth, authfiber.Require("admin"), h.CreateClient)
	f.Get("/admin/clients", auth, authfiber.Require("admin"), h.Clients)
	f.Delete("/admin/clients/:id", auth, authfiber.Require("admin"), h.DeleteClient)
	f.Post("/api/keys", auth, h.CreateKey)
	f.Get("/api/keys", auth, h.Keys)
	f.Delete("/api/keys/:id", auth, h.DeleteKey)
	f.Get("/api/reports", auth, authfiber.Require("read:reports"), func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"ok": true})
	})
	f.Post("/api/mfa/totp", auth, h.EnrollTOTP)
	f.Post("/api/mfa/totp/confirm", auth, h.ConfirmTOTP)
	f.Delete("/api/mfa/totp", auth, h.DisableTOTP)
	f.Get("/api/sensitive", auth, authfiber.RequireMFA(app.StepUpMaxAge), func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"ok": true})
	})

	f.Get("/api/me", auth, func(c *fiber.Ctx) error {
		p, _ := authfiber.PrincipalFrom(c)
		return c.JSON(fiber.Map{
			"user_id": p.UserID, "username": p.Username, "auth_method": p.Method,
			"roles": endpoint.NonNil(p.Roles), "permissions": endpoint.NonNil(p.Permissions),
			"mfa": totp.UsedSecondFactor(p),
		})
	})
	f.Post("/api/echo", auth, func(c *fiber.Ctx) error {
		body, err := rawBody(c)
		if err != nil {
			return authfiber.WriteError(c, err)
		}
		if !json.Valid(body) {
			return authfiber.WriteError(c, endpoint.BadRequest("a JSON body is required"))
		}
		c.Type("json")
		// A copy: c.Send keeps the slice until the response is written, and the request's
		// buffer is not the response's.
		return c.Send(bytes.Clone(body))
	})
	f.Get("/api/admin", auth, authfiber.Require("admin"), func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"ok": true})
	})
	f.Get("/api/sessions", auth, h.Sessions)
	f.Delete("/api/sessions/:id", auth, h.DeleteSession)
	// Unknown paths and methods end in Fiber's ErrNotFound or ErrMethodNotAllowed, which
	// errorHandler answers in the contract's shape.
	return f
}

// rawBody returns the request body as it arrived, as the handlers read theirs: a body with
// a Content-Encoding is refused before it is looked at (c.Body() would decompress it,
// without a limit), and one over the contract's limit is a 413.
func rawBody(c *fiber.Ctx) ([]byte, error) {
	if err := endpoint.CheckContentEncoding(authfiber.Request(c).Header(fiber.HeaderContentEncoding)); err != nil {
		c.Set(fiber.HeaderAcceptEncoding, "identity")
		return nil, err
	}
	body := c.Request().Body()
	if len(body) > app.BodyLimit {
		return nil, authframe.ErrPayloadTooLarge
	}
	return body, nil
}

func timeout(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), app.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// errorHandler answers Fiber's own errors (unknown route or method, body too large, a
// malformed request) in the contract's shape. Those fasthttp refuses are answered before
// any middleware ran, so the request id may still have to be made.
func errorHandler(c *fiber.Ctx, err error) error {
	if fe, ok := errors.AsType[*fiber.Error](err); ok {
		err = app.FrameworkError(fe.Code, fe.Message)
	}
	if c.GetRespHeader(endpoint.RequestIDHeader) == "" {
		c.Set(endpoint.RequestIDHeader, endpoint.RequestID(c.Get(endpoint.RequestIDHeader)))
	}
	r := endpoint.RenderError(err, c.GetRespHeader(endpoint.RequestIDHeader))
	for _, h := range r.Headers {
		c.Set(h[0], h[1])
	}
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Type("json")
	return c.Status(r.Status).Send(r.Body)
}
