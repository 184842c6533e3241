package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	ginjwt "github.com/appleboy/gin-jwt/v2"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/gin-gonic/gin"
	jwtware "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	jwtv4 "github.com/golang-jwt/jwt/v4"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/valyala/fasthttp"

	authecho "github.com/authframe/authframe/adapters/echo"
	authfiber "github.com/authframe/authframe/adapters/fiber"
	authgin "github.com/authframe/authframe/adapters/gin"
	authhttp "github.com/authframe/authframe/adapters/nethttp"
	authframe "github.com/authframe/authframe/core"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// Path is the one route every server has.
const Path = "/api"

// Server is one framework app serving GET /api: either an http.Handler (net/http, gin,
// echo) or a fasthttp.RequestHandler (fiber).
type Server struct {
	HTTP  http.Handler
	Fast  fasthttp.RequestHandler
	close func()
}

// Close releases what the middleware holds (authframe's Guard).
func (s *Server) Close() {
	if s.close != nil {
		s.close()
	}
}

// Do serves one GET /api with the given Authorization header value ("" for none) on a
// fresh recorder or request context, and returns the status and body.
func (s *Server) Do(authorization string) (int, string) {
	if s.Fast != nil {
		fctx := NewRequestCtx(authorization)
		s.Fast(fctx)
		return fctx.Response.StatusCode(), string(fctx.Response.Body())
	}
	rec := httptest.NewRecorder()
	s.HTTP.ServeHTTP(rec, NewRequest(authorization))
	return rec.Code, rec.Body.String()
}

// NewRequest builds GET /api with the given Authorization header value ("" for none).
func NewRequest(authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, Path, nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// NewRequestCtx builds a fasthttp request context for GET /api, as fiber's own benchmarks
// do.
func NewRequestCtx(authorization string) *fasthttp.RequestCtx {
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetMethod(fasthttp.MethodGet)
	fctx.Request.SetRequestURI(Path)
	if authorization != "" {
		fctx.Request.Header.Set(fasthttp.HeaderAuthorization, authorization)
	}
	return fctx
}

// Options vary the set-up of one cell of the matrix.
type Options struct {
	// CacheSize is the size of authframe's validation cache: 0 keeps the default
	// (100 000). Peers have no cache and ignore it.
	CacheSize int
	// Prefill are tokens authframe's Guard verifies once at start, filling its cache.
	Prefill []string
}

// Middleware is one contender: an authframe adapter or a peer.
type Middleware struct {
	Name string
	// Authframe is true for authframe's adapters.
	Authframe bool
	// New builds the framework app with this middleware in front of the handler.
	New func(k *Keys, o Options) (*Server, error)
}

// Framework is a web framework with its bare server and its contenders.
type Framework struct {
	Name        string
	Bare        func() *Server
	Middlewares []Middleware
}

// Frameworks is the matrix, authframe's adapter first in each.
var Frameworks = []Framework{
	{
		Name: "nethttp",
		Bare: func() *Server { return netHTTPServer(nil, func(*http.Request) string { return Subject }) },
		Middlewares: []Middleware{
			{Name: "authhttp", Authframe: true, New: newAuthHTTP},
			{Name: "auth0", New: newAuth0},
			{Name: "handrolled", New: newHandRolled},
		},
	},
	{
		Name: "gin",
		Bare: func() *Server { return ginServer(nil, func(*gin.Context) string { return Subject }) },
		Middlewares: []Middleware{
			{Name: "authgin", Authframe: true, New: newAuthGin},
			{Name: "gin-jwt", New: newGinJWT},
		},
	},
	{
		Name: "echo",
		Bare: func() *Server { return echoServer(nil, func(echo.Context) string { return Subject }) },
		Middlewares: []Middleware{
			{Name: "authecho", Authframe: true, New: newAuthEcho},
			{Name: "echo-jwt", New: newEchoJWT},
		},
	},
	{
		Name: "fiber",
		Bare: func() *Server { return fiberServer(nil, func(*fiber.Ctx) string { return Subject }) },
		Middlewares: []Middleware{
			{Name: "authfiber", Authframe: true, New: newAuthFiber},
			{Name: "fiber-jwt", New: newFiberJWT},
		},
	},
}

// The handler is the same everywhere: 200 with the body "ok " followed by the subject the
// middleware put on the request.
const okPrefix = "ok "

func netHTTPServer(mw func(http.Handler) http.Handler, subject func(*http.Request) string) *Server {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, okPrefix)
		io.WriteString(w, subject(r))
	})
	if mw != nil {
		h = mw(h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, h)
	return &Server{HTTP: mux}
}

