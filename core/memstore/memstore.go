// Package memstore is authframe's zero-setup store: every store interface in memory, with
// native expiry by a cleanup goroutine. It suits a single instance and tests; use the Redis
// or PostgreSQL store to share state between instances or keep it across restarts.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/authframe/authframe/core/store"
)

// Option configures a Store.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithCleanupInterval sets how often expired records are swept (default one minute).
// Expired records are never returned even before a sweep.
func WithCleanupInterval(d time.Duration) Option {
	return optionFunc(func(s *Store) { s.interval = d })
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *Store) { s.now = now })
}

// Store is an in-memory implementation of store.Store. It is safe for concurrent use; each
// kind of record has its own lock, and no lock is held across anything slow.
type Store struct {
	now      func() time.Time
	interval time.Duration

	usersMu   sync.RWMutex
	users     map[string]store.User // by id
	usernames map[string]string     // username -> id

	sessMu   sync.RWMutex
	sessions map[string]*sessionEntry // by id
	byUser   map[string]map[string]struct{}

	revMu       sync.RWMutex
	revocations []store.Revocation
	watchers    map[*watcher]struct{}

	rateMu sync.Mutex
	rates  map[string]*rateEntry

	clientMu sync.RWMutex
	clients  map[string]store.Client

	keyMu sync.RWMutex
	// A key's record is shared by its two indexes, so that a key's first sight (by hash)
	// is one map read; keyMu guards the records as well as the maps.
	apiKeys   map[string]*store.APIKey       // by id
	keyHashes map[string]*store.APIKey       // by hash
	userKeys  map[string]map[string]struct{} // user id -> key ids

	mfaMu sync.Mutex
	mfa   map[string]store.MFA // by user id

	replayMu sync.Mutex
	replay   map[string]time.Time // key -> until

	ring keyRing

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

type sessionEntry struct {
	s store.Session
	// live holds the family's unspent tokens (one, unless AddRefreshToken added more) and
	// spent the kept spent ones, a ring once full: the oldest spend is at oldest, so that
	// forgetting it is one overwrite, not a shift of the others. A family is at most
	// SpentRefreshKept+1 tokens, so a scan of their tags finds one sooner than a map would
	// hash it, and costs no map per session.
	live   tokens
	spent  tokens
	oldest int
}

// tokens are some of a family's tokens and their tags, index for index: a search reads the
// 8-byte tags (a few cache lines for a whole family) and compares a hash only on a match.
type tokens struct {
	tags []uint64
	list []refreshEntry
}

type refreshEntry struct {
	hash    string
	created time.Time
}

// tagOf is a 64-bit hash of h (maphash, seeded per process): two tokens' tags differ but
// once in 2^64 whatever their bytes.
func tagOf(h []byte) uint64 { return maphash.Bytes(tagSeed, h) }

var tagSeed = maphash.MakeSeed()

// find returns the index of the token of hash h and tag tagOf(h), or -1.
func (t *tokens) find(h []byte, tag uint64) int {
	for i, x := range t.tags {
		if x == tag && t.list[i].hash == string(h) {
			return i
		}
	}
	return -1
}

func (t *tokens) add(tag uint64, r refreshEntry) {
	t.tags = append(t.tags, tag)
	t.list = append(t.list, r)
}

// holds reports whether the token of hash h (tag tagOf(h)) is in the family, spent or not.
func (e *sessionEntry) holds(h []byte, tag uint64) bool {
	return e.live.find(h, tag) >= 0 || e.spent.find(h, tag) >= 0
}

// spendLocked records the token (tag, r) as the family's latest spend, and forgets the
// oldest spent token once the family keeps store.SpentRefreshKept; callers hold sessMu.
func (e *sessionEntry) spendLocked(tag uint64, r refreshEntry) {
	if len(e.spent.list) < store.SpentRefreshKept {
		e.spent.add(tag, r)
		return
	}
	e.spent.tags[e.oldest], e.spent.list[e.oldest] = tag, r
	e.oldest = (e.oldest + 1) % len(e.spent.list)
}

type rateEntry struct {
	count int64
	reset time.Time
}

type watcher struct {
	w store.RevocationWatcher
}

// New returns an empty Store and starts its cleanup goroutine; Close stops it.
func New(opts ...Option) *Store {
	s := &Store{
		now:       time.Now,
		interval:  time.Minute,
		users:     map[string]store.User{},
		usernames: map[string]string{},
		sessions:  map[string]*sessionEntry{},
		byUser:    map[string]map[string]struct{}{},
		watchers:  map[*watcher]struct{}{},
		rates:     map[string]*rateEntry{},
		clients:   map[string]store.Client{},
		apiKeys:   map[string]*store.APIKey{},
		keyHashes: map[string]*store.APIKey{},
		userKeys:  map[string]map[string]struct{}{},
		mfa:       map[string]store.MFA{},
		replay:    map[string]time.Time{},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		o.apply(s)
	}
	if s.interval <= 0 {
		s.interval = time.Minute
	}
	go s.cleanupLoop()
	return s
}

// Close stops the cleanup goroutine. It is safe to call more than once.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

// Ping always succeeds.
func (s *Store) Ping(context.Context) error { return nil }

func (s *Store) cleanupLoop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Cleanup()
		}
	}
}

