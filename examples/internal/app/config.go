// Package app is the framework-neutral part of the example apps: configuration from the
// environment, the wiring of the Guard with its store and cache, and the contract's
// endpoints as plain functions. Each example binds these to its framework with that
// framework's authframe adapter.
package app

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/authframe/authframe/core/totp"
)

// Config is the example apps' configuration (see examples/README.md).
type Config struct {
	Addr        string
	Store       string
	Cache       string
	RedisURL    string
	DatabaseURL string
	// KeyPrefix is the Redis key prefix of the store and the cache (AUTHFRAME_KEY_PREFIX;
	// empty: each one's default), DBSchema the PostgreSQL schema (AUTHFRAME_DB_SCHEMA;
	// empty: public). Several deployments, or test runs, can share one server with them.
	KeyPrefix       string
	DBSchema        string
	Secret          []byte
	KeyFile         string
	Issuer          string
	Audience        string
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	LoginLimit      int
	LoginWindow     time.Duration
	AdminUser       string
	AdminPassword   string
	OIDCIssuer      string
	OIDCAudience    string
	FailOpen        bool
	InsecureCookies bool
	// TOTPKey seals the users' TOTP secrets (AUTHFRAME_TOTP_KEY, base64 of 32 bytes); nil
	// when unset, and New then generates one.
	TOTPKey []byte
	// PublicURL is the app's external origin (AUTHFRAME_PUBLIC_URL, default http://ADDR).
	PublicURL string
	// AccountLimit, AddressLimit, RegisterLimit and RefreshLimit are the Guard's further
	// rate limits (AUTHFRAME_ACCOUNT_LIMIT and so on); 0, the default, turns each off, so
	// that the apps keep the contract's behaviour unless configured.
	AccountLimit  int
	AddressLimit  int
	RegisterLimit int
	RefreshLimit  int
	// Timeouts are the server's connection deadlines; the environment does not set them
	// (LoadConfig leaves the defaults), tests shorten them.
	Timeouts Timeouts
	// Gateway is examples/gateway's own part, read by LoadGatewayConfig only.
	Gateway GatewayConfig
}

