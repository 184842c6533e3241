package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/authframe/authframe/core/audit"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authframe/authframe/core/store"
)

// notification is the NOTIFY payload of a revocation: the whole record, so that a
// listener needs no query to act on it. Times are Unix microseconds, the precision of
// timestamptz, so a replayed record and a notified one are equal.
type notification struct {
	Kind      store.RevocationKind `json:"k"`
	Key       string               `json:"key"`
	At        int64                `json:"at"`
	ExpiresAt int64                `json:"exp"`
}

// setupTimeout bounds a (re)connection of the feed: connecting, LISTEN and the replay.
const setupTimeout = 30 * time.Second

// maxPayload is kept under PostgreSQL's NOTIFY payload limit (8000 bytes).
const maxPayload = 7900

// AddRevocation implements store.RevocationStore. The row and its notification to every
// Store listening on the same schema and prefix are one statement, so they commit
// together.
func (s *Store) AddRevocation(ctx context.Context, r store.Revocation) error {
	payload, err := json.Marshal(notification{Kind: r.Kind, Key: r.Key, At: r.At.UnixMicro(), ExpiresAt: r.ExpiresAt.UnixMicro()})
	if err != nil {
		return wrap("add revocation", err)
	}
	if len(payload) > maxPayload {
		return wrap("add revocation", fmt.Errorf("key of %d bytes is too long to announce", len(r.Key)))
	}
	c, err := s.begin(ctx, "add revocation", true)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(c.ctx, s.q.addRevocation, string(r.Kind), r.Key, r.At, r.ExpiresAt, s.n.channel(), string(payload))
	s.end(c, err)
	if err != nil {
		return wrap("add revocation", err)
	}
	return nil
}

// RevocationsSince implements store.RevocationStore: the unexpired revocations with
// At >= since, oldest first. It can return many rows (the Guard loads them all at start),
// so only the caller's context bounds it, not WithTimeout.
func (s *Store) RevocationsSince(ctx context.Context, since time.Time) ([]store.Revocation, error) {
	c, err := s.begin(ctx, "revocations since", false)
	if err != nil {
		return nil, err
	}
	out, err := revocationsSince(c.ctx, s.pool, s.q.revocationsSince, since, s.now())
	s.end(c, err)
	if err != nil {
		return nil, wrap("revocations since", err)
	}
	return out, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// revocationsSince runs the revocationsSince query, whose rows come in the order of At
// alone, and returns the unexpired ones ordered by At and then by id (the insertion
// order), as the query did in SQL before: ties are rare and adjacent, so putting them in
// order is an insertion into the short run of equal At at the end of what is kept.
func revocationsSince(ctx context.Context, q querier, query string, since, now time.Time) ([]store.Revocation, error) {
	rows, err := q.Query(ctx, query, since)
	if err != nil {
		return nil, err
	}
	var out []store.Revocation
	var ids []int64
	var r store.Revocation
	var kind string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&kind, &r.Key, &r.At, &r.ExpiresAt, &id}, func() error {
		if !r.ExpiresAt.After(now) {
			return nil
		}
		r.Kind = store.RevocationKind(kind)
		i := len(out)
		for i > 0 && out[i-1].At.Equal(r.At) && ids[i-1] > id {
			i--
		}
		out = slices.Insert(out, i, r)
		ids = slices.Insert(ids, i, id)
		return nil
	})
	return out, err
}

// WatchRevocations implements store.RevocationFeed. It takes a connection of its own out
// of the pool (hijacked, so it does not hold a pool slot), LISTENs on the store's channel,
// replays what was revoked since the last revocation it delivered (everything unexpired
// on the first connection), calls w.Synced(true), and then delivers every notification.
//
// When the connection is lost it calls w.Synced(false), reconnects with exponential
// backoff (100 ms doubling to 5 s, with jitter), replays and calls w.Synced(true) again.
// Replays start a little before the last delivered At (10 s), so a revocation stamped by a
// slightly late clock elsewhere is not missed; w therefore sees some revocations twice and
// must treat them idempotently, as the Guard does. A quiet connection is pinged every 15 s
// so that a dead peer is noticed without waiting for TCP keepalives.
//
// WatchRevocations returns nil when ctx ends, and ErrClosed when the Store is closed.
func (s *Store) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	if !s.goAdd() {
		return ErrClosed
	}
	defer s.wg.Done()
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	f := &feed{s: s, w: w}
	backoff := s.cfg.minBackoff
	for {
		err := f.listen(ctx)
		if ctx.Err() != nil {
			if parent.Err() == nil {
				return ErrClosed
			}
			return nil
		}
		if f.reachedSync {
			backoff = s.cfg.minBackoff
		}
		f.setSynced(false)
		wait := backoff/2 + rand.N(backoff/2+1)
		s.log.Warn("pgstore: revocation feed lost its connection", "error", audit.Scrub(err.Error()), "retry_in", wait)
		select {
		case <-ctx.Done():
			if parent.Err() == nil {
				return ErrClosed
			}
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, s.cfg.maxBackoff)
	}
}

// feed is the state of one WatchRevocations across its reconnections.
type feed struct {
	s *Store
	w store.RevocationWatcher

	last        time.Time // the latest At delivered
	synced      bool
	told        bool // whether w has been told anything about the sync state yet
	reachedSync bool // whether the last connection got as far as Synced(true)
}

func (f *feed) setSynced(ok bool) {
	if f.told && f.synced == ok {
		return
	}
	f.told, f.synced = true, ok
	f.w.Synced(ok)
}

func (f *feed) deliver(r store.Revocation) {
	if r.At.After(f.last) {
		f.last = r.At
	}
	f.w.Revoked(r)
}

// listen runs one connection of the feed until it fails or ctx ends.
func (f *feed) listen(ctx context.Context) error {
	s := f.s
	f.reachedSync = false
	// A server that does not answer must not hold the feed in a connect for minutes:
	// bound the way back to Synced(true).
	setup, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	pc, err := s.pool.Acquire(setup)
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	s.listenPID.Store(conn.PgConn().PID())
	defer func() {
		s.listenPID.Store(0)
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
	}()

	if _, err := conn.Exec(setup, "LISTEN "+pgx.Identifier{s.n.channel()}.Sanitize()); err != nil {
		return err
	}
	// LISTEN is in force before the replay reads, so a revocation committed in between
	// arrives as a notification if the replay misses it.
	var since time.Time
	if !f.last.IsZero() {
		since = f.last.Add(-s.cfg.overlap)
	}
	replay, err := revocationsSince(setup, conn, s.q.revocationsSince, since, s.now())
	if err != nil {
		return err
	}
	for _, r := range replay {
		f.deliver(r)
	}
	f.setSynced(true)
	f.reachedSync = true

	for {
		wctx, cancel := context.WithTimeout(ctx, s.cfg.heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			f.handle(n)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		// Quiet for a heartbeat: make sure the connection is still there.
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
	}
}

func (f *feed) handle(n *pgconn.Notification) {
	var m notification
	if err := json.Unmarshal([]byte(n.Payload), &m); err != nil {
		f.s.log.Warn("pgstore: ignoring a malformed revocation notification", "error", audit.Scrub(err.Error()))
		return
	}
	f.deliver(store.Revocation{Kind: m.Kind, Key: m.Key, At: time.UnixMicro(m.At), ExpiresAt: time.UnixMicro(m.ExpiresAt)})
}
