// Command service-client is a service calling another with a token of its own: it gets an
// access token with the OAuth 2.0 client credentials grant
// (golang.org/x/oauth2/clientcredentials), calls a protected route of an example app at a
// fixed interval, and fetches a new token by itself shortly before the current one expires.
//
//	AUTHFRAME_URL=http://127.0.0.1:8080 AUTHFRAME_CLIENT_ID=cl_... AUTHFRAME_CLIENT_SECRET=... \
//	AUTHFRAME_SCOPES=read:reports go run ./examples/service-client -every 5s
//
// Each call prints its status, each new token its scope and lifetime (never the token). A
// status other than 200, or a token the app refuses to issue, ends the program with exit
// status 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Config is what the client needs: where the app is, who the client is, and what to call.
type Config struct {
	// URL is the app's base URL (AUTHFRAME_URL); tokens come from URL + "/oauth/token".
	URL string
	// ClientID and ClientSecret are the client's credentials (AUTHFRAME_CLIENT_ID,
	// AUTHFRAME_CLIENT_SECRET), as POST /admin/clients answered them.
	ClientID, ClientSecret string
	// Scopes are the scopes asked for (AUTHFRAME_SCOPES, space- or comma-separated); none
	// means all of the client's.
	Scopes []string
	// Path is the route called with GET (default /api/reports).
	Path string
	// Every is the time between two calls (default 5 s).
	Every time.Duration
	// Calls stops the client after that many calls; 0 calls until the context ends.
	Calls int
	// EarlyExpiry is how long before its expiry a token is replaced (default 10 s, as
	// golang.org/x/oauth2 does), so that no call carries a token that expires on the way.
	EarlyExpiry time.Duration
	// HTTPClient makes every request, the token requests included (default: one with a
	// 10 s timeout).
	HTTPClient *http.Client
}

// ConfigFromEnv reads the client's variables through getenv. A missing or bad value is an
// error that names its variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{URL: strings.TrimRight(getenv("AUTHFRAME_URL"), "/"), ClientID: getenv("AUTHFRAME_CLIENT_ID"), ClientSecret: getenv("AUTHFRAME_CLIENT_SECRET")}
	if cfg.URL == "" {
		return Config{}, errors.New("AUTHFRAME_URL is required: the app's base URL, such as http://127.0.0.1:8080")
	}
	if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return Config{}, fmt.Errorf("AUTHFRAME_URL %q is not an http or https base URL", cfg.URL)
	}
	if cfg.ClientID == "" {
		return Config{}, errors.New("AUTHFRAME_CLIENT_ID is required: the client_id that POST /admin/clients answered")
	}
	if cfg.ClientSecret == "" {
		return Config{}, errors.New("AUTHFRAME_CLIENT_SECRET is required: the client_secret that POST /admin/clients answered")
	}
	cfg.Scopes = strings.FieldsFunc(getenv("AUTHFRAME_SCOPES"), func(r rune) bool { return r == ' ' || r == ',' })
	return cfg, nil
}

// Run calls cfg.Path every cfg.Every with a client-credentials token, printing one line
// per call and per new token to out, until ctx ends (nil) or cfg.Calls calls are done
// (nil), or a call fails: a status other than 200, or no token, is the error returned.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Path == "" {
		cfg.Path = "/api/reports"
	}
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.EarlyExpiry <= 0 {
		cfg.EarlyExpiry = 10 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	base := strings.TrimRight(cfg.URL, "/")
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: base + "/oauth/token", Scopes: cfg.Scopes}
	// The reusing source asks fetch for a token only when the one it holds is within
	// EarlyExpiry of its expiry, so each line fetch prints is a token actually requested.
	ts := oauth2.ReuseTokenSourceWithExpiry(nil, fetch{ctx: ctx, cfg: cc, out: out}, cfg.EarlyExpiry)
	api := oauth2.NewClient(ctx, ts)

	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	for n := 0; cfg.Calls == 0 || n < cfg.Calls; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		status, err := get(ctx, api, base+cfg.Path)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("GET %s: %w", cfg.Path, err)
		}
		fmt.Fprintf(out, "%s GET %s: %d %s\n", stamp(), cfg.Path, status, http.StatusText(status))
		if status != http.StatusOK {
			return fmt.Errorf("GET %s answered %d %s", cfg.Path, status, http.StatusText(status))
		}
	}
	return nil
}

// fetch gets a new token at every call; oauth2.ReuseTokenSourceWithExpiry in front of it
// decides when one is needed.
type fetch struct {
	ctx context.Context
	cfg *clientcredentials.Config
	out io.Writer
}

// Token asks the token endpoint for a token and notes it (its scope and lifetime only).
func (f fetch) Token() (*oauth2.Token, error) {
	tok, err := f.cfg.Token(f.ctx)
	if err != nil {
		return nil, err
	}
	scope, _ := tok.Extra("scope").(string)
	fmt.Fprintf(f.out, "%s new token: scope %q, expires in %v\n", stamp(), scope, time.Until(tok.Expiry).Round(time.Second))
	return tok, nil
}

func get(ctx context.Context, c *http.Client, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

func stamp() string { return time.Now().UTC().Format(time.RFC3339) }

func main() {
	every := flag.Duration("every", 5*time.Second, "time between two calls")
	path := flag.String("path", "/api/reports", "the route to GET")
	calls := flag.Int("n", 0, "stop after this many calls (0: until interrupted)")
	early := flag.Duration("early", 10*time.Second, "replace a token this long before it expires")
	flag.Parse()
	if *every <= 0 || *calls < 0 || *early <= 0 || !strings.HasPrefix(*path, "/") {
		fmt.Fprintln(os.Stderr, "service-client: -every and -early must be positive, -n at least 0, and -path must start with /")
		os.Exit(2)
	}
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "service-client:", err)
		os.Exit(1)
	}
	cfg.Every, cfg.Path, cfg.Calls, cfg.EarlyExpiry = *every, *path, *calls, *early
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = Run(ctx, cfg, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "service-client:", err)
		os.Exit(1)
	}
}