// Cleanup removes every expired record now. The cleanup goroutine calls it on its interval.
func (s *Store) Cleanup() {
	now := s.now()
	// Find the expired sessions under the read lock, which lookups share, then delete them
	// in small batches under the write lock: a sweep of a million sessions must not stall
	// every request for seconds.
	var expired []string
	s.sessMu.RLock()
	for id, e := range s.sessions {
		if !e.s.Live(now) {
			expired = append(expired, id)
		}
	}
	s.sessMu.RUnlock()
	for len(expired) > 0 {
		n := min(len(expired), cleanupBatch)
		s.sessMu.Lock()
		for _, id := range expired[:n] {
			if e, ok := s.sessions[id]; ok && !e.s.Live(now) {
				s.removeSessionLocked(id)
			}
		}
		s.sessMu.Unlock()
		expired = expired[n:]
	}

	s.revMu.Lock()
	s.revocations = slices.DeleteFunc(s.revocations, func(r store.Revocation) bool { return !now.Before(r.ExpiresAt) })
	s.revMu.Unlock()

	s.rateMu.Lock()
	for k, e := range s.rates {
		if !now.Before(e.reset) {
			delete(s.rates, k)
		}
	}
	s.rateMu.Unlock()

	s.keyMu.Lock()
	for id, k := range s.apiKeys {
		if !k.Live(now) {
			s.removeAPIKeyLocked(id)
		}
	}
	s.keyMu.Unlock()

	s.replayMu.Lock()
	for k, until := range s.replay {
		if !now.Before(until) {
			delete(s.replay, k)
		}
	}
	s.replayMu.Unlock()
}

// cleanupBatch bounds how many sessions one hold of the write lock deletes.
const cleanupBatch = 1024

func cloneUser(u store.User) store.User {
	u.Roles = slices.Clone(u.Roles)
	return u
}

func cloneSession(se store.Session) store.Session {
	se.Roles = slices.Clone(se.Roles)
	se.AMR = slices.Clone(se.AMR)
	se.CSRFHash = bytes.Clone(se.CSRFHash)
	return se
}

// CreateUser implements store.UserStore.
func (s *Store) CreateUser(_ context.Context, u store.User) error {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return store.ErrConflict
	}
	if _, ok := s.usernames[u.Username]; ok {
		return store.ErrConflict
	}
	s.users[u.ID] = cloneUser(u)
	s.usernames[u.Username] = u.ID
	return nil
}

// GetUser implements store.UserStore.
func (s *Store) GetUser(_ context.Context, id string) (store.User, bool, error) {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, false, nil
	}
	return cloneUser(u), true, nil
}