// LoadConfig reads the environment through getenv. Every bad value is an error naming its
// variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:          get("ADDR", "127.0.0.1:8080"),
		Store:         get("AUTHFRAME_STORE", "memory"),
		Cache:         get("AUTHFRAME_CACHE", "lru"),
		RedisURL:      get("REDIS_URL", "redis://127.0.0.1:6379/0"),
		DatabaseURL:   get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		KeyFile:       getenv("AUTHFRAME_KEY_FILE"),
		KeyPrefix:     getenv("AUTHFRAME_KEY_PREFIX"),
		DBSchema:      getenv("AUTHFRAME_DB_SCHEMA"),
		Audience:      get("AUTHFRAME_AUDIENCE", "authframe-example"),
		AdminUser:     getenv("AUTHFRAME_ADMIN_USER"),
		AdminPassword: getenv("AUTHFRAME_ADMIN_PASSWORD"),
		OIDCIssuer:    getenv("AUTHFRAME_OIDC_ISSUER"),
	}
	c.Timeouts = Timeouts{ReadHeader: ReadHeaderTimeout, Read: ReadTimeout, Write: WriteTimeout, Idle: IdleTimeout}
	c.Issuer = get("AUTHFRAME_ISSUER", "http://"+c.Addr)
	c.PublicURL = get("AUTHFRAME_PUBLIC_URL", "http://"+c.Addr)
	if err := checkURL(c.PublicURL); err != nil {
		return c, fmt.Errorf("AUTHFRAME_PUBLIC_URL: %v", err)
	}
	c.OIDCAudience = get("AUTHFRAME_OIDC_AUDIENCE", c.Audience)
	switch c.Store {
	case "memory", "redis", "postgres":
	default:
		return c, fmt.Errorf("AUTHFRAME_STORE: unknown store %q (want memory, redis or postgres)", c.Store)
	}
	if strings.ContainsAny(c.KeyPrefix, " \t\r\n") || len(c.KeyPrefix) > 64 {
		return c, errors.New("AUTHFRAME_KEY_PREFIX: at most 64 characters without spaces")
	}
	switch c.Cache {
	case "lru", "redis":
	default:
		return c, fmt.Errorf("AUTHFRAME_CACHE: unknown cache %q (want lru or redis)", c.Cache)
	}
	if s := getenv("AUTHFRAME_SECRET"); s != "" {
		if len(s) < 32 {
			return c, fmt.Errorf("AUTHFRAME_SECRET: %d bytes is too short (at least 32)", len(s))
		}
		c.Secret = []byte(s)
	}
	if c.Secret != nil && c.KeyFile != "" {
		return c, errors.New("AUTHFRAME_SECRET and AUTHFRAME_KEY_FILE: set one, not both")
	}
	if v := getenv("AUTHFRAME_TOTP_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			k, err = base64.RawStdEncoding.DecodeString(v)
		}
		if err != nil || len(k) != totp.KeySize {
			return c, fmt.Errorf("AUTHFRAME_TOTP_KEY: want the base64 of %d random bytes (e.g. openssl rand -base64 32)", totp.KeySize)
		}
		c.TOTPKey = k
	}
	if c.KeyFile != "" {
		if _, err := os.Stat(c.KeyFile); err != nil {
			return c, fmt.Errorf("AUTHFRAME_KEY_FILE: %v", err)
		}
	}
	durations := []struct {
		name string
		def  string
		dst  *time.Duration
	}{
		{"AUTHFRAME_ACCESS_TTL", "15m", &c.AccessTTL},
		{"AUTHFRAME_REFRESH_TTL", "720h", &c.RefreshTTL},
		{"AUTHFRAME_SESSION_IDLE", "30m", &c.SessionIdle},
		{"AUTHFRAME_SESSION_ABSOLUTE", "24h", &c.SessionAbsolute},
		{"AUTHFRAME_LOGIN_WINDOW", "1m", &c.LoginWindow},
	}
	for _, d := range durations {
		v, err := time.ParseDuration(get(d.name, d.def))
		if err != nil {
			return c, fmt.Errorf("%s: %v", d.name, err)
		}
		if v <= 0 {
			return c, fmt.Errorf("%s: must be positive, got %s", d.name, v)
		}
		*d.dst = v
	}
	n, err := strconv.Atoi(get("AUTHFRAME_LOGIN_LIMIT", "10"))
	if err != nil || n <= 0 {
		return c, fmt.Errorf("AUTHFRAME_LOGIN_LIMIT: want a positive integer, got %q", getenv("AUTHFRAME_LOGIN_LIMIT"))
	}
	c.LoginLimit = n
	for _, l := range []struct {
		name string
		dst  *int
	}{{"AUTHFRAME_ACCOUNT_LIMIT", &c.AccountLimit}, {"AUTHFRAME_ADDRESS_LIMIT", &c.AddressLimit}, {"AUTHFRAME_REGISTER_LIMIT", &c.RegisterLimit}, {"AUTHFRAME_REFRESH_LIMIT", &c.RefreshLimit}} {
		v := getenv(l.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("%s: want a non-negative integer, got %q", l.name, v)
		}
		*l.dst = n
	}
	if (c.AdminUser == "") != (c.AdminPassword == "") {
		return c, errors.New("AUTHFRAME_ADMIN_USER and AUTHFRAME_ADMIN_PASSWORD: set both or neither")
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"AUTHFRAME_FAIL_OPEN", &c.FailOpen}, {"AUTHFRAME_INSECURE_COOKIES", &c.InsecureCookies}} {
		switch v := getenv(b.name); v {
		case "", "0", "false":
		case "1", "true":
			*b.dst = true
		default:
			return c, fmt.Errorf("%s: want 1 or unset, got %q", b.name, v)
		}
	}
	return c, nil
}

// checkURL accepts an absolute http(s) URL.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
