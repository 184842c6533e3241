package authecho_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	authecho "github.com/authframe/authframe/adapters/echo"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/adaptertest"
)

// TestConformance runs the suite every adapter passes, so that authecho answers exactly as
// authhttp, authgin and authfiber do.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, g *authframe.Guard) http.Handler {
		e := echo.New()
		e.Use(authecho.RequestID())
		principal := func(c echo.Context) error {
			p, _ := authecho.PrincipalFrom(c)
			return c.JSON(http.StatusOK, map[string]string{"user_id": p.UserID, "auth_method": string(p.Method)})
		}
		userID := func(c echo.Context) error {
			id := ""
			if p, ok := authecho.PrincipalFrom(c); ok {
				id = p.UserID
			}
			return c.JSON(http.StatusOK, map[string]string{"user_id": id})
		}
		ok := func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]bool{"ok": true}) }
		auth := authecho.Middleware(g)

		e.GET("/protected", principal, auth)
		e.POST("/protected", principal, auth)
		e.GET("/optional", userID, authecho.Optional(g))
		e.GET("/admin", ok, auth, authecho.Require("admin"))
		e.GET("/any", ok, auth, authecho.RequireAny("admin", "read:reports"))
		e.GET("/skipped", userID, authecho.Middleware(g, authecho.WithSkipper(func(c echo.Context) bool {
			return c.Request().URL.Path == "/skipped"
		})))
		e.GET("/request-id", func(c echo.Context) error {
			return c.JSON(http.StatusOK, map[string]string{"request_id": authecho.RequestIDFrom(c)})
		})
		e.GET("/client", func(c echo.Context) error {
			ci := authecho.ClientInfo(c, g)
			return c.JSON(http.StatusOK, map[string]string{"ip": ci.IP, "user_agent": ci.UserAgent})
		})
		authecho.Mount(e.Group("/auth"), g, authecho.WithRegistration())
		return e
	})
}
