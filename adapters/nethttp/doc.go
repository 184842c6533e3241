// Package authhttp puts an authframe Guard in front of net/http handlers: the standard mux,
// chi, gorilla/mux or anything else that speaks func(http.Handler) http.Handler.
//
//	mux.Handle("/api/", authhttp.Middleware(guard)(api))
//
// Middleware authenticates (bearer token or session cookie, with CSRF on unsafe cookie
// requests) and stores the Principal in the request context, read back with PrincipalFrom;
// Require checks roles and permissions. All decisions are the Guard's: this package only
// translates.
package authhttp
