package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	authframe "github.com/authframe/authframe/core"
	pgstore "github.com/authframe/authframe/stores/postgres"
)

// check is one finding of doctor.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail or skip
	Detail string `json:"detail"`
}

type checks []check

func (c *checks) add(name, status, format string, args ...any) {
	*c = append(*c, check{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
}

func (c checks) failed() bool {
	for _, x := range c {
		if x.Status == "fail" {
			return true
		}
	}
	return false
}

// Clock skew thresholds: within skewOK nothing is said; within the Guard's default leeway
// (10 s) tokens still verify, but the margin is eaten; beyond it tokens issued by one
// machine are refused as not yet valid by another.
const (
	skewOK   = time.Second
	skewFail = 10 * time.Second
)

// envConfig checks the apps' environment (CONTRACT.md: "Starting an app") the way the apps
// read it, and builds the Guard they would build, so that a bad value is found before a
// deployment rather than by an app refusing to start. It returns the store URL the apps
// would use ("" for the memory store).
func envConfig(cs *checks) string {
	get := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			return v
		}
		return def
	}
	bad := func(name, format string, args ...any) { cs.add("env "+name, "fail", format, args...) }
	var opts []authframe.Option

	addr := get("ADDR", "127.0.0.1:8080")
	storeKind, cacheKind := get("AUTHFRAME_STORE", "memory"), get("AUTHFRAME_CACHE", "lru")
	redisURL := get("REDIS_URL", "redis://127.0.0.1:6379/0")
	dbURL := get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	storeURL := ""
	switch storeKind {
	case "memory":
	case "redis":
		storeURL = redisURL
	case "postgres":
		storeURL = dbURL
		if _, err := pgx.ParseConfig(dbURL); err != nil {
			bad("DATABASE_URL", "%v", err)
		}
	default:
		bad("AUTHFRAME_STORE", "%q: want memory, redis or postgres", storeKind)
	}
	switch cacheKind {
	case "lru", "redis":
	default:
		bad("AUTHFRAME_CACHE", "%q: want lru or redis", cacheKind)
	}
	if storeKind == "redis" || cacheKind == "redis" {
		if _, err := redis.ParseURL(redisURL); err != nil {
			bad("REDIS_URL", "%v", err)
		}
	}

	secret, keyFile := os.Getenv("AUTHFRAME_SECRET"), os.Getenv("AUTHFRAME_KEY_FILE")
	switch {
	case secret != "" && len(secret) < 32:
		bad("AUTHFRAME_SECRET", "%d bytes: at least 32", len(secret))
	case secret != "":
		opts = append(opts, authframe.WithHMACSecret([]byte(secret)))
	}
	if keyFile != "" {
		if _, err := os.Stat(keyFile); err != nil {
			bad("AUTHFRAME_KEY_FILE", "%v", err)
		} else {
			opts = append(opts, authframe.WithKeyFile(keyFile))
		}
	}
	if secret == "" && keyFile == "" {
		cs.add("env signing key", "warn", "neither AUTHFRAME_SECRET nor AUTHFRAME_KEY_FILE: each app generates a key at start, so tokens do not survive a restart and instances do not accept each other's")
		// Stand in for the generated key so that the rest of the configuration is checked.
		opts = append(opts, authframe.WithHMACSecret([]byte(strings.Repeat("k", 32))))
	}

	issuer, audience := get("AUTHFRAME_ISSUER", "http://"+addr), get("AUTHFRAME_AUDIENCE", "authframe-example")
	if os.Getenv("AUTHFRAME_ISSUER") == "" {
		cs.add("env AUTHFRAME_ISSUER", "warn", "unset: the issuer is %s, which depends on ADDR; give every instance of one service the same AUTHFRAME_ISSUER", issuer)
	}
	opts = append(opts, authframe.WithIssuer(issuer), authframe.WithAudience(audience))

	dur := func(name string, def time.Duration) time.Duration {
		d, err := envDuration(name, def)
		if err != nil {
			bad(name, "%v", err)
			return def
		}
		return d
	}
	access, refresh := dur("AUTHFRAME_ACCESS_TTL", 15*time.Minute), dur("AUTHFRAME_REFRESH_TTL", 720*time.Hour)
	idle, absolute := dur("AUTHFRAME_SESSION_IDLE", 30*time.Minute), dur("AUTHFRAME_SESSION_ABSOLUTE", 24*time.Hour)
	window := dur("AUTHFRAME_LOGIN_WINDOW", time.Minute)
	limit := 10
	if v := os.Getenv("AUTHFRAME_LOGIN_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			bad("AUTHFRAME_LOGIN_LIMIT", "%q: want a positive whole number", v)
		} else {
			limit = n
		}
	}
	opts = append(opts,
		authframe.WithTokens(authframe.TokenConfig{AccessTTL: access, RefreshTTL: refresh}),
		authframe.WithSessions(authframe.SessionConfig{IdleTimeout: idle, AbsoluteTimeout: absolute}),
		authframe.WithRateLimits(authframe.RateLimits{Login: limit, Window: window}),
	)

	user, pass := os.Getenv("AUTHFRAME_ADMIN_USER"), os.Getenv("AUTHFRAME_ADMIN_PASSWORD")
	switch {
	case (user == "") != (pass == ""):
		bad("AUTHFRAME_ADMIN_USER", "AUTHFRAME_ADMIN_USER and AUTHFRAME_ADMIN_PASSWORD go together")
	case user != "":
		if err := checkUsername(user); err != nil {
			bad("AUTHFRAME_ADMIN_USER", "%v", err)
		}
		if len(pass) < 8 || len(pass) > 256 {
			bad("AUTHFRAME_ADMIN_PASSWORD", "password must be 8 to 256 bytes")
		}
	}
	for _, name := range []string{"AUTHFRAME_FAIL_OPEN", "AUTHFRAME_INSECURE_COOKIES"} {
		if v := os.Getenv(name); v != "" && v != "1" {
			bad(name, "%q: set it to 1, or leave it unset", v)
		}
	}
	if os.Getenv("AUTHFRAME_INSECURE_COOKIES") == "1" {
		cs.add("env AUTHFRAME_INSECURE_COOKIES", "warn", "session cookies are sent over plain http: for local development only")
		opts = append(opts, authframe.WithInsecureCookies())
	}
	if os.Getenv("AUTHFRAME_FAIL_OPEN") == "1" {
		cs.add("env AUTHFRAME_FAIL_OPEN", "warn", "tokens are accepted when a revocation cannot be checked")
	}
	checkURL := func(name, v string) bool {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(name, "%q: want an absolute http(s) URL", v)
			return false
		}
		return true
	}
	if v := os.Getenv("AUTHFRAME_PUBLIC_URL"); v != "" {
		if checkURL("AUTHFRAME_PUBLIC_URL", v) {
			opts = append(opts, authframe.WithPublicURL(v))
		}
	} else {
		opts = append(opts, authframe.WithPublicURL("http://"+addr))
	}
	if v := os.Getenv("AUTHFRAME_OIDC_ISSUER"); v != "" && checkURL("AUTHFRAME_OIDC_ISSUER", v) && strings.HasPrefix(v, "http://") {
		cs.add("env AUTHFRAME_OIDC_ISSUER", "warn", "%s is plain http: its keys can be changed in transit", v)
	}

	if !cs.failed() {
		g, err := authframe.New(opts...)
		if err != nil {
			cs.add("guard configuration", "fail", "%v", err)
		} else {
			g.Close()
			cs.add("guard configuration", "ok", "issuer %s, audience %s, access tokens %s, refresh %s, sessions %s idle / %s absolute", issuer, audience, access, refresh, idle, absolute)
		}
	}
	return storeURL
}