// GetUserByUsername implements store.UserStore.
func (s *Store) GetUserByUsername(_ context.Context, username string) (store.User, bool, error) {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	id, ok := s.usernames[username]
	if !ok {
		return store.User{}, false, nil
	}
	return cloneUser(s.users[id]), true, nil
}

// UpdateUser implements store.UserStore.
func (s *Store) UpdateUser(_ context.Context, u store.User) error {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	old, ok := s.users[u.ID]
	if !ok {
		return store.ErrNotFound
	}
	old.PasswordHash = u.PasswordHash
	old.Roles = slices.Clone(u.Roles)
	old.Disabled = u.Disabled
	old.UpdatedAt = u.UpdatedAt
	s.users[u.ID] = old
	return nil
}

// CreateSession implements store.SessionStore.
func (s *Store) CreateSession(_ context.Context, se store.Session) error {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	if e, ok := s.sessions[se.ID]; ok && e.s.Live(s.now()) {
		return store.ErrConflict
	}
	s.sessions[se.ID] = &sessionEntry{s: cloneSession(se)}
	ids := s.byUser[se.UserID]
	if ids == nil {
		ids = map[string]struct{}{}
		s.byUser[se.UserID] = ids
	}
	ids[se.ID] = struct{}{}
	return nil
}

// liveLocked returns the session entry if it exists and is live; callers hold sessMu.
func (s *Store) liveLocked(id string) (*sessionEntry, bool) {
	e, ok := s.sessions[id]
	if !ok || !e.s.Live(s.now()) {
		return nil, false
	}
	return e, true
}

// GetSession implements store.SessionStore.
func (s *Store) GetSession(_ context.Context, id string) (store.Session, bool, error) {
	s.sessMu.RLock()
	e, ok := s.liveLocked(id)
	if !ok {
		s.sessMu.RUnlock()
		return store.Session{}, false, nil
	}
	se := e.s
	s.sessMu.RUnlock()
	// Roles and CSRFHash are never mutated in place, so sharing their backing arrays with
	// the caller is safe as long as callers do not write to them (the Guard does not).
	return se, true, nil
}

// TouchSession implements store.SessionStore.
func (s *Store) TouchSession(_ context.Context, id string, lastSeen time.Time) error {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	e, ok := s.liveLocked(id)
	if !ok {
		return store.ErrNotFound
	}
	if lastSeen.After(e.s.LastSeenAt) {
		e.s.LastSeenAt = lastSeen
	}
	return nil
}

func (s *Store) removeSessionLocked(id string) bool {
	e, ok := s.sessions[id]
	if !ok {
		return false
	}
	delete(s.sessions, id)
	if ids := s.byUser[e.s.UserID]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(s.byUser, e.s.UserID)
		}
	}
	return true
}

// DeleteSession implements store.SessionStore.
func (s *Store) DeleteSession(_ context.Context, id string) (bool, error) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	_, live := s.liveLocked(id)
	s.removeSessionLocked(id)
	return live, nil
}

// ListSessions implements store.SessionStore.
func (s *Store) ListSessions(_ context.Context, userID string) ([]store.Session, error) {
	s.sessMu.RLock()
	out := make([]store.Session, 0, len(s.byUser[userID]))
	for id := range s.byUser[userID] {
		if e, ok := s.liveLocked(id); ok {
			out = append(out, cloneSession(e.s))
		}
	}
	s.sessMu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].ID < out[j].ID
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out, nil
}

// AddRefreshToken implements store.RefreshStore.
func (s *Store) AddRefreshToken(_ context.Context, t store.RefreshToken) error {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	e, ok := s.liveLocked(t.SessionID)
	if !ok {
		return store.ErrNotFound
	}
	tag := tagOf(t.Hash)
	if e.holds(t.Hash, tag) {
		return store.ErrConflict
	}
	r := refreshEntry{hash: string(t.Hash), created: t.CreatedAt}
	if t.Spent {
		e.spendLocked(tag, r)
		return nil
	}
	e.live.add(tag, r)
	return nil
}

