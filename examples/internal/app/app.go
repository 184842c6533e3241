package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/dpop"
	"github.com/authframe/authframe/core/keys"
	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/totp"
)

// BodyLimit is the largest request body accepted (64 KiB); larger ones get 413.
const BodyLimit = 64 << 10

// RequestTimeout bounds the work of one request, so that a dead dependency answers 503
// within a second instead of stalling.
const RequestTimeout = 900 * time.Millisecond

// The servers' connection deadlines (Timeouts, set in Config by LoadConfig). Without them
// a client that sends its headers and then trickles the body, or keeps a connection open
// and says nothing, holds a connection and a goroutine for as long as it likes.
const (
	// ReadHeaderTimeout bounds the request line and headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds the whole request, body included, however steadily it trickles:
	// BodyLimit bytes take well under a second on any working link.
	ReadTimeout = 15 * time.Second
	// WriteTimeout bounds the response, so a client that stops reading cannot pin it:
	// handlers answer within RequestTimeout, the rest is the network.
	WriteTimeout = 30 * time.Second
	// IdleTimeout closes a kept-alive connection that brings no new request.
	IdleTimeout = 2 * time.Minute
)

// Timeouts are a server's connection deadlines. A zero field means its constant above.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
}

// Timeouts returns the configured deadlines, the constants where unset, so that no server
// runs without them.
func (a *App) Timeouts() Timeouts {
	t := a.Config.Timeouts
	for _, d := range []struct {
		dst *time.Duration
		def time.Duration
	}{{&t.ReadHeader, ReadHeaderTimeout}, {&t.Read, ReadTimeout}, {&t.Write, WriteTimeout}, {&t.Idle, IdleTimeout}} {
		if *d.dst <= 0 {
			*d.dst = d.def
		}
	}
	return t
}

// App is a configured Guard with its backends, metrics and logger.
type App struct {
	Config  Config
	Guard   *authframe.Guard
	Store   store.Store
	Logger  *slog.Logger
	Metrics http.Handler
	closers []func()
}

// New builds the App: store and cache per the configuration (unreachable at start is an
// error naming the variable), the signing key, the Guard and the admin user.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	a := &App{Config: cfg, Logger: logger}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	b, err := openBackends(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, b.close...)
	a.Store = b.store

	opts := []authframe.Option{
		authframe.WithIssuer(cfg.Issuer),
		authframe.WithAudience(cfg.Audience),
		authframe.WithTokens(authframe.TokenConfig{AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL}),
		authframe.WithSessions(authframe.SessionConfig{IdleTimeout: cfg.SessionIdle, AbsoluteTimeout: cfg.SessionAbsolute}),
		authframe.WithRateLimits(authframe.RateLimits{
			Login: cfg.LoginLimit, Window: cfg.LoginWindow,
			Account: limitOrOff(cfg.AccountLimit), Address: limitOrOff(cfg.AddressLimit),
			Register: limitOrOff(cfg.RegisterLimit), Refresh: limitOrOff(cfg.RefreshLimit),
		}),
		authframe.WithPublicURL(cfg.PublicURL),
		// DPoP (RFC 9449): proofs name the public URL; a login, refresh or OAuth token
		// request with a proof gets tokens bound to its key.
		dpop.WithProofs(),
		authframe.WithRolePermissions("admin", "*:*"),
		authframe.WithRolePermissions("user", "read:notes", "write:notes"),
		authframe.WithFailOpen(cfg.FailOpen),
		authframe.WithLogger(logger),
		authframe.WithStore(b.store),
	}
	if b.cache != nil {
		opts = append(opts, authframe.WithCache(authframe.CacheConfig{Shared: b.cache}))
	}
	opts = append(opts, b.observers...)
	switch {
	case cfg.Secret != nil:
		opts = append(opts, authframe.WithHMACSecret(cfg.Secret))
	case cfg.KeyFile != "":
		opts = append(opts, authframe.WithKeyFile(cfg.KeyFile))
	default:
		pem, err := keys.GenerateEd25519PEM()
		if err != nil {
			return nil, err
		}
		logger.Warn("no AUTHFRAME_SECRET or AUTHFRAME_KEY_FILE: generated an Ed25519 signing key; tokens do not survive a restart")
		opts = append(opts, authframe.WithKey(authframe.Key{PEM: pem}))
	}
	if cfg.InsecureCookies {
		opts = append(opts, authframe.WithInsecureCookies())
	}
	totpKey := cfg.TOTPKey
	if totpKey == nil {
		totpKey = make([]byte, totp.KeySize)
		if _, err := rand.Read(totpKey); err != nil {
			return nil, err
		}
		logger.Warn("no AUTHFRAME_TOTP_KEY: generated a key to seal TOTP secrets; users who turn on two-factor login cannot log in after a restart (set AUTHFRAME_TOTP_KEY)")
	}
	opts = append(opts, totp.WithTwoFactor(totpKey))
	if cfg.OIDCIssuer != "" {
		opts = append(opts, authframe.WithRemote(authframe.RemoteIssuer{Issuer: cfg.OIDCIssuer, Audience: []string{cfg.OIDCAudience}}))
	}
	g, err := authframe.New(opts...)
	if err != nil {
		return nil, err
	}
	a.Guard = g
	a.closers = append(a.closers, func() { g.Close() })
	a.Metrics = b.metrics
	if cfg.AdminUser != "" {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := a.ensureAdmin(c); err != nil {
			return nil, fmt.Errorf("AUTHFRAME_ADMIN_USER: %v", err)
		}
	}
	ok = true
	return a, nil
}

