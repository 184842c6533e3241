// Package authfiber puts an authframe Guard in front of Fiber v2 handlers.
//
//	app.Use(authfiber.Middleware(guard))                   // the one line
//	app.Get("/admin", authfiber.Require("admin"), handler) // optional authorization
//
// Middleware authenticates (bearer token or session cookie, with CSRF on unsafe cookie
// requests) and stores the Principal in c.Locals, read back with PrincipalFrom; Require
// and RequireAny check roles and permissions. All decisions are the Guard's: this package
// only translates.
//
// It works on fasthttp directly: the Guard reads headers, cookies and the path as views of
// fasthttp's buffers, without a net/http conversion or a copy, and a cached token costs no
// allocation. Such views are valid only while the handler runs; the Guard copies what it
// keeps, and so does this package (ClientInfo, RequestID). Handlers that keep strings from
// c.Get, c.Cookies or c.FormValue must copy them too, as everywhere in Fiber.
//
// The client IP comes from the TCP peer and the Guard's WithTrustedProxies rules, never
// from Fiber's ProxyHeader setting.
package authfiber