// RotateRefreshToken implements store.RefreshStore.
func (s *Store) RotateRefreshToken(_ context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (store.Session, error) {
	// The clock is read before the lock, which every rotation and lookup waits on.
	at := s.now()
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	e, ok := s.sessions[sessionID]
	if !ok || !e.s.Live(at) {
		return store.Session{}, store.ErrNotFound
	}
	oldTag := tagOf(oldHash)
	i := e.live.find(oldHash, oldTag)
	if i < 0 {
		if e.spent.find(oldHash, oldTag) >= 0 {
			s.removeSessionLocked(sessionID)
			return store.Session{}, store.ErrRefreshReused
		}
		return store.Session{}, store.ErrNotFound
	}
	newTag := tagOf(newHash)
	if e.holds(newHash, newTag) {
		return store.Session{}, store.ErrConflict
	}
	e.spendLocked(e.live.tags[i], e.live.list[i])
	e.live.tags[i], e.live.list[i] = newTag, refreshEntry{hash: string(newHash), created: now}
	if now.After(e.s.LastSeenAt) {
		e.s.LastSeenAt = now
	}
	// As in GetSession: Roles and CSRFHash are never mutated in place, so the caller may
	// share their backing arrays, and copying them under the lock would make every other
	// caller wait for two allocations.
	return e.s, nil
}

// AddRevocation implements store.RevocationStore and notifies every watcher.
func (s *Store) AddRevocation(_ context.Context, r store.Revocation) error {
	s.revMu.Lock()
	// The list is kept in At order (ties in the order added), so that RevocationsSince
	// finds its start by binary search. Revocations nearly always arrive in order: the
	// search from the end stops at once and the insert is an append.
	i := len(s.revocations)
	for i > 0 && s.revocations[i-1].At.After(r.At) {
		i--
	}
	s.revocations = slices.Insert(s.revocations, i, r)
	ws := make([]*watcher, 0, len(s.watchers))
	for w := range s.watchers {
		ws = append(ws, w)
	}
	s.revMu.Unlock()
	for _, w := range ws {
		w.w.Revoked(r)
	}
	return nil
}

// RevocationsSince implements store.RevocationStore.
func (s *Store) RevocationsSince(_ context.Context, since time.Time) ([]store.Revocation, error) {
	now := s.now()
	s.revMu.RLock()
	defer s.revMu.RUnlock()
	// The first revocation at or after since, by binary search of the ordered list: a
	// check reads only the recent revocations, however many older ones are kept.
	start, _ := slices.BinarySearchFunc(s.revocations, since, func(r store.Revocation, t time.Time) int {
		if r.At.Before(t) {
			return -1
		}
		return 1
	})
	var out []store.Revocation
	for _, r := range s.revocations[start:] {
		if now.Before(r.ExpiresAt) {
			out = append(out, r)
		}
	}
	return out, nil
}

// WatchRevocations implements store.RevocationFeed, so several Guards sharing one memory
// store (in tests, say) learn each other's revocations at once.
func (s *Store) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	wt := &watcher{w: w}
	s.revMu.Lock()
	s.watchers[wt] = struct{}{}
	s.revMu.Unlock()
	w.Synced(true)
	<-ctx.Done()
	s.revMu.Lock()
	delete(s.watchers, wt)
	s.revMu.Unlock()
	return nil
}

// Hit implements store.RateLimitStore.
func (s *Store) Hit(_ context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	now := s.now()
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	e, ok := s.rates[key]
	if !ok || !now.Before(e.reset) {
		e = &rateEntry{reset: now.Add(window)}
		s.rates[key] = e
	}
	e.count++
	return e.count, e.reset.Sub(now), nil
}

// Peek implements store.RateLimitPeeker.
func (s *Store) Peek(_ context.Context, key string) (int64, time.Duration, error) {
	now := s.now()
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	e, ok := s.rates[key]
	if !ok || !now.Before(e.reset) {
		return 0, 0, nil
	}
	return e.count, e.reset.Sub(now), nil
}