func ginServer(mw gin.HandlerFunc, subject func(*gin.Context) string) *Server {
	r := gin.New()
	if mw != nil {
		r.Use(mw)
	}
	r.GET(Path, func(c *gin.Context) {
		c.Writer.WriteHeader(http.StatusOK)
		c.Writer.WriteString(okPrefix)
		c.Writer.WriteString(subject(c))
	})
	return &Server{HTTP: r}
}

func echoServer(mw echo.MiddlewareFunc, subject func(echo.Context) string) *Server {
	e := echo.New()
	if mw != nil {
		e.Use(mw)
	}
	e.GET(Path, func(c echo.Context) error {
		w := c.Response()
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, okPrefix)
		io.WriteString(w, subject(c))
		return nil
	})
	return &Server{HTTP: e}
}

func fiberServer(mw fiber.Handler, subject func(*fiber.Ctx) string) *Server {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	if mw != nil {
		app.Use(mw)
	}
	app.Get(Path, func(c *fiber.Ctx) error {
		c.Status(fiber.StatusOK)
		c.Response().AppendBodyString(okPrefix)
		c.Response().AppendBodyString(subject(c))
		return nil
	})
	return &Server{Fast: app.Handler()}
}

// --- authframe -------------------------------------------------------------------------

// NewGuard builds the Guard for k: the same HMAC secret or public key the peers get, the
// same issuer and audience. authframe always pins the algorithm to its keys' and requires
// exp (and sub). The Argon2 parameters only matter for password logins, which the
// benchmarks do not make; lowering them keeps New fast (it hashes one dummy password).
func NewGuard(k *Keys, o Options, extra ...authframe.Option) (*authframe.Guard, error) {
	opts := []authframe.Option{
		authframe.WithIssuer(Issuer),
		authframe.WithAudience(Audience),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
	}
	if k.Alg == "HS256" {
		opts = append(opts, authframe.WithHMACSecret(k.Verify.([]byte)))
	} else {
		opts = append(opts, authframe.WithKey(authframe.Key{PEM: k.PublicPEM}))
	}
	if o.CacheSize > 0 {
		opts = append(opts, authframe.WithCache(authframe.CacheConfig{Size: o.CacheSize}))
	}
	g, err := authframe.New(append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	for _, tok := range o.Prefill {
		if _, err := g.VerifyToken(context.Background(), tok); err != nil {
			g.Close()
			return nil, fmt.Errorf("prefill: %w", err)
		}
	}
	return g, nil
}

func withGuard(k *Keys, o Options, build func(g *authframe.Guard) *Server) (*Server, error) {
	g, err := NewGuard(k, o)
	if err != nil {
		return nil, err
	}
	s := build(g)
	s.close = func() { g.Close() }
	return s, nil
}

func newAuthHTTP(k *Keys, o Options) (*Server, error) {
	return withGuard(k, o, func(g *authframe.Guard) *Server {
		return netHTTPServer(authhttp.Middleware(g), func(r *http.Request) string {
			p, _ := authhttp.PrincipalFrom(r)
			return p.UserID
		})
	})
}

func newAuthGin(k *Keys, o Options) (*Server, error) {
	return withGuard(k, o, func(g *authframe.Guard) *Server {
		return ginServer(authgin.Middleware(g), func(c *gin.Context) string {
			p, _ := authgin.PrincipalFrom(c)
			return p.UserID
		})
	})
}

func newAuthEcho(k *Keys, o Options) (*Server, error) {
	return withGuard(k, o, func(g *authframe.Guard) *Server {
		return echoServer(authecho.Middleware(g), func(c echo.Context) string {
			p, _ := authecho.PrincipalFrom(c)
			return p.UserID
		})
	})
}

func newAuthFiber(k *Keys, o Options) (*Server, error) {
	return withGuard(k, o, func(g *authframe.Guard) *Server {
		return fiberServer(authfiber.Middleware(g), func(c *fiber.Ctx) string {
			p, _ := authfiber.PrincipalFrom(c)
			return p.UserID
		})
	})
}

// --- net/http peers --------------------------------------------------------------------

var errNoExpiry = errors.New("token has no exp")

// newAuth0 is Auth0's go-jwt-middleware with its validator (go-jose), which pins the
// algorithm and checks iss and aud. It accepts a token without exp, so the ValidateToken
// function handed to the middleware also requires one, as every other contender does.
func newAuth0(k *Keys, _ Options) (*Server, error) {
	key := k.Verify
	v, err := validator.New(
		func(context.Context) (any, error) { return key, nil },
		validator.SignatureAlgorithm(k.Alg),
		Issuer,
		[]string{Audience},
	)
	if err != nil {
		return nil, err
	}
	validate := func(ctx context.Context, tok string) (any, error) {
		c, err := v.ValidateToken(ctx, tok)
		if err != nil {
			return nil, err
		}
		if c.(*validator.ValidatedClaims).RegisteredClaims.Expiry == 0 {
			return nil, errNoExpiry
		}
		return c, nil
	}
	mw := jwtmiddleware.New(validate)
	return netHTTPServer(mw.CheckJWT, func(r *http.Request) string {
		c, _ := r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims)
		return c.RegisteredClaims.Subject
	}), nil
}

