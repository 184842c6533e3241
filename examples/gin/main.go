// Command gin serves the authframe HTTP contract (examples/README.md) with Gin and authgin.
package main

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	authgin "github.com/authframe/authframe/adapters/gin"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	app.Run("gin", func(a *app.App) error { return a.Serve(Router(a)) })
}

// Router is the whole contract on a gin engine.
func Router(a *app.App) *gin.Engine {
	g := a.Guard
	r := gin.New()
	r.Use(gin.Recovery(), authgin.RequestID(), timeout)
	r.NoRoute(func(c *gin.Context) { authgin.WriteError(c, app.NotFound) })
	r.GET("/", func(c *gin.Context) {
		c.Header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(app.Page))
	})
	r.GET("/healthz", func(c *gin.Context) { write(c, a.Health(c.Request.Context())) })
	r.GET("/metrics", gin.WrapH(a.Metrics))
	r.GET("/.well-known/jwks.json", gin.WrapH(app.JWKS(g)))
	r.POST("/auth/register", bind(a, a.Register))
	r.POST("/auth/token", bind(a, a.Token))
	r.POST("/auth/refresh", bind(a, a.Refresh))
	r.POST("/session/login", bind(a, a.SessionLogin))

	auth := r.Group("/", authgin.Middleware(g))
	auth.POST("/auth/logout", bind(a, a.Logout))
	auth.POST("/session/logout", bind(a, a.SessionLogout))
	auth.GET("/api/me", bind(a, a.Me))
	auth.POST("/api/echo", bind(a, a.Echo))
	auth.GET("/api/admin", authgin.Require("admin"), bind(a, a.Admin))
	auth.GET("/api/sessions", bind(a, a.Sessions))
	auth.DELETE("/api/sessions/:id", bind(a, a.DeleteSession))
	return r
}

func timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), app.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// bind binds a framework-neutral endpoint to gin.
func bind(a *app.App, fn func(app.Call) app.Result) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := app.CheckContentEncoding(authgin.Request(c).Header("Content-Encoding")); err != nil {
			c.Header("Accept-Encoding", app.AcceptEncoding)
			authgin.WriteError(c, err)
			return
		}
		body, err := app.ReadBody(http.MaxBytesReader(c.Writer, c.Request.Body, app.BodyLimit+1))
		if err != nil {
			authgin.WriteError(c, err)
			return
		}
		p, _ := authgin.PrincipalFrom(c)
		write(c, fn(app.Call{
			Ctx: c.Request.Context(), Body: body, ContentType: c.GetHeader("Content-Type"),
			Client: authgin.ClientInfo(c, a.Guard), Principal: p, Param: c.Param("id"),
		}))
	}
}

func write(c *gin.Context, res app.Result) {
	if res.Err != nil {
		authgin.WriteError(c, res.Err)
		return
	}
	for _, ck := range res.Cookies {
		http.SetCookie(c.Writer, ck)
	}
	if res.NoStore {
		c.Header("Cache-Control", "no-store")
	}
	if body := res.Encode(); body != nil {
		c.Data(res.Status, "application/json", body)
		return
	}
	c.Status(res.Status)
	c.Writer.WriteHeaderNow()
}
