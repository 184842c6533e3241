package authframe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/authframe/authframe/core/audit"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authframe/authframe/core/store"
)

// revocationSet is the in-memory revocation set checked on every cached hit and every
// verification. Writes bump a generation counter so that a hit whose entry was already
// checked against the current generation costs one atomic load.
type revocationSet struct {
	gen      atomic.Uint64
	sessions sync.Map // sid -> expiry time.Time
	tokens   sync.Map // jti -> expiry time.Time
	users    sync.Map // user id -> revokedAt (time.Time); tokens issued at or before are revoked
	clients  sync.Map // service client id -> expiry: every token of the client
	apiKeys  sync.Map // API key id -> expiry
	count    atomic.Int64

	// limit caps the entries; 0 means no cap. full is set when a new revocation was
	// refused for the cap and cleared by a sweep that makes room.
	limit int64
	full  atomic.Bool

	// unsynced counts feeds that are currently disconnected or catching up.
	unsynced atomic.Int32
	onLost   func()

	mu     sync.Mutex
	latest time.Time
}

// add records r. An entry already present keeps the later of the two values, so a replayed
// older revocation never shortens one (nor lowers a user's cutoff). It reports false, and
// records nothing, when r is new and the set is full (see maxRevocations).
func (s *revocationSet) add(r store.Revocation, capped bool) bool {
	var m *sync.Map
	var val time.Time
	switch r.Kind {
	case store.RevokeSession:
		m, val = &s.sessions, r.ExpiresAt
	case store.RevokeToken:
		m, val = &s.tokens, r.ExpiresAt
	case store.RevokeUser:
		m, val = &s.users, r.At
	case store.RevokeClient:
		m, val = &s.clients, r.ExpiresAt
	case store.RevokeAPIKey:
		m, val = &s.apiKeys, r.ExpiresAt
	default:
		return true
	}
	for {
		old, loaded := m.Load(r.Key)
		if !loaded {
			if capped && s.limit > 0 && s.count.Load() >= s.limit {
				s.full.Store(true)
				return false
			}
			if _, loaded = m.LoadOrStore(r.Key, val); !loaded {
				s.count.Add(1)
				break
			}
			continue
		}
		if !val.After(old.(time.Time)) || m.CompareAndSwap(r.Key, old, val) {
			break
		}
	}
	s.mu.Lock()
	if r.At.After(s.latest) {
		s.latest = r.At
	}
	s.mu.Unlock()
	s.gen.Add(1)
	return true
}

// revoked reports whether p is covered by a revocation.
func (s *revocationSet) revoked(p *Principal) bool {
	if s.count.Load() == 0 {
		return false
	}
	if p.SessionID != "" {
		if _, ok := s.sessions.Load(p.SessionID); ok {
			return true
		}
	}
	if p.TokenID != "" {
		if _, ok := s.tokens.Load(p.TokenID); ok {
			return true
		}
	}
	// User, client and key revocations name this Guard's own: a remote issuer's subject
	// or client that happens to share an id is someone else.
	if !p.Local {
		return false
	}
	if p.ClientID != "" {
		if _, ok := s.clients.Load(p.ClientID); ok {
			return true
		}
	}
	if p.KeyID != "" {
		if _, ok := s.apiKeys.Load(p.KeyID); ok {
			return true
		}
	}
	if v, ok := s.users.Load(p.UserID); ok && !p.IssuedAt.After(v.(time.Time)) {
		return true
	}
	return false
}

// check is the hit-path form: one atomic load when nothing changed since the entry was
// last checked.
func (s *revocationSet) check(e *cacheEntry) bool {
	g := s.gen.Load()
	if e.gen.Load() == g {
		return false
	}
	if s.revoked(e.p) {
		return true
	}
	e.gen.Store(g)
	return false
}

