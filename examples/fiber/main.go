// Command fiber serves the authframe HTTP contract (examples/README.md) with Fiber v2 and
// authfiber.
package main

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	authfiber "github.com/authframe/authframe/adapters/fiber"
	"github.com/authframe/authframe/core/endpoint"
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
		// up to 1 MiB here, and endpoint enforces the contract's 64 KiB with a 413 on a
		// connection that stays usable.
		BodyLimit: 16 * app.BodyLimit,
		// Room for headers past the Guard's 8 KiB token cap, so an oversized token gets the
		// contract's 401 rather than fasthttp's 431.
		ReadBufferSize: 16 << 10,
		ErrorHandler:   errorHandler,
	})
	f.Use(authfiber.RequestID(), timeout)
	f.Get("/", func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
		c.Type("html", "utf-8")
		return c.SendString(app.Page)
	})
	f.Get("/healthz", func(c *fiber.Ctx) error { return write(c, a.Health(c.UserContext())) })
	f.Get("/metrics", adaptor.HTTPHandler(a.Metrics))
	f.Get("/.well-known/jwks.json", func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "public, max-age=300")
		c.Type("json")
		return c.Send(g.JWKS())
	})
	f.Post("/auth/register", bind(a, a.Register))
	f.Post("/auth/token", bind(a, a.Token))
	f.Post("/auth/refresh", bind(a, a.Refresh))
	f.Post("/session/login", bind(a, a.SessionLogin))

	auth := authfiber.Middleware(g)
	f.Post("/auth/logout", auth, bind(a, a.Logout))
	f.Post("/session/logout", auth, bind(a, a.SessionLogout))
	f.Get("/api/me", auth, bind(a, a.Me))
	f.Post("/api/echo", auth, bind(a, a.Echo))
	f.Get("/api/admin", auth, authfiber.Require("admin"), bind(a, a.Admin))
	f.Get("/api/sessions", auth, bind(a, a.Sessions))
	f.Delete("/api/sessions/:id", auth, bind(a, a.DeleteSession))
	f.Use(func(c *fiber.Ctx) error { return authfiber.WriteError(c, app.NotFound) })
	return f
}

func timeout(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), app.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// errorHandler answers Fiber's own errors (body too large, unknown method) in the
// contract's shape.
func errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		err = app.FrameworkError(fe.Code, fe.Message)
	}
	if c.GetRespHeader(endpoint.RequestIDHeader) == "" {
		c.Set(endpoint.RequestIDHeader, endpoint.RequestID(c.Get(endpoint.RequestIDHeader)))
	}
	r := endpoint.RenderError(err, c.GetRespHeader(endpoint.RequestIDHeader))
	for _, h := range r.Headers {
		c.Set(h[0], h[1])
	}
	c.Type("json")
	return c.Status(r.Status).Send(r.Body)
}

// bind binds a framework-neutral endpoint to Fiber.
func bind(a *app.App, fn func(app.Call) app.Result) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := app.CheckContentEncoding(authfiber.Request(c).Header("Content-Encoding")); err != nil {
			c.Set("Accept-Encoding", app.AcceptEncoding)
			return authfiber.WriteError(c, err)
		}
		// The raw bytes: c.Body() would decompress any Content-Encoding, without a limit,
		// should one ever get past the check above.
		body := c.Request().Body()
		if err := app.CheckBodySize(body); err != nil {
			return authfiber.WriteError(c, err)
		}
		p, _ := authfiber.PrincipalFrom(c)
		return write(c, fn(app.Call{
			Ctx: c.UserContext(), Body: append([]byte(nil), body...), ContentType: c.Get("Content-Type"),
			Client: authfiber.ClientInfo(c, a.Guard), Principal: p, Param: c.Params("id"),
		}))
	}
}

func write(c *fiber.Ctx, res app.Result) error {
	if res.Err != nil {
		return authfiber.WriteError(c, res.Err)
	}
	for _, ck := range res.Cookies {
		c.Response().Header.Add("Set-Cookie", ck.String())
	}
	if res.NoStore {
		c.Set("Cache-Control", "no-store")
	}
	c.Status(res.Status)
	if body := res.Encode(); body != nil {
		c.Type("json")
		return c.Send(body)
	}
	return nil
}