// ensureAdmin creates the administrator of AUTHFRAME_ADMIN_USER, or gives an existing user
// of that name the admin role (its password is kept).
func (a *App) ensureAdmin(ctx context.Context) error {
	cfg := a.Config
	_, err := a.Guard.Register(ctx, authframe.ClientInfo{}, cfg.AdminUser, cfg.AdminPassword, "admin")
	if !errors.Is(err, authframe.ErrConflict) {
		return err
	}
	u, ok, err := a.Store.GetUserByUsername(ctx, cfg.AdminUser)
	if err != nil || !ok {
		return errors.Join(err, errors.New("the user vanished"))
	}
	if slices.Contains(u.Roles, "admin") {
		return nil
	}
	return a.Guard.SetRoles(ctx, u.ID, append(slices.Clone(u.Roles), "admin")...)
}

// limitOrOff maps the apps' "0 is off" to RateLimits' "negative is off".
func limitOrOff(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// StepUpMaxAge is how recent the second-factor login behind GET /api/sensitive must be.
const StepUpMaxAge = 15 * time.Minute

// UserRoles are the roles of every user that POST /auth/register creates.
var UserRoles = []string{"user"}

// Close releases the Guard and the backends, newest first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// Main is the shared start-up of every example: configuration (read by load: LoadConfig,
// or LoadGatewayConfig for the gateway), logger, App. It exits with a one-line error on
// bad configuration.
func Main(framework string, load func(getenv func(string) string) (Config, error)) (*App, func()) {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authframe example:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a, err := New(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authframe example:", err)
		os.Exit(2)
	}
	logger.Info("authframe example listening", "framework", framework, "addr", cfg.Addr, "store", cfg.Store, "cache", cfg.Cache)
	return a, a.Close
}

// Serve runs h on the configured address until SIGINT or SIGTERM, then shuts down
// gracefully (at most 5 s). It returns a failure to listen, or nil.
func (a *App) Serve(h http.Handler) error {
	srv := a.server(h)
	return serveUntilSignal(srv.ListenAndServe, func(ctx context.Context) error { return srv.Shutdown(ctx) })
}

// server is the http.Server of the net/http-served examples (nethttp, gin, echo).
func (a *App) server(h http.Handler) *http.Server {
	t := a.Timeouts()
	return &http.Server{
		Addr: a.Config.Addr, Handler: h,
		ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle,
	}
}

// serveUntilSignal runs listen until it fails or a stop signal arrives, then calls
// shutdown with a 5-second deadline.
func serveUntilSignal(listen func() error, shutdown func(context.Context) error) error {
	errc := make(chan error, 1)
	go func() { errc <- listen() }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-stop:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return shutdown(ctx)
}

// ServeFunc is Serve for a framework with its own server (Fiber): listen serves on addr
// until shutdown is called.
func (a *App) ServeFunc(listen func(addr string) error, shutdown func(context.Context) error) error {
	return serveUntilSignal(func() error { return listen(a.Config.Addr) }, shutdown)
}

// Run is an example's main: configuration, App, serve, close; any failure exits 1 with a
// one-line error.
func Run(framework string, serve func(a *App) error) { RunWith(framework, LoadConfig, serve) }

// RunWith is Run with another configuration loader.
func RunWith(framework string, load func(getenv func(string) string) (Config, error), serve func(a *App) error) {
	a, closeApp := Main(framework, load)
	err := serve(a)
	closeApp()
	if err != nil {
		a.Logger.Error("listen", "error", err)
		os.Exit(1)
	}
}

// FrameworkError turns a framework's own HTTP error (unknown route, wrong method, body too
// large, a malformed request) into the contract's error shape.
func FrameworkError(status int, message string) error {
	switch {
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusMethodNotAllowed:
		return MethodNotAllowed
	case status == http.StatusRequestEntityTooLarge:
		return authframe.ErrPayloadTooLarge
	case status >= 400 && status < 500:
		if message == "" {
			message = http.StatusText(status)
		}
		return &authframe.Error{Code: authframe.ErrInvalidRequest, Status: status, Message: message}
	}
	return authframe.ErrInternal
}