// skew measures the offset of a server's clock from this machine's: the server's time
// against the midpoint of the round trip that read it.
func skew(before, server, after time.Time) time.Duration {
	return server.Sub(before.Add(after.Sub(before) / 2))
}

func judgeSkew(cs *checks, name string, d, rtt time.Duration) {
	switch a := d.Abs(); {
	case a <= skewOK:
		cs.add(name, "ok", "%s from this machine (round trip %s)", d.Round(time.Millisecond), rtt.Round(time.Microsecond))
	case a <= skewFail:
		cs.add(name, "warn", "%s from this machine: within the tokens' default leeway (10 s), but run NTP everywhere", d.Round(time.Millisecond))
	default:
		cs.add(name, "fail", "%s from this machine: beyond the tokens' leeway, instances will refuse each other's tokens; run NTP everywhere", d.Round(time.Millisecond))
	}
}

func storeChecks(ctx context.Context, cs *checks, storeURL, prefix string) {
	start := time.Now()
	st, closeStore, err := openStoreWith(ctx, storeURL, prefix, false)
	if err != nil {
		cs.add("store connectivity", "fail", "%s: %v", redactURL(storeURL), err)
		return
	}
	defer closeStore()
	if err := st.Ping(ctx); err != nil {
		cs.add("store connectivity", "fail", "%s: %v", redactURL(storeURL), err)
		return
	}
	cs.add("store connectivity", "ok", "%s answers (%s to connect and ping)", redactURL(storeURL), time.Since(start).Round(time.Millisecond))

	switch s := st.(type) {
	case *pgstore.Store:
		applied, pending, err := s.SchemaVersion(ctx)
		switch {
		case err != nil:
			cs.add("schema version", "fail", "%v", err)
		case len(pending) > 0:
			cs.add("schema version", "fail", "%d migration(s) pending (%s): the apps apply them at start, as does any authframe command other than doctor", len(pending), strings.Join(pending, ", "))
		default:
			cs.add("schema version", "ok", "version %d, every migration of this release applied", applied[len(applied)-1])
		}
		conn, err := pgx.Connect(ctx, storeURL)
		if err != nil {
			cs.add("clock skew (PostgreSQL now())", "fail", "%v", err)
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var server time.Time
		before := time.Now()
		err = conn.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&server)
		after := time.Now()
		if err != nil {
			cs.add("clock skew (PostgreSQL now())", "fail", "%v", err)
			return
		}
		judgeSkew(cs, "clock skew (PostgreSQL now())", skew(before, server, after), after.Sub(before))
	default:
		cs.add("schema version", "skip", "Redis keeps no schema")
		opt, err := redis.ParseURL(storeURL)
		if err != nil {
			cs.add("clock skew (Redis TIME)", "fail", "%v", err)
			return
		}
		c := redis.NewClient(opt)
		defer c.Close()
		before := time.Now()
		server, err := c.Time(ctx).Result()
		after := time.Now()
		if err != nil {
			cs.add("clock skew (Redis TIME)", "fail", "%v", err)
			return
		}
		judgeSkew(cs, "clock skew (Redis TIME)", skew(before, server, after), after.Sub(before))
	}
}

