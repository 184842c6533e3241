package authframe

import (
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
	count    atomic.Int64

	// unsynced counts feeds that are currently disconnected or catching up.
	unsynced atomic.Int32
	onLost   func()

	mu     sync.Mutex
	latest time.Time
}

func (s *revocationSet) add(r store.Revocation) {
	var m *sync.Map
	var val time.Time
	switch r.Kind {
	case store.RevokeSession:
		m, val = &s.sessions, r.ExpiresAt
	case store.RevokeToken:
		m, val = &s.tokens, r.ExpiresAt
	case store.RevokeUser:
		m, val = &s.users, r.At
	default:
		return
	}
	if _, loaded := m.Swap(r.Key, val); !loaded {
		s.count.Add(1)
	}
	s.mu.Lock()
	if r.At.After(s.latest) {
		s.latest = r.At
	}
	s.mu.Unlock()
	s.gen.Add(1)
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

// sweep forgets revocations whose tokens have all expired.
func (s *revocationSet) sweep(now time.Time, userKeep time.Duration) {
	drop := func(m *sync.Map, expired func(time.Time) bool) {
		m.Range(func(k, v any) bool {
			if expired(v.(time.Time)) {
				m.Delete(k)
				s.count.Add(-1)
			}
			return true
		})
	}
	drop(&s.sessions, func(t time.Time) bool { return !now.Before(t) })
	drop(&s.tokens, func(t time.Time) bool { return !now.Before(t) })
	drop(&s.users, func(t time.Time) bool { return now.Sub(t) > userKeep })
}

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
}

func (w *feedWatcher) Revoked(r store.Revocation) {
	w.set.add(r)
	w.g.observe(nil, Event{Type: EventRevocationReceived, Kind: string(r.Kind), Reason: w.name})
}

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

// Revocation is an entry of the revocation set; see store.Revocation.
type Revocation = store.Revocation
