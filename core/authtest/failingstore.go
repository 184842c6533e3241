package authtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authframe/authframe/core/store"
)

// Op names one operation of a store: a method of store.Store, or WatchRevocations (the
// store's revocation feed).
type Op string

// The operations a FailingStore can break one by one.
const (
	OpCreateUser         Op = "CreateUser"
	OpGetUser            Op = "GetUser"
	OpGetUserByUsername  Op = "GetUserByUsername"
	OpUpdateUser         Op = "UpdateUser"
	OpCreateSession      Op = "CreateSession"
	OpGetSession         Op = "GetSession"
	OpTouchSession       Op = "TouchSession"
	OpDeleteSession      Op = "DeleteSession"
	OpListSessions       Op = "ListSessions"
	OpAddRefreshToken    Op = "AddRefreshToken"
	OpRotateRefreshToken Op = "RotateRefreshToken"
	OpAddRevocation      Op = "AddRevocation"
	OpRevocationsSince   Op = "RevocationsSince"
	OpHit                Op = "Hit"
	OpPing               Op = "Ping"
	OpWatchRevocations   Op = "WatchRevocations"
)

var allOps = []Op{
	OpCreateUser, OpGetUser, OpGetUserByUsername, OpUpdateUser,
	OpCreateSession, OpGetSession, OpTouchSession, OpDeleteSession, OpListSessions,
	OpAddRefreshToken, OpRotateRefreshToken, OpAddRevocation, OpRevocationsSince,
	OpHit, OpPing, OpWatchRevocations,
}

// ErrInjected is the error of calls broken by Fail(nil).
var ErrInjected = errors.New("authtest: injected store failure")

// FailingStore wraps a store.Store and breaks it on demand, the way a store fails in
// production: calls that fail at once (Fail), that take too long (Timeout), or that hang
// until the network comes back (Partition). Each of these breaks the operations named, or
// every operation when none is; Heal mends them. Until broken, every call goes to the
// wrapped store unchanged. It is safe for concurrent use.
//
// It is a store.RevocationFeed whatever it wraps. Over a store with a feed, the feed is
// one more operation (OpWatchRevocations): while it is broken, the Guard is told the feed
// is lost (so with fail-closed it refuses even the tokens it has cached, as it must when
// revocations made elsewhere may be missed), and healing it replays what was missed
// before the Guard is told it is back in sync. Over a store without one, the feed carries
// nothing and is never lost, which is how the Guard treats a store without a feed. It is
// also a store.BreakerStater, reporting the wrapped store's breaker ("" without one). For
// the wrapped store's other abilities, use Unwrap.
//
// Fail, Timeout, Partition and Heal change what calls made after they return see: a feed
// is told before they return, and calls already waiting on a Timeout or Partition of an
// operation look again when that operation's breakage changes.
type FailingStore struct {
	inner store.Store

	mu     sync.Mutex
	faults map[Op]*fault
	calls  map[Op]int
	feeds  map[*feedWatcher]struct{}
}

type faultKind int

const (
	failing faultKind = iota
	timingOut
	partitioned
)

// fault is how one operation is broken. done is closed when the operation's breakage
// changes, waking the calls that wait on it.
type fault struct {
	kind  faultKind
	err   error
	delay time.Duration
	done  chan struct{}
}

// NewFailingStore wraps inner, working until broken.
func NewFailingStore(inner store.Store) *FailingStore {
	return &FailingStore{inner: inner, faults: map[Op]*fault{}, calls: map[Op]int{}, feeds: map[*feedWatcher]struct{}{}}
}

// Fail makes the operations named (all without ops) fail at once with err, or with
// ErrInjected when err is nil. The error a call returns wraps err, so errors.Is finds it.
func (f *FailingStore) Fail(err error, ops ...Op) {
	if err == nil {
		err = ErrInjected
	}
	f.set(&fault{kind: failing, err: err}, ops)
}

// Timeout makes the operations named (all without ops) wait, as calls to a store that no
// longer answers do, until their context ends (then they return its error) or d has
// passed (then they return an error wrapping context.DeadlineExceeded, as a driver's own
// timeout does). d <= 0 waits for the context alone.
func (f *FailingStore) Timeout(d time.Duration, ops ...Op) {
	f.set(&fault{kind: timingOut, delay: d}, ops)
}

// Partition makes the operations named (all without ops) hang until they are healed, then
// reach the store as if nothing had happened; a call whose context ends first returns the
// context's error. A call given a context without a deadline hangs until Heal: heal from
// another goroutine, or give the calls a deadline.
func (f *FailingStore) Partition(ops ...Op) {
	f.set(&fault{kind: partitioned}, ops)
}

