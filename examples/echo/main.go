// Command echo serves the authframe HTTP contract (examples/README.md) with Echo v4 and
// authecho. Every route is plain echo code: authecho's handlers for the standard routes,
// a few lines each for the app's own.
package main

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	authecho "github.com/authframe/authframe/adapters/echo"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/totp"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	app.Run("echo", func(a *app.App) error { return a.Serve(Echo(a)) })
}

// Echo is the whole contract on an Echo instance.
func Echo(a *app.App) *echo.Echo {
	g := a.Guard
	h := authecho.NewHandlers(g, authecho.WithRegistration(app.UserRoles...), authecho.WithBodyLimit(app.BodyLimit))
	auth := authecho.Middleware(g)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler
	e.Use(middleware.Recover(), authecho.RequestID(), middleware.ContextTimeout(app.RequestTimeout))

	e.GET("/", page)
	e.GET("/healthz", health(g))
	e.GET("/metrics", echo.WrapHandler(a.Metrics))
	e.GET("/openapi.yaml", echo.WrapHandler(app.OpenAPIHandler))
	e.GET("/.well-known/jwks.json", h.JWKS)

	e.POST("/auth/register", h.Register)
	e.POST("/auth/token", h.Token)
	e.POST("/auth/refresh", h.Refresh)
	e.POST("/auth/logout", h.Logout, auth)
	e.POST("/session/login", h.SessionLogin)
	e.POST("/session/logout", h.SessionLogout, auth)

	// The middleware goes on each route rather than on an /api group: echo answers every
	// unknown path under a group with middleware through that middleware, which would turn
	// the contract's 404 into a 401.
	e.GET("/api/me", me, auth)
	e.POST("/api/echo", echoJSON, auth)
	e.GET("/api/admin", admin, auth, authecho.Require("admin"))
	e.GET("/api/sessions", h.Sessions, auth)
	e.DELETE("/api/sessions/:id", h.DeleteSession, auth)
	e.POST("/api/keys", h.CreateKey, auth)
	e.GET("/api/keys", h.Keys, auth)
	e.DELETE("/api/keys/:id", h.DeleteKey, auth)
	e.GET("/api/reports", admin, auth, authecho.Require("read:reports"))
	e.POST("/api/mfa/totp", h.EnrollTOTP, auth)
	e.POST("/api/mfa/totp/confirm", h.ConfirmTOTP, auth)
	e.DELETE("/api/mfa/totp", h.DisableTOTP, auth)
	e.GET("/api/sensitive", admin, auth, authecho.RequireMFA(app.StepUpMaxAge))

	e.POST("/oauth/token", h.OAuthToken)
	e.POST("/oauth/introspect", h.Introspect)
	e.POST("/oauth/revoke", h.RevokeToken)
	e.POST("/admin/clients", h.CreateClient, auth, authecho.Require("admin"))
	e.GET("/admin/clients", h.Clients, auth, authecho.Require("admin"))
	e.DELETE("/admin/clients/:id", h.DeleteClient, auth, authecho.Require("admin"))
	return e
}

func page(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
	return c.HTML(http.StatusOK, app.Page)
}

// health is GET /healthz: 200 when every dependency answers, 503 naming the one that does
// not.
func health(g *authframe.Guard) echo.HandlerFunc {
	return func(c echo.Context) error {
		rep := g.Health(c.Request().Context())
		status, state := http.StatusOK, "ok"
		if !rep.OK {
			status, state = http.StatusServiceUnavailable, "unavailable"
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(status, map[string]any{"status": state, "dependencies": rep.Dependencies})
	}
}

// me is GET /api/me. Lists are [] rather than null for a caller without roles.
func me(c echo.Context) error {
	p, _ := authecho.PrincipalFrom(c)
	return c.JSON(http.StatusOK, map[string]any{
		"user_id": p.UserID, "username": p.Username, "roles": endpoint.NonNil(p.Roles),
		"permissions": endpoint.NonNil(p.Permissions), "auth_method": p.Method, "mfa": totp.UsedSecondFactor(p),
	})
}

// echoJSON is POST /api/echo: a valid JSON body back as it came. The body is read raw and
// bounded, never through echo's Bind: an encoded body is refused unread, since inflating
// it could take gigabytes before its size was known.
func echoJSON(c echo.Context) error {
	if err := endpoint.CheckContentEncoding(authecho.Request(c).Header("Content-Encoding")); err != nil {
		c.Response().Header().Set("Accept-Encoding", "identity")
		return authecho.WriteError(c, err)
	}
	body, err := endpoint.ReadBody(http.MaxBytesReader(c.Response().Writer, c.Request().Body, app.BodyLimit), app.BodyLimit)
	if err != nil {
		return authecho.WriteError(c, err)
	}
	if !json.Valid(body) {
		return authecho.WriteError(c, endpoint.BadRequest("a JSON body is required"))
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

func admin(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]bool{"ok": true})
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
