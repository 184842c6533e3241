package authhttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
)

func ExampleMiddleware() {
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		p, _ := authhttp.PrincipalFrom(r)
		fmt.Fprintln(w, "hello", p.Username)
	})
	mux.Handle("GET /api/admin", authhttp.Require("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "welcome, admin")
	})))
	handler := authhttp.Middleware(guard)(mux) // the one line

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/me", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Print(rec.Body.String())
	// Output:
	// 401 Bearer realm="authframe"
	// {"error":{"code":"invalid_token","message":"authentication required"}}
}

func ExampleMount() {
	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte("an-example-secret-of-32-bytes!!!")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		panic(err)
	}
	defer guard.Close()

	mux := http.NewServeMux()
	authhttp.Mount(mux, "/auth", guard, authhttp.WithRegistration("user"))

	for _, path := range []string{"/auth/register", "/auth/token"} {
		req := httptest.NewRequest("POST", path, strings.NewReader(`{"username":"alice","password":"correct horse"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(path, rec.Code, rec.Header().Get("Cache-Control"))
	}
	// Output:
	// /auth/register 201 no-store
	// /auth/token 200 no-store
}

// A handler unit-tested without a token or a Guard: its request carries the Principal that
// Middleware would have put there.
func ExamplePrincipalFrom() {
	me := func(w http.ResponseWriter, r *http.Request) {
		p, ok := authhttp.PrincipalFrom(r)
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s, admin: %v", p.Username, p.HasRole("admin"))
	}

	req := authtest.WithPrincipal(httptest.NewRequest("GET", "/api/me", nil),
		&authframe.Principal{UserID: "u-1", Username: "ada", Roles: []string{"admin"}})
	rec := httptest.NewRecorder()
	me(rec, req)
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// 200 hello ada, admin: true
}