type handRolledKey struct{}

// HandRolled is the middleware many services write themselves: jwt.Parse with the
// algorithm pinned and iss, aud and exp required, the claims in the request context, 401
// otherwise.
func HandRolled(key any, alg string) func(http.Handler) http.Handler {
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	methods := []string{alg}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				unauthorized(w)
				return
			}
			t, err := jwt.Parse(tok, keyFunc,
				jwt.WithValidMethods(methods),
				jwt.WithIssuer(Issuer),
				jwt.WithAudience(Audience),
				jwt.WithExpirationRequired(),
			)
			if err != nil || !t.Valid {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), handRolledKey{}, t)))
		})
	}
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func newHandRolled(k *Keys, _ Options) (*Server, error) {
	return netHTTPServer(HandRolled(k.Verify, k.Alg), func(r *http.Request) string {
		t, _ := r.Context().Value(handRolledKey{}).(*jwt.Token)
		sub, _ := t.Claims.GetSubject()
		return sub
	}), nil
}

// --- gin-jwt ---------------------------------------------------------------------------

var errClaims = errors.New("unexpected alg, iss or aud")

// newGinJWT is appleboy/gin-jwt (on golang-jwt v4). Its built-in key handling knows HMAC
// and RSA only, and its parser checks exp (the middleware answers a token without one
// with 400) but neither iss nor aud, so it is configured through its KeyFunc, its hook for
// custom keys: the KeyFunc pins the algorithm (as do ParseOptions), checks iss and aud on
// the parsed claims and returns the key, and golang-jwt then verifies the signature. Every
// refusal is a 401. IdentityKey "sub" puts the subject in the context.
func newGinJWT(k *Keys, _ Options) (*Server, error) {
	key, alg := k.Verify, k.Alg
	mw, err := ginjwt.New(&ginjwt.GinJWTMiddleware{
		Realm:            "bench",
		SigningAlgorithm: alg,
		IdentityKey:      "sub",
		KeyFunc: func(t *jwtv4.Token) (any, error) {
			if t.Method.Alg() != alg {
				return nil, errClaims
			}
			c, ok := t.Claims.(jwtv4.MapClaims)
			if !ok || !c.VerifyIssuer(Issuer, true) || !c.VerifyAudience(Audience, true) {
				return nil, errClaims
			}
			return key, nil
		},
		ParseOptions: []jwtv4.ParserOption{jwtv4.WithValidMethods([]string{alg})},
	})
	if err != nil {
		return nil, err
	}
	return ginServer(mw.MiddlewareFunc(), func(c *gin.Context) string {
		return c.GetString("sub")
	}), nil
}

// --- echo-jwt --------------------------------------------------------------------------

// newEchoJWT is labstack/echo-jwt with its default parsing: SigningMethod pins the
// algorithm, and NewClaimsFunc gives golang-jwt a Claims whose Validate requires exp, iss
// and aud.
func newEchoJWT(k *Keys, _ Options) (*Server, error) {
	mw, err := echojwt.Config{
		SigningKey:    k.Verify,
		SigningMethod: k.Alg,
		NewClaimsFunc: func(echo.Context) jwt.Claims { return new(Claims) },
	}.ToMiddleware()
	if err != nil {
		return nil, err
	}
	return echoServer(mw, func(c echo.Context) string {
		t, _ := c.Get("user").(*jwt.Token)
		return t.Claims.(*Claims).Subject
	}), nil
}

// --- fiber jwt -------------------------------------------------------------------------

// newFiberJWT is gofiber/contrib/jwt (jwtware): SigningKey.JWTAlg pins the algorithm, and
// the Claims type (instantiated per request by the middleware) requires exp, iss and aud.
func newFiberJWT(k *Keys, _ Options) (*Server, error) {
	mw := jwtware.New(jwtware.Config{
		SigningKey: jwtware.SigningKey{JWTAlg: k.Alg, Key: k.Verify},
		Claims:     new(Claims),
	})
	return fiberServer(mw, func(c *fiber.Ctx) string {
		t, _ := c.Locals("user").(*jwt.Token)
		return t.Claims.(*Claims).Subject
	}), nil
}