// sweep forgets revocations whose tokens have all expired. An entry raised by add while
// the sweep looks at it is kept: only the value seen expired is deleted.
func (s *revocationSet) sweep(now time.Time, userKeep time.Duration) {
	drop := func(m *sync.Map, expired func(time.Time) bool) {
		m.Range(func(k, v any) bool {
			if expired(v.(time.Time)) {
				if sweepHook != nil {
					sweepHook()
				}
				if m.CompareAndDelete(k, v) {
					s.count.Add(-1)
				}
			}
			return true
		})
	}
	drop(&s.sessions, func(t time.Time) bool { return !now.Before(t) })
	drop(&s.tokens, func(t time.Time) bool { return !now.Before(t) })
	drop(&s.clients, func(t time.Time) bool { return !now.Before(t) })
	drop(&s.apiKeys, func(t time.Time) bool { return !now.Before(t) })
	drop(&s.users, func(t time.Time) bool { return now.Sub(t) > userKeep })
	if s.limit > 0 && s.count.Load() < s.limit {
		s.full.Store(false)
	}
}

// maxRevocations caps the revocation set against a flood: past it, revocations from feeds
// are refused and every token is unconfirmed (503, or accepted under WithFailOpen) until a
// sweep makes room; the refusal is reported as a dependency error of kind
// "revocation_set", op "full".
const maxRevocations = 1 << 20

// sweepHook runs between a sweep's expiry check and its delete; tests set it to drive a
// concurrent add into that window.
var sweepHook func()

func (s *revocationSet) since() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// feedWatcher adapts one feed to the set, tracking whether it is in sync.
type feedWatcher struct {
	set    *revocationSet
	synced atomic.Bool
	g      *Guard
	name   string
	first  chan struct{}
	once   sync.Once
	// authenticated feeds (the shared cache's) deliver only revocations whose MAC
	// verifies; whoever can write to the cache cannot revoke anyone.
	authenticated bool
}

func (w *feedWatcher) Revoked(r store.Revocation) {
	g := w.g
	if w.authenticated && !hmac.Equal(r.MAC, g.revocationMAC(r)) {
		g.depError(context.Background(), "revocation_feed", "integrity", errRevocationIntegrity)
		return
	}
	// A revocation can only be about the past, and is needed only as long as the tokens
	// it covers can live: clamping keeps a bad message from revoking future tokens or
	// living forever.
	now := g.cfg.now()
	if r.At.After(now) {
		r.At = now
	}
	if limit := now.Add(g.revocationHorizon()); r.ExpiresAt.After(limit) {
		r.ExpiresAt = limit
	}
	if !w.set.add(r, true) {
		g.depError(context.Background(), "revocation_set", "full", errRevocationsFull)
		return
	}
	g.observe(context.Background(), audit.Event{Type: audit.RevocationReceived, Kind: string(r.Kind), Reason: w.name})
}

var (
	errRevocationIntegrity = errors.New("a revocation failed its integrity check")
	errRevocationsFull     = errors.New("the revocation set is full: revocations are unconfirmed until a sweep makes room")
)

func (w *feedWatcher) Synced(ok bool) {
	if w.synced.Swap(ok) == ok {
		return
	}
	if ok {
		w.set.unsynced.Add(-1)
		w.once.Do(func() { close(w.first) })
	} else {
		w.set.unsynced.Add(1)
		if w.set.onLost != nil {
			w.set.onLost()
		}
	}
}

// revocationMAC authenticates r for the shared cache, over its wire precision (At in
// milliseconds, ExpiresAt rounded up to them; see wireTimes).
func (g *Guard) revocationMAC(r store.Revocation) []byte {
	if g.l2mac == nil {
		return nil
	}
	m := hmac.New(sha256.New, g.l2mac)
	fmt.Fprintf(m, "authframe revocation v1\x00%s\x00%d:%s\x00%d\x00%d", r.Kind, len(r.Key), r.Key, r.At.UnixMilli(), ceilMilli(r.ExpiresAt))
	return m.Sum(nil)
}

// wireTimes rounds r's times to what a shared cache carries, so that the MAC computed
// before publishing matches the one checked on arrival.
func wireTimes(r store.Revocation) store.Revocation {
	r.At = time.UnixMilli(r.At.UnixMilli())
	r.ExpiresAt = time.UnixMilli(ceilMilli(r.ExpiresAt))
	return r
}

func ceilMilli(t time.Time) int64 {
	return (t.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
}