// Stats implements store.StatsReporter.
func (s *Store) Stats(context.Context) (store.Stats, error) {
	now := s.now()
	var st store.Stats
	s.usersMu.RLock()
	st.Users = int64(len(s.users))
	s.usersMu.RUnlock()
	s.sessMu.RLock()
	for _, e := range s.sessions {
		if e.s.Live(now) {
			st.LiveSessions++
			if e.s.Kind == "token" {
				st.LiveFamilies++
			}
		}
	}
	s.sessMu.RUnlock()
	s.revMu.RLock()
	for _, r := range s.revocations {
		if now.Before(r.ExpiresAt) {
			st.Revocations++
		}
	}
	s.revMu.RUnlock()
	return st, nil
}

var (
	_ store.Store          = (*Store)(nil)
	_ store.RevocationFeed = (*Store)(nil)
	_ store.StatsReporter  = (*Store)(nil)
)

// ExportUsers implements store.Exporter, ordered by id.
func (s *Store) ExportUsers(_ context.Context, cursor string, limit int) ([]store.User, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("memstore: ExportUsers: limit %d: must be positive", limit)
	}
	s.usersMu.RLock()
	ids := make([]string, 0, len(s.users))
	for id := range s.users {
		if id > cursor {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]store.User, 0, len(ids))
	for _, id := range ids {
		out = append(out, cloneUser(s.users[id]))
	}
	s.usersMu.RUnlock()
	next := ""
	if len(out) == limit && limit > 0 {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// ExportSessions implements store.Exporter, ordered by id.
func (s *Store) ExportSessions(_ context.Context, cursor string, limit int) ([]store.Session, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("memstore: ExportSessions: limit %d: must be positive", limit)
	}
	s.sessMu.RLock()
	ids := make([]string, 0, len(s.sessions))
	for id := range s.sessions {
		if _, live := s.liveLocked(id); live && id > cursor {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]store.Session, 0, len(ids))
	for _, id := range ids {
		out = append(out, cloneSession(s.sessions[id].s))
	}
	s.sessMu.RUnlock()
	next := ""
	if len(out) == limit && limit > 0 {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// ExportRefreshTokens implements store.Exporter.
func (s *Store) ExportRefreshTokens(_ context.Context, sessionID string) ([]store.RefreshToken, error) {
	s.sessMu.RLock()
	defer s.sessMu.RUnlock()
	e, ok := s.liveLocked(sessionID)
	if !ok {
		return nil, nil
	}
	out := make([]store.RefreshToken, 0, len(e.live.list)+len(e.spent.list))
	for _, r := range e.live.list {
		out = append(out, store.RefreshToken{SessionID: sessionID, Hash: []byte(r.hash), CreatedAt: r.created})
	}
	for _, r := range e.spent.list {
		out = append(out, store.RefreshToken{SessionID: sessionID, Hash: []byte(r.hash), Spent: true, CreatedAt: r.created})
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Hash, out[j].Hash) < 0 })
	return out, nil
}

var _ store.Exporter = (*Store)(nil)

var (
	_ store.ClientStore = (*Store)(nil)
	_ store.APIKeyStore = (*Store)(nil)
)

func cloneClient(c store.Client) store.Client {
	c.Scopes = slices.Clone(c.Scopes)
	c.SecretHash = bytes.Clone(c.SecretHash)
	return c
}

func cloneAPIKey(k store.APIKey) store.APIKey {
	k.Permissions = slices.Clone(k.Permissions)
	k.Hash = bytes.Clone(k.Hash)
	return k
}

// CreateClient implements store.ClientStore.
func (s *Store) CreateClient(_ context.Context, c store.Client) error {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return store.ErrConflict
	}
	s.clients[c.ID] = cloneClient(c)
	return nil
}

// GetClient implements store.ClientStore.
func (s *Store) GetClient(_ context.Context, id string) (store.Client, bool, error) {
	s.clientMu.RLock()
	defer s.clientMu.RUnlock()
	c, ok := s.clients[id]
	if !ok {
		return store.Client{}, false, nil
	}
	return cloneClient(c), true, nil
}

