package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/store"
)

// BodyLimit is the largest request body accepted (64 KiB); larger ones get 413.
const BodyLimit = 64 << 10

// RequestTimeout bounds the work of one request, so that a dead dependency answers 503
// within a second instead of stalling.
const RequestTimeout = 900 * time.Millisecond

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
		authframe.WithTokenTTL(cfg.AccessTTL, cfg.RefreshTTL),
		authframe.WithSessionTimeouts(cfg.SessionIdle, cfg.SessionAbsolute),
		authframe.WithLoginRateLimit(cfg.LoginLimit, cfg.LoginWindow),
		authframe.WithRolePermissions("admin", "*:*"),
		authframe.WithFailOpen(cfg.FailOpen),
		authframe.WithLogger(logger),
		authframe.WithStore(b.store),
	}
	if b.cache != nil {
		opts = append(opts, authframe.WithSharedCache(b.cache))
	}
	opts = append(opts, b.observers...)
	switch {
	case cfg.Secret != nil:
		opts = append(opts, authframe.WithHMACSecret("", cfg.Secret))
	case cfg.KeyFile != "":
		opts = append(opts, authframe.WithKeyFile(cfg.KeyFile))
	default:
		pem, err := authframe.GenerateEd25519PEM()
		if err != nil {
			return nil, err
		}
		logger.Warn("no AUTHFRAME_SECRET or AUTHFRAME_KEY_FILE: generated an Ed25519 signing key; tokens do not survive a restart")
		opts = append(opts, authframe.WithKeyPEM(pem))
	}
	if cfg.InsecureCookies {
		opts = append(opts, authframe.WithInsecureCookies())
	}
	if cfg.OIDCIssuer != "" {
		opts = append(opts, authframe.WithOIDC(cfg.OIDCIssuer, cfg.OIDCAudience))
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
		if _, err := g.EnsureUser(c, cfg.AdminUser, cfg.AdminPassword, "admin"); err != nil {
			return nil, fmt.Errorf("AUTHFRAME_ADMIN_USER: %v", err)
		}
	}
	ok = true
	return a, nil
}

// Close releases the Guard and the backends, newest first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// Main is the shared start-up of every example: configuration, logger, App. It exits with
// a one-line error on bad configuration.
func Main(framework string) (*App, func()) {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := LoadConfig(os.Getenv)
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