// Heal mends the operations named (all without ops): calls reach the store again, those
// waiting on a Timeout or Partition included. A feed healed replays the revocations it
// missed before telling the Guard it is back in sync; if reading them fails, the feed
// stays lost until the next Fail, Timeout, Partition or Heal.
func (f *FailingStore) Heal(ops ...Op) {
	f.set(nil, ops)
}

// Calls reports how many calls of op the store has had, broken ones included.
func (f *FailingStore) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Unwrap returns the wrapped store.
func (f *FailingStore) Unwrap() store.Store { return f.inner }

// set gives every op in ops (all without any) a copy of nf, or no breakage when nf is nil,
// then brings the feeds in line.
func (f *FailingStore) set(nf *fault, ops []Op) {
	if len(ops) == 0 {
		ops = allOps
	}
	f.mu.Lock()
	for _, op := range ops {
		if old := f.faults[op]; old != nil {
			close(old.done)
			delete(f.faults, op)
		}
		if nf != nil {
			c := *nf
			c.done = make(chan struct{})
			f.faults[op] = &c
		}
	}
	feeds := make([]*feedWatcher, 0, len(f.feeds))
	for fw := range f.feeds {
		feeds = append(feeds, fw)
	}
	f.mu.Unlock()
	for _, fw := range feeds {
		fw.sync()
	}
}

// enter counts a call of op and applies op's breakage: an error to return, or nil once
// the call may reach the store.
func (f *FailingStore) enter(ctx context.Context, op Op) error {
	f.mu.Lock()
	f.calls[op]++
	ft := f.faults[op]
	f.mu.Unlock()
	var deadline <-chan time.Time
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for ft != nil {
		switch ft.kind {
		case failing:
			return fmt.Errorf("authtest: %s: %w", op, ft.err)
		case timingOut:
			// The delay runs from the call's start, however often the breakage changes
			// to another timeout while it waits.
			if timer == nil && ft.delay > 0 {
				timer = time.NewTimer(ft.delay)
				deadline = timer.C
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("authtest: %s: %w", op, ctx.Err())
			case <-deadline:
				return fmt.Errorf("authtest: %s timed out after %v: %w", op, ft.delay, context.DeadlineExceeded)
			case <-ft.done:
			}
		case partitioned:
			select {
			case <-ctx.Done():
				return fmt.Errorf("authtest: %s: %w", op, ctx.Err())
			case <-ft.done:
			}
		}
		f.mu.Lock()
		ft = f.faults[op]
		f.mu.Unlock()
	}
	return nil
}

func (f *FailingStore) broken(op Op) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faults[op] != nil
}

// CreateUser implements store.UserStore.
func (f *FailingStore) CreateUser(ctx context.Context, u store.User) error {
	if err := f.enter(ctx, OpCreateUser); err != nil {
		return err
	}
	return f.inner.CreateUser(ctx, u)
}

// GetUser implements store.UserStore.
func (f *FailingStore) GetUser(ctx context.Context, id string) (store.User, bool, error) {
	if err := f.enter(ctx, OpGetUser); err != nil {
		return store.User{}, false, err
	}
	return f.inner.GetUser(ctx, id)
}

// GetUserByUsername implements store.UserStore.
func (f *FailingStore) GetUserByUsername(ctx context.Context, username string) (store.User, bool, error) {
	if err := f.enter(ctx, OpGetUserByUsername); err != nil {
		return store.User{}, false, err
	}
	return f.inner.GetUserByUsername(ctx, username)
}

// UpdateUser implements store.UserStore.
func (f *FailingStore) UpdateUser(ctx context.Context, u store.User) error {
	if err := f.enter(ctx, OpUpdateUser); err != nil {
		return err
	}
	return f.inner.UpdateUser(ctx, u)
}

// CreateSession implements store.SessionStore.
func (f *FailingStore) CreateSession(ctx context.Context, s store.Session) error {
	if err := f.enter(ctx, OpCreateSession); err != nil {
		return err
	}
	return f.inner.CreateSession(ctx, s)
}

// GetSession implements store.SessionStore.
func (f *FailingStore) GetSession(ctx context.Context, id string) (store.Session, bool, error) {
	if err := f.enter(ctx, OpGetSession); err != nil {
		return store.Session{}, false, err
	}
	return f.inner.GetSession(ctx, id)
}

// TouchSession implements store.SessionStore.
func (f *FailingStore) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	if err := f.enter(ctx, OpTouchSession); err != nil {
		return err
	}
	return f.inner.TouchSession(ctx, id, lastSeen)
}

// DeleteSession implements store.SessionStore.
func (f *FailingStore) DeleteSession(ctx context.Context, id string) (bool, error) {
	if err := f.enter(ctx, OpDeleteSession); err != nil {
		return false, err
	}
	return f.inner.DeleteSession(ctx, id)
}