// ListClients implements store.ClientStore, oldest first.
func (s *Store) ListClients(context.Context) ([]store.Client, error) {
	s.clientMu.RLock()
	out := make([]store.Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, cloneClient(c))
	}
	s.clientMu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].ID < out[j].ID
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out, nil
}

// DeleteClient implements store.ClientStore.
func (s *Store) DeleteClient(_ context.Context, id string) (bool, error) {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	_, ok := s.clients[id]
	delete(s.clients, id)
	return ok, nil
}

// liveKeyLocked returns the key if it exists and is live; callers hold keyMu.
func (s *Store) liveKeyLocked(id string) (*store.APIKey, bool) {
	k, ok := s.apiKeys[id]
	if !ok || !k.Live(s.now()) {
		return nil, false
	}
	return k, true
}

func (s *Store) removeAPIKeyLocked(id string) {
	k, ok := s.apiKeys[id]
	if !ok {
		return
	}
	delete(s.apiKeys, id)
	if s.keyHashes[string(k.Hash)] == k {
		delete(s.keyHashes, string(k.Hash))
	}
	if ids := s.userKeys[k.UserID]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(s.userKeys, k.UserID)
		}
	}
}

// CreateAPIKey implements store.APIKeyStore. An expired key holding the id or the hash is
// replaced.
func (s *Store) CreateAPIKey(_ context.Context, k store.APIKey) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if _, ok := s.liveKeyLocked(k.ID); ok {
		return store.ErrConflict
	}
	other, taken := s.keyHashes[string(k.Hash)]
	if taken && other.Live(s.now()) {
		return store.ErrConflict
	}
	s.removeAPIKeyLocked(k.ID)
	if taken {
		s.removeAPIKeyLocked(other.ID)
	}
	rec := cloneAPIKey(k)
	s.apiKeys[k.ID] = &rec
	s.keyHashes[string(k.Hash)] = &rec
	ids := s.userKeys[k.UserID]
	if ids == nil {
		ids = map[string]struct{}{}
		s.userKeys[k.UserID] = ids
	}
	ids[k.ID] = struct{}{}
	return nil
}

// GetAPIKeyByHash implements store.APIKeyStore.
func (s *Store) GetAPIKeyByHash(_ context.Context, hash []byte) (store.APIKey, bool, error) {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	rec, ok := s.keyHashes[string(hash)]
	if !ok || !rec.Live(s.now()) {
		return store.APIKey{}, false, nil
	}
	k := *rec
	// The lookup of a key's first sight: the record's permissions are shared, as
	// GetSession shares a session's roles (callers must not modify them in place), and its
	// hash is the caller's own.
	k.Hash = hash
	return k, true, nil
}

// ListAPIKeys implements store.APIKeyStore, oldest first.
func (s *Store) ListAPIKeys(_ context.Context, userID string) ([]store.APIKey, error) {
	s.keyMu.RLock()
	out := make([]store.APIKey, 0, len(s.userKeys[userID]))
	for id := range s.userKeys[userID] {
		if k, ok := s.liveKeyLocked(id); ok {
			out = append(out, cloneAPIKey(*k))
		}
	}
	s.keyMu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].ID < out[j].ID
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out, nil
}

// DeleteAPIKey implements store.APIKeyStore.
func (s *Store) DeleteAPIKey(_ context.Context, userID, id string) (bool, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	k, ok := s.apiKeys[id]
	if !ok || k.UserID != userID {
		return false, nil
	}
	s.removeAPIKeyLocked(id)
	return k.Live(s.now()), nil
}

// TouchAPIKey implements store.APIKeyStore.
func (s *Store) TouchAPIKey(_ context.Context, id string, at time.Time) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	k, ok := s.liveKeyLocked(id)
	if !ok {
		return store.ErrNotFound
	}
	if at.After(k.LastUsedAt) {
		k.LastUsedAt = at
	}
	return nil
}
