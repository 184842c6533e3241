// Command dpop-client logs in to an authframe app with DPoP (RFC 9449) and calls it with
// the bound token: every request carries a fresh proof signed by a key that never leaves
// the process, so a stolen access or refresh token is useless without it.
//
//	go run ./examples/nethttp &
//	go run ./examples/dpop-client -register -user alice -password 'correct horse'
//
// The password may come from AUTHFRAME_PASSWORD instead of the flag.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/authframe/authframe/core/dpop"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "the app's URL (its AUTHFRAME_PUBLIC_URL)")
	user := flag.String("user", "", "username")
	password := flag.String("password", os.Getenv("AUTHFRAME_PASSWORD"), "password (default $AUTHFRAME_PASSWORD)")
	register := flag.Bool("register", false, "register the user first")
	flag.Parse()
	if *user == "" || *password == "" {
		fmt.Fprintln(os.Stderr, "dpop-client: -user and -password (or AUTHFRAME_PASSWORD) are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, strings.TrimSuffix(*base, "/"), *user, *password, *register); err != nil {
		fmt.Fprintln(os.Stderr, "dpop-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, base, user, password string, register bool) error {
	// The DPoP key: in a real client, keep it as long as its tokens (in memory, or in a
	// key store that will not export it).
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	client, err := dpop.NewClient(key) // adds a fresh proof to every request
	if err != nil {
		return err
	}
	client.Timeout = 10 * time.Second
	creds := map[string]string{"username": user, "password": password}
	if register {
		if _, err := call(ctx, client, "POST", base+"/auth/register", "", creds, http.StatusCreated); err != nil {
			return fmt.Errorf("register: %w", err)
		}
	}
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
	}
	body, err := call(ctx, client, "POST", base+"/auth/token", "", creds, http.StatusOK)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if err := json.Unmarshal(body, &pair); err != nil {
		return err
	}
	if pair.TokenType != "DPoP" {
		// RFC 9449 §5: a client that asked for a bound token must check that it got one.
		return fmt.Errorf("login: the server answered a %q token, not a DPoP-bound one", pair.TokenType)
	}
	fmt.Fprintln(out, "logged in: token_type", pair.TokenType)

	me, err := call(ctx, client, "GET", base+"/api/me", pair.AccessToken, nil, http.StatusOK)
	if err != nil {
		return fmt.Errorf("/api/me: %w", err)
	}
	fmt.Fprintf(out, "/api/me: %s\n", bytes.TrimSpace(me))

	// The refresh token is bound too: it refreshes only with a proof by the same key.
	body, err = call(ctx, client, "POST", base+"/auth/refresh", "", map[string]string{"refresh_token": pair.RefreshToken}, http.StatusOK)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if err := json.Unmarshal(body, &pair); err != nil {
		return err
	}
	fmt.Fprintln(out, "refreshed: token_type", pair.TokenType)

	// The same token without the key, as a thief would present it, is refused.
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Fprintln(out, "the token as a bearer token:", resp.StatusCode)
	return nil
}

// call sends a JSON request (with "Authorization: DPoP <token>" when token is set; the
// client adds the proof) and returns the body of an answer of status want.
func call(ctx context.Context, client *http.Client, method, url, token string, body any, want int) ([]byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "DPoP "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, errors.New(resp.Status + ": " + string(bytes.TrimSpace(b)))
	}
	return b, nil
}
