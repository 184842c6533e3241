// Command gin serves the authframe HTTP contract (examples/README.md) with Gin and authgin.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/totp"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	app.Run("gin", func(a *app.App) error { return a.Serve(Router(a)) })
}

// Router is the whole contract on a gin engine.
func Router(a *app.App) *gin.Engine {
	guard := a.Guard
	h := authgin.NewHandlers(guard, authgin.WithRegistration(app.UserRoles...), authgin.WithBodyLimit(app.BodyLimit))
	auth := authgin.Middleware(guard)

	r := gin.New()
	r.HandleMethodNotAllowed = true
	// gin's own recovery writes the request's headers, cookies included, to its log: this
	// one logs only the panic.
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, recovered(a.Logger)), authgin.RequestID(), timeout)
	r.NoRoute(func(c *gin.Context) { authgin.WriteError(c, app.NotFound) })
	r.NoMethod(func(c *gin.Context) { authgin.WriteError(c, app.MethodNotAllowed) })

	r.GET("/", page)
	r.GET("/healthz", health(guard))
	r.GET("/metrics", gin.WrapH(a.Metrics))
	r.GET("/openapi.yaml", gin.WrapH(app.OpenAPIHandler))
	r.GET("/.well-known/jwks.json", h.JWKS)

	r.POST("/auth/register", h.Register)
	r.POST("/auth/token", h.Token)
	r.POST("/auth/refresh", h.Refresh)
	r.POST("/auth/logout", auth, h.Logout)
	r.POST("/session/login", h.SessionLogin)
	r.POST("/session/logout", auth, h.SessionLogout)

	api := r.Group("/api", auth)
	api.GET("/me", me)
	api.POST("/echo", echo)
	api.GET("/admin", authgin.Require("admin"), func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	api.GET("/sessions", h.Sessions)
	api.DELETE("/sessions/:id", h.DeleteSession)
	api.POST("/keys", h.CreateKey)
	api.GET("/keys", h.Keys)
	api.DELETE("/keys/:id", h.DeleteKey)
	api.GET("/reports", authgin.Require("read:reports"), func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	api.POST("/mfa/totp", h.EnrollTOTP)
	api.POST("/mfa/totp/confirm", h.ConfirmTOTP)
	api.DELETE("/mfa/totp", h.DisableTOTP)
	api.GET("/sensitive", authgin.RequireMFA(app.StepUpMaxAge), func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })

	r.POST("/oauth/token", h.OAuthToken)
	r.POST("/oauth/introspect", h.Introspect)
	r.POST("/oauth/revoke", h.RevokeToken)
	admins := r.Group("/admin", auth, authgin.Require("admin"))
	admins.POST("/clients", h.CreateClient)
	admins.GET("/clients", h.Clients)
	admins.DELETE("/clients/:id", h.DeleteClient)
	return r
}

// timeout bounds each request's work, so that a dead store or cache costs a 503 within a
// second rather than a stalled request.
func timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), app.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// recovered answers a panic in the contract's error shape rather than with gin's empty 500.
func recovered(logger *slog.Logger) gin.RecoveryFunc {
	return func(c *gin.Context, v any) {
		logger.Error("panic while serving a request", "panic", fmt.Sprint(v), "path", c.FullPath())
		authgin.WriteError(c, authframe.ErrInternal)
	}
}

func page(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(app.Page))
}

func health(guard *authframe.Guard) gin.HandlerFunc {
	return func(c *gin.Context) {
		rep := guard.Health(c.Request.Context())
		status, word := http.StatusOK, "ok"
		if !rep.OK {
			status, word = http.StatusServiceUnavailable, "unavailable"
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(status, gin.H{"status": word, "dependencies": rep.Dependencies})
	}
}

func me(c *gin.Context) {
	p, _ := authgin.PrincipalFrom(c)
	c.JSON(http.StatusOK, gin.H{
		"user_id": p.UserID, "username": p.Username, "roles": nonNil(p.Roles),
		"permissions": nonNil(p.Permissions), "auth_method": p.Method, "mfa": totp.UsedSecondFactor(p),
	})
}

// nonNil makes an absent list [] in JSON rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// echo answers a JSON body with itself. The body is read raw, as the handlers read theirs:
// never one with a Content-Encoding (inflating it could exhaust memory before any size
// check), never more than app.BodyLimit.
func echo(c *gin.Context) {
	if err := endpoint.CheckContentEncoding(authgin.Request(c).Header("Content-Encoding")); err != nil {
		c.Header("Accept-Encoding", "identity")
		authgin.WriteError(c, err)
		return
	}
	body, err := endpoint.ReadBody(c.Request.Body, app.BodyLimit)
	if err != nil {
		authgin.WriteError(c, err)
		return
	}
	if !json.Valid(body) {
		authgin.WriteError(c, endpoint.BadRequest("a JSON body is required"))
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}
