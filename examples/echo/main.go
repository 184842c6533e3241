// Command echo serves the authframe HTTP contract (examples/README.md) with Echo v4 and
// authecho.
package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	authecho "github.com/authframe/authframe/adapters/echo"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	app.Run("echo", func(a *app.App) error { return a.Serve(Echo(a)) })
}

// Echo is the whole contract on an Echo instance.
func Echo(a *app.App) *echo.Echo {
	g := a.Guard
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler
	e.Use(middleware.Recover(), authecho.RequestID(), timeout)
	e.GET("/", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
		return c.HTML(http.StatusOK, app.Page)
	})
	e.GET("/healthz", func(c echo.Context) error { return write(c, a.Health(c.Request().Context())) })
	e.GET("/metrics", echo.WrapHandler(a.Metrics))
	e.GET("/.well-known/jwks.json", echo.WrapHandler(app.JWKS(g)))
	e.POST("/auth/register", bind(a, a.Register))
	e.POST("/auth/token", bind(a, a.Token))
	e.POST("/auth/refresh", bind(a, a.Refresh))
	e.POST("/session/login", bind(a, a.SessionLogin))

	auth := authecho.Middleware(g)
	e.POST("/auth/logout", bind(a, a.Logout), auth)
	e.POST("/session/logout", bind(a, a.SessionLogout), auth)
	e.GET("/api/me", bind(a, a.Me), auth)
	e.POST("/api/echo", bind(a, a.Echo), auth)
	e.GET("/api/admin", bind(a, a.Admin), auth, authecho.Require("admin"))
	e.GET("/api/sessions", bind(a, a.Sessions), auth)
	e.DELETE("/api/sessions/:id", bind(a, a.DeleteSession), auth)
	return e
}

func timeout(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), app.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// errorHandler answers Echo's own errors (unknown route, wrong method, a panic caught by
// Recover) in the contract's shape.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg, _ := he.Message.(string)
		err = app.FrameworkError(he.Code, msg)
	}
	if c.Response().Header().Get(endpoint.RequestIDHeader) == "" {
		c.Response().Header().Set(endpoint.RequestIDHeader, endpoint.RequestID(c.Request().Header.Get(endpoint.RequestIDHeader)))
	}
	endpoint.WriteError(c.Response(), err, c.Response().Header().Get(endpoint.RequestIDHeader))
}

// bind binds a framework-neutral endpoint to Echo.
func bind(a *app.App, fn func(app.Call) app.Result) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if err := app.CheckContentEncoding(authecho.Request(c).Header("Content-Encoding")); err != nil {
			c.Response().Header().Set("Accept-Encoding", app.AcceptEncoding)
			return authecho.WriteError(c, err)
		}
		body, err := app.ReadBody(http.MaxBytesReader(c.Response(), r.Body, app.BodyLimit+1))
		if err != nil {
			return authecho.WriteError(c, err)
		}
		p, _ := authecho.PrincipalFrom(c)
		return write(c, fn(app.Call{
			Ctx: r.Context(), Body: body, ContentType: r.Header.Get("Content-Type"),
			Client: authecho.ClientInfo(c, a.Guard), Principal: p, Param: c.Param("id"),
		}))
	}
}

func write(c echo.Context, res app.Result) error {
	if res.Err != nil {
		return authecho.WriteError(c, res.Err)
	}
	for _, ck := range res.Cookies {
		c.SetCookie(ck)
	}
	if res.NoStore {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	if body := res.Encode(); body != nil {
		return c.Blob(res.Status, "application/json", body)
	}
	return c.NoContent(res.Status)
}
