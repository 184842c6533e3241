package authframe

import (
	"context"
	"errors"
	"github.com/authframe/authframe/core/store"
	"time"
)

// DependencyHealth is the state of one dependency.
type DependencyHealth struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Breaker string `json:"breaker,omitempty"`
}

// HealthReport is the Guard's view of its dependencies.
type HealthReport struct {
	OK           bool               `json:"ok"`
	Dependencies []DependencyHealth `json:"dependencies"`
}

// Health checks every dependency: the store, the shared cache, the remote key source and
// the revocation feeds. Each check is bounded by one second.
func (g *Guard) Health(ctx context.Context) HealthReport {
	rep := HealthReport{OK: true}
	add := func(name string, err error, breaker any) {
		d := DependencyHealth{Name: name, OK: err == nil}
		if err != nil {
			d.Error = safeHealthError(err)
			rep.OK = false
		}
		if b, ok := breaker.(store.BreakerStater); ok {
			d.Breaker = b.BreakerState()
		}
		rep.Dependencies = append(rep.Dependencies, d)
	}
	check := func(f func(context.Context) error) error {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return f(c)
	}
	add("store", check(g.store.Ping), g.store)
	if g.l2 != nil {
		var err error
		if p, ok := g.l2.(store.Pinger); ok {
			err = check(p.Ping)
		}
		add("cache", err, g.l2)
	}
	for _, src := range g.remotes {
		err := check(func(c context.Context) error {
			keys, err := src.keys.Storage().KeyReadAll(c)
			if err == nil && len(keys) == 0 {
				err = errors.New("no keys")
			}
			return err
		})
		add("jwks", err, nil)
	}
	if !g.revocationsKnown() {
		add("revocation_feed", errors.New("not connected"), nil)
	}
	return rep
}

// safeHealthError keeps health output free of credentials and secrets that a driver may
// have put in its message (see scrubDependencyError), bounded in length.
func safeHealthError(err error) string {
	return truncateUTF8(scrubDependencyError(err.Error()), 200)
}
