package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// loader drives a running example app (examples/README.md's contract) with a mix of
// traffic that moves every panel of the dashboard: cached and fresh bearer tokens, cookie
// sessions, failed logins, a credential-stuffing burst that trips the rate limit,
// refreshes with a replayed token now and then, logouts and registrations.
type loader struct {
	base   string
	client *http.Client
	cookie string // the session cookie's name, learnt from the first session login

	mu    sync.Mutex
	users []*user
	seq   int
	errs  int
}

type user struct {
	mu       sync.Mutex
	name     string
	password string
	access   string
	refresh  string
	spent    string // a refresh token already exchanged, replayed to trip reuse detection
	cookie   string
}

func newLoader(base string) *loader {
	return &loader{base: strings.TrimRight(base, "/"), client: &http.Client{Timeout: 5 * time.Second}}
}

func (l *loader) do(ctx context.Context, method, path string, body any, hdr map[string]string) (int, []byte, http.Header) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return 0, nil, nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil // the run ended during the request
		}
		l.mu.Lock()
		l.errs++
		l.mu.Unlock()
		return 0, nil, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, resp.Header
}

func (l *loader) name(prefix string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1e6, l.seq)
}

// register makes a user and logs it in for a token pair.
func (l *loader) register(ctx context.Context) (*user, error) {
	u := &user{name: l.name("load"), password: "load-pass-" + l.name("p")}
	status, body, _ := l.do(ctx, "POST", "/auth/register", map[string]string{"username": u.name, "password": u.password}, nil)
	if status != http.StatusCreated {
		return nil, fmt.Errorf("POST /auth/register: %d %s", status, body)
	}
	if !l.login(ctx, u) {
		return nil, fmt.Errorf("POST /auth/token for a new user failed")
	}
	l.mu.Lock()
	l.users = append(l.users, u)
	l.mu.Unlock()
	return u, nil
}

func (l *loader) login(ctx context.Context, u *user) bool {
	status, body, _ := l.do(ctx, "POST", "/auth/token", map[string]string{"username": u.name, "password": u.password}, nil)
	var p struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &p) != nil {
		return false
	}
	u.access, u.refresh = p.Access, p.Refresh
	return true
}

func (l *loader) pick(r *rand.Rand) *user {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.users[r.IntN(len(l.users))]
}

// step is one action of a worker; phase is the elapsed share of the run, in [0, 1).
func (l *loader) step(ctx context.Context, r *rand.Rand, phase float64) {
	u := l.pick(r)
	u.mu.Lock()
	defer u.mu.Unlock()
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	x := r.Float64()
	switch {
	case phase > 0.35 && phase < 0.45 && x < 0.5:
		// Credential stuffing against a few accounts: bad passwords until the limit.
		l.mu.Lock()
		victim := l.users[r.IntN(min(3, len(l.users)))]
		l.mu.Unlock()
		l.do(ctx, "POST", "/auth/token", map[string]string{"username": victim.name, "password": "guess-" + l.name("g")}, nil)
	case x < 0.70:
		l.do(ctx, "GET", "/api/me", nil, bearer(u.access))
	case x < 0.76:
		l.login(ctx, u)
	case x < 0.80:
		// A typo, or a name that does not exist.
		name := u.name
		if r.IntN(2) == 0 {
			name = l.name("ghost")
		}
		l.do(ctx, "POST", "/auth/token", map[string]string{"username": name, "password": "wrong-password"}, nil)
	case x < 0.86:
		if u.cookie == "" {
			status, _, h := l.do(ctx, "POST", "/session/login", map[string]string{"username": u.name, "password": u.password}, nil)
			if status == http.StatusOK {
				for _, c := range (&http.Response{Header: h}).Cookies() {
					u.cookie = c.Value
					l.mu.Lock()
					l.cookie = c.Name
					l.mu.Unlock()
				}
			}
			return
		}
		l.mu.Lock()
		cookie := map[string]string{"Cookie": l.cookie + "=" + u.cookie}
		l.mu.Unlock()
		if status, _, _ := l.do(ctx, "GET", "/api/me", nil, cookie); status == http.StatusUnauthorized {
			u.cookie = ""
		}
		if r.IntN(4) == 0 { // an unsafe request without its CSRF token
			l.do(ctx, "POST", "/api/echo", map[string]int{"x": 1}, cookie)
		}
	case x < 0.91:
		replay := phase > 0.6 && phase < 0.7 && u.spent != "" && r.IntN(3) == 0
		tok := u.refresh
		if replay {
			tok = u.spent
		}
		status, body, _ := l.do(ctx, "POST", "/auth/refresh", map[string]string{"refresh_token": tok}, nil)
		var p struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if status == http.StatusOK && json.Unmarshal(body, &p) == nil {
			u.spent, u.access, u.refresh = u.refresh, p.Access, p.Refresh
		} else {
			l.login(ctx, u) // the family was revoked (a replay did it): start another
		}
	case x < 0.94:
		if phase > 0.75 && phase < 0.85 || r.IntN(3) == 0 {
			l.do(ctx, "POST", "/auth/logout", nil, bearer(u.access))
			l.login(ctx, u)
		}
	case x < 0.97:
		// Garbage and tampered tokens.
		bad := "not.a.token"
		if len(u.access) > 8 && r.IntN(2) == 0 {
			bad = u.access[:len(u.access)-4] + "AAAA"
		}
		l.do(ctx, "GET", "/api/me", nil, bearer(bad))
	default:
		if _, err := l.register(ctx); err != nil {
			l.mu.Lock()
			l.errs++
			l.mu.Unlock()
		}
	}
}

// run drives the app with workers until ctx ends, pausing pause between the steps of a
// worker; start and total give the phase of the run.
func (l *loader) run(ctx context.Context, workers int, pause time.Duration, start time.Time, total time.Duration) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for ctx.Err() == nil {
				l.step(ctx, r, float64(time.Since(start))/float64(total))
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		}()
	}
	wg.Wait()
}
