package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/authframe/authframe/core/audit"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// AddRevocation implements store.RevocationStore. One script prunes expired entries, adds
// r to the sorted set by At and to the one by ExpiresAt, and publishes it on the
// "<prefix>revocations" channel, so every WatchRevocations sharing the prefix hears of it.
func (s *Store) AddRevocation(ctx context.Context, r store.Revocation) error {
	const op = "add revocation"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	err = addRevocationScript.Run(ctx, s.c, []string{s.k.revAt, s.k.revExp},
		encodeRevocation(r), r.At.UnixMilli(), r.ExpiresAt.UnixMilli(), time.Now().UnixMilli(), s.k.channel).Err()
	return s.leave(op, probe, err)
}

// RevocationsSince implements store.RevocationStore, oldest first.
func (s *Store) RevocationsSince(ctx context.Context, since time.Time) ([]store.Revocation, error) {
	const op = "revocations since"
	probe, err := s.enter(op)
	if err != nil {
		return nil, err
	}
	rs, err := s.revocationsSince(ctx, since)
	return rs, s.leave(op, probe, err)
}

func (s *Store) revocationsSince(ctx context.Context, since time.Time) ([]store.Revocation, error) {
	lo := "-inf"
	if !since.IsZero() {
		// Scores are milliseconds: start at the millisecond of since, so that nothing at or
		// after it is left out.
		lo = strconv.FormatInt(since.UnixMilli(), 10)
	}
	members, err := s.c.ZRangeByScore(ctx, s.k.revAt, &redis.ZRangeBy{Min: lo, Max: "+inf"}).Result()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]store.Revocation, 0, len(members))
	for _, m := range members {
		r, err := decodeRevocation(m)
		if err != nil {
			s.log.Warn("redisstore: skipping a revocation that does not decode", "error", audit.Scrub(err.Error()))
			continue
		}
		if now.Before(r.ExpiresAt) {
			out = append(out, r)
		}
	}
	return out, nil
}

// pruneRevocations removes the revocations expired at now.
func (s *Store) pruneRevocations(ctx context.Context, now time.Time) error {
	for range 1000 {
		n, err := pruneRevocationsScript.Run(ctx, s.c, []string{s.k.revAt, s.k.revExp}, now.UnixMilli()).Int()
		if err != nil || n < 256 {
			return err
		}
	}
	return nil
}

// WatchRevocations implements store.RevocationFeed over Redis pub/sub. Once a subscription
// to "<prefix>revocations" is confirmed it replays what the sets hold since the last
// revocation it delivered (less an overlap for clocks that disagree; everything on the
// first connection), then calls w.Synced(true) and delivers each published revocation as
// it comes. A lost connection (an error, or a ping left unanswered) calls w.Synced(false);
// it then reconnects with backoff, replays, and is synced again.
//
// WatchRevocations returns nil when ctx ends, and ErrClosed when the Store is closed.
func (s *Store) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	if !s.goAdd() {
		return ErrClosed
	}
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()

	f := &feed{s: s, w: w}
	backoff := s.cfg.minBackoff
	for {
		err := f.run(ctx)
		if f.synced {
			f.synced = false
			w.Synced(false)
		}
		if ctx.Err() != nil {
			if s.ctx.Err() != nil {
				return ErrClosed
			}
			return nil
		}
		if f.wasSynced {
			// It worked for a while: come back quickly.
			backoff = s.cfg.minBackoff
			f.wasSynced = false
		}
		s.log.Warn("redisstore: revocation feed lost; reconnecting", "error", audit.Scrub(err.Error()), "in", backoff)
		// Jitter keeps a fleet of instances from reconnecting in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			if s.ctx.Err() != nil {
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

	synced    bool      // Synced(true) was the last call
	wasSynced bool      // the current connection got as far as Synced(true)
	delivered bool      // anything was delivered yet
	last      time.Time // the latest At delivered
}

var errNoPong = errors.New("redisstore: revocation feed: no answer to ping")

// run subscribes once and receives until the connection fails or ctx ends.
func (f *feed) run(ctx context.Context) error {
	s := f.s
	ps := s.c.Subscribe(ctx, s.k.channel)
	defer ps.Close()
	// Receive does not watch ctx while it blocks on the socket: closing the subscription
	// is what unblocks it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	awaitingPong := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.cfg.heartbeat)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if isTimeout(err) && !awaitingPong {
				// Quiet: make sure the connection still answers.
				if err := ps.Ping(ctx); err != nil {
					return err
				}
				awaitingPong = true
				continue
			}
			if isTimeout(err) {
				return errNoPong
			}
			return err
		}
		awaitingPong = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != s.k.channel {
				continue
			}
			// Subscribed: from now on nothing published is missed, so what was added
			// before is read from the sets.
			if err := f.replay(ctx); err != nil {
				return err
			}
			if !f.synced {
				f.synced, f.wasSynced = true, true
				f.w.Synced(true)
			}
		case *redis.Message:
			r, err := decodeRevocation(m.Payload)
			if err != nil {
				s.log.Warn("redisstore: skipping a published revocation that does not decode", "error", audit.Scrub(err.Error()))
				continue
			}
			f.deliver(r)
		}
	}
}

func (f *feed) replay(ctx context.Context) error {
	var since time.Time
	if f.delivered {
		since = f.last.Add(-f.s.cfg.overlap)
	}
	// The subscription just answered, so Redis is up whatever the breaker thinks: the
	// replay goes through, and its outcome counts like a Ping.
	rs, err := f.s.revocationsSince(ctx, since)
	f.s.br.Record(outcome(err), false)
	if err != nil {
		return err
	}
	for _, r := range rs {
		f.deliver(r)
	}
	return nil
}

func (f *feed) deliver(r store.Revocation) {
	f.w.Revoked(r)
	if !f.delivered || r.At.After(f.last) {
		f.last = r.At
	}
	f.delivered = true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