func newDoctorCmd(a *app) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check the apps' configuration, the store, its schema and the clocks",
		Long: `Check a deployment: the apps' environment variables (as the apps read them) and the
Guard they build, the store's connectivity, its schema version (PostgreSQL; doctor
applies nothing), and the clock skew between this machine and the store (Redis TIME,
PostgreSQL clock_timestamp()). The store is --store or $AUTHFRAME_STORE_URL, else the
one the apps' AUTHFRAME_STORE, REDIS_URL and DATABASE_URL name. Exit code 1 when a check
fails; warnings do not fail.`,
		Args: noArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var cs checks
			appStore := envConfig(&cs)
			storeURL := a.url()
			if storeURL == "" {
				storeURL = appStore
			}
			if storeURL == "" {
				cs.add("store", "skip", "the memory store: nothing to reach (pass --store or set %s to check another)", envStoreURL)
			} else {
				storeChecks(ctx, &cs, storeURL, a.prefix)
			}
			err := a.emit(map[string]any{"checks": cs, "ok": !cs.failed()}, func(w io.Writer) {
				for _, x := range cs {
					fmt.Fprintf(w, "%-4s  %s: %s\n", strings.ToUpper(x.Status), x.Name, x.Detail)
				}
			})
			if err != nil {
				return err
			}
			if cs.failed() {
				return withCode(exitFailure, "doctor: some checks failed")
			}
			return nil
		}),
	}
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up on the store after this long")
	return c
}
