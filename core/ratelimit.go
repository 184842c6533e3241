package authframe

import (
	"context"
	"fmt"
	"github.com/authframe/authframe/core/audit"
	"net/netip"
	"strconv"
	"time"
)

// RateLimits bounds what one client, one address or one account can ask of a Guard. A zero
// field takes its default; a negative one turns that limit off. Every count lives in the
// store, so instances sharing it share the limits.
type RateLimits struct {
	// Login attempts allowed per (client address, username) per Window, failed or not,
	// known username or not (default 10 per minute).
	Login  int
	Window time.Duration
	// Address is the login attempts allowed per client address per Window whatever the
	// username, against one address trying many accounts (default 100). IPv6 addresses
	// count by their /64, which one subscriber usually holds whole.
	Address int
	// Account is the login attempts one username may receive from all addresses together
	// per AccountWindow before each further attempt waits a backoff that doubles with every
	// attempt, from one second up to MaxBackoff (defaults: 20 per 15 minutes, 30 s). The
	// cap keeps an attacker from locking the real user out: the worst they can do is slow
	// the account to one attempt per MaxBackoff, while their own guessing is slowed alike.
	Account       int
	AccountWindow time.Duration
	MaxBackoff    time.Duration
	// Register is the registrations allowed per client address (IPv6: per /64) per
	// RegisterWindow (default 10 per hour).
	Register       int
	RegisterWindow time.Duration
	// Refresh is the refreshes allowed per session (token family) per Window (default 60),
	// so that one token holder cannot rotate without end.
	Refresh int
}

var defaultRateLimits = RateLimits{
	Login: 10, Window: time.Minute, Address: 100, Account: 20, AccountWindow: 15 * time.Minute,
	MaxBackoff: 30 * time.Second, Register: 10, RegisterWindow: time.Hour, Refresh: 60,
}

// WithRateLimits sets the Guard's rate limits; see RateLimits for each and its default.
func WithRateLimits(l RateLimits) Option {
	return optionFunc(func(c *config) {
		d := defaultRateLimits
		pick := func(v *int, def int) {
			if *v == 0 {
				*v = def
			}
		}
		pickD := func(v *time.Duration, def time.Duration) {
			if *v == 0 {
				*v = def
			}
		}
		pick(&l.Login, d.Login)
		pick(&l.Address, d.Address)
		pick(&l.Account, d.Account)
		pick(&l.Register, d.Register)
		pick(&l.Refresh, d.Refresh)
		pickD(&l.Window, d.Window)
		pickD(&l.AccountWindow, d.AccountWindow)
		pickD(&l.MaxBackoff, d.MaxBackoff)
		pickD(&l.RegisterWindow, d.RegisterWindow)
		if l.Window < 0 || l.AccountWindow < 0 || l.MaxBackoff < 0 || l.RegisterWindow < 0 {
			optErr(c, "WithRateLimits", fmt.Errorf("windows must be positive"))
			return
		}
		c.limits = l
	})
}

// addressKey is the rate-limit key of a client address: the address itself, or for IPv6
// its /64.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// limit counts one attempt of scope for key and refuses it past limit per window (a
// negative limit is off).
func (g *Guard) limit(ctx context.Context, scope, key string, limit int, window time.Duration, client ClientInfo) error {
	if limit < 0 {
		return nil
	}
	n, reset, err := g.store.Hit(ctx, scope+":"+key, window)
	if err != nil {
		return g.storeErr(ctx, "rate_limit", err)
	}
	if n > int64(limit) {
		return g.rateLimited(ctx, scope, reset, client)
	}
	return nil
}

func (g *Guard) rateLimited(ctx context.Context, scope string, reset time.Duration, client ClientInfo) error {
	g.observe(ctx, audit.Event{Type: audit.RateLimited, Kind: scope, ClientIP: client.IP, UserAgent: client.UserAgent})
	return &Error{Code: ErrRateLimited, RetryAfter: max(reset, time.Second)}
}

// accountBackoff counts a login attempt for username across all addresses and, past the
// account budget, lets one attempt through per backoff slot: the slot doubles with each
// further attempt up to MaxBackoff, and Retry-After says when the next one opens.
func (g *Guard) accountBackoff(ctx context.Context, username string, client ClientInfo) error {
	l := g.cfg.limits
	if l.Account < 0 {
		return nil
	}
	n, _, err := g.store.Hit(ctx, "login-account:"+username, l.AccountWindow)
	if err != nil {
		return g.storeErr(ctx, "rate_limit", err)
	}
	excess := n - int64(l.Account)
	if excess <= 0 {
		return nil
	}
	d := l.MaxBackoff
	if excess < 32 && time.Second<<(excess-1) < d {
		d = time.Second << (excess - 1)
	}
	now := g.cfg.now()
	slot := now.UnixNano() / int64(d)
	c, reset, err := g.store.Hit(ctx, "login-account-slot:"+strconv.FormatInt(int64(d), 36)+":"+strconv.FormatInt(slot, 36)+":"+username, d)
	if err != nil {
		return g.storeErr(ctx, "rate_limit", err)
	}
	if c > 1 {
		next := time.Duration(int64(d) - now.UnixNano()%int64(d))
		return g.rateLimited(ctx, "login_account", min(next, reset), client)
	}
	return nil
}