// ListSessions implements store.SessionStore.
func (f *FailingStore) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	if err := f.enter(ctx, OpListSessions); err != nil {
		return nil, err
	}
	return f.inner.ListSessions(ctx, userID)
}

// AddRefreshToken implements store.RefreshStore.
func (f *FailingStore) AddRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := f.enter(ctx, OpAddRefreshToken); err != nil {
		return err
	}
	return f.inner.AddRefreshToken(ctx, t)
}

// RotateRefreshToken implements store.RefreshStore.
func (f *FailingStore) RotateRefreshToken(ctx context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (store.Session, error) {
	if err := f.enter(ctx, OpRotateRefreshToken); err != nil {
		return store.Session{}, err
	}
	return f.inner.RotateRefreshToken(ctx, sessionID, oldHash, newHash, now)
}

// AddRevocation implements store.RevocationStore.
func (f *FailingStore) AddRevocation(ctx context.Context, r store.Revocation) error {
	if err := f.enter(ctx, OpAddRevocation); err != nil {
		return err
	}
	return f.inner.AddRevocation(ctx, r)
}

// RevocationsSince implements store.RevocationStore.
func (f *FailingStore) RevocationsSince(ctx context.Context, since time.Time) ([]store.Revocation, error) {
	if err := f.enter(ctx, OpRevocationsSince); err != nil {
		return nil, err
	}
	return f.inner.RevocationsSince(ctx, since)
}

// Hit implements store.RateLimitStore.
func (f *FailingStore) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	if err := f.enter(ctx, OpHit); err != nil {
		return 0, 0, err
	}
	return f.inner.Hit(ctx, key, window)
}

// Ping implements store.Store.
func (f *FailingStore) Ping(ctx context.Context) error {
	if err := f.enter(ctx, OpPing); err != nil {
		return err
	}
	return f.inner.Ping(ctx)
}

// BreakerState implements store.BreakerStater: the wrapped store's state, or "" when it
// has no circuit breaker.
func (f *FailingStore) BreakerState() string {
	if b, ok := f.inner.(store.BreakerStater); ok {
		return b.BreakerState()
	}
	return ""
}

// WatchRevocations implements store.RevocationFeed (see FailingStore).
func (f *FailingStore) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	feed, ok := f.inner.(store.RevocationFeed)
	if !ok {
		f.mu.Lock()
		f.calls[OpWatchRevocations]++
		f.mu.Unlock()
		w.Synced(true)
		<-ctx.Done()
		return nil
	}
	fw := &feedWatcher{f: f, w: w, ctx: ctx}
	f.mu.Lock()
	f.calls[OpWatchRevocations]++
	// Registered and given its state in one step, so that no change falls between.
	fw.down = f.faults[OpWatchRevocations] != nil
	f.feeds[fw] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.feeds, fw)
		f.mu.Unlock()
	}()
	return feed.WatchRevocations(ctx, fw)
}

// feedWatcher stands between the wrapped store's feed and the Guard's watcher: while the
// feed is broken it holds back what the store delivers and tells the Guard the feed is
// lost; healed, it replays from the store what was missed, then says it is in sync.
type feedWatcher struct {
	f   *FailingStore
	w   store.RevocationWatcher
	ctx context.Context

	mu          sync.Mutex
	down        bool
	innerSynced bool
	reported    bool
	// last is the At of the latest revocation handed to the Guard: the replay after a
	// break starts there (repeating it is harmless: the Guard's set keeps one entry).
	last time.Time
}

func (fw *feedWatcher) Revoked(r store.Revocation) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.down {
		return
	}
	fw.deliver(r)
}

func (fw *feedWatcher) Synced(ok bool) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.innerSynced = ok
	fw.report()
}

// sync brings the feed in line with the store's breakage as it is now, so that of two
// changes racing, the later to finish leaves the state of both.
func (fw *feedWatcher) sync() {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	down := fw.f.broken(OpWatchRevocations)
	switch {
	case down == fw.down:
	case down:
		fw.down = true
	default:
		missed, err := fw.f.inner.RevocationsSince(fw.ctx, fw.last)
		if err != nil {
			return
		}
		for _, r := range missed {
			fw.deliver(r)
		}
		fw.down = false
	}
	fw.report()
}

func (fw *feedWatcher) deliver(r store.Revocation) {
	fw.w.Revoked(r)
	if r.At.After(fw.last) {
		fw.last = r.At
	}
}

// report tells the Guard whether the feed is in sync, when that changed.
func (fw *feedWatcher) report() {
	if ok := fw.innerSynced && !fw.down; ok != fw.reported {
		fw.reported = ok
		fw.w.Synced(ok)
	}
}

var (
	_ store.Store          = (*FailingStore)(nil)
	_ store.RevocationFeed = (*FailingStore)(nil)
	_ store.BreakerStater  = (*FailingStore)(nil)
)
