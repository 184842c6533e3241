package rediscache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/authframe/authframe/core/audit"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// Feed timing. Pings keep an idle subscription honest: a connection that dies without a
// reset (a partition, a frozen server) is noticed within 2*feedPing, well inside the one
// second in which the contract wants a revocation honoured everywhere.
const (
	feedPing      = 500 * time.Millisecond
	setupTimeout  = 2 * time.Second // subscribe, confirm, flush and replay
	retryMin      = 100 * time.Millisecond
	retryMax      = 500 * time.Millisecond
	replayOverlap = 30 * time.Second // covers clock skew between instances and in-flight messages
	maxPending    = 10_000
	maxWireSize   = 2 << 10
	flushChunk    = 256
)

// publishScript records a revocation and publishes it in one atomic step. The log (KEYS[1])
// is scored by At for replay, the expiry index (KEYS[2]) by ExpiresAt for pruning; both
// sets expire with their last member, so an abandoned prefix leaves nothing behind.
//
// ARGV: member, at ms, expires ms, now ms, channel.
var publishScript = redis.NewScript(`
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4], 'LIMIT', 0, 128)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local at = string.format('%.0f', tonumber(last[2]))
redis.call('PEXPIREAT', KEYS[1], at)
redis.call('PEXPIREAT', KEYS[2], at)
return redis.call('PUBLISH', ARGV[5], ARGV[1])
`)

// wireRevocation is a revocation on the channel and in the log. The encoding is
// deterministic, so publishing the same revocation twice leaves one member.
type wireRevocation struct {
	Kind string `json:"k"`
	Key  string `json:"key"`
	At   int64  `json:"at"`
	Exp  int64  `json:"exp"`
	// MAC is the Guard's authentication of the revocation (store.Revocation.MAC), which
	// the receiving Guard checks; the cache only carries it.
	MAC []byte `json:"m,omitempty"`
}

func encodeRevocation(r store.Revocation) (string, error) {
	if !r.Kind.Known() {
		return "", fmt.Errorf("rediscache: unknown revocation kind %q", r.Kind)
	}
	if r.Key == "" || r.At.IsZero() || r.ExpiresAt.IsZero() {
		return "", errors.New("rediscache: revocation lacks a key, a time or an expiry")
	}
	b, err := json.Marshal(wireRevocation{Kind: string(r.Kind), Key: r.Key, At: r.At.UnixMilli(), Exp: ceilMilli(r.ExpiresAt), MAC: r.MAC})
	if err != nil {
		return "", err
	}
	if len(b) > maxWireSize {
		return "", fmt.Errorf("rediscache: revocation of %d bytes is too large", len(b))
	}
	return string(b), nil
}

func decodeRevocation(s string) (store.Revocation, error) {
	if len(s) > maxWireSize {
		return store.Revocation{}, errors.New("revocation message is too large")
	}
	var w wireRevocation
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return store.Revocation{}, err
	}
	k := store.RevocationKind(w.Kind)
	if !k.Known() {
		return store.Revocation{}, fmt.Errorf("unknown revocation kind %q", w.Kind)
	}
	if w.Key == "" || w.At <= 0 || w.Exp <= 0 {
		return store.Revocation{}, errors.New("revocation lacks a key, a time or an expiry")
	}
	return store.Revocation{Kind: k, Key: w.Key, At: time.UnixMilli(w.At), ExpiresAt: time.UnixMilli(w.Exp), MAC: w.MAC}, nil
}

// ceilMilli rounds up: a log entry must not end before the revocation it records.
func ceilMilli(t time.Time) int64 {
	return (t.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
}

type pendingRevocation struct {
	member string
	at     int64
	exp    int64
}

func (c *Cache) runPublish(ctx context.Context, p pendingRevocation) error {
	return publishScript.Run(ctx, c.client, []string{c.logKey, c.expKey},
		p.member, p.at, p.exp, time.Now().UnixMilli(), c.channel).Err()
}

// PublishRevocation implements store.RevocationPublisher: it adds r to the replay log
// and publishes it to every instance watching the same prefix, in one atomic step.
//
// When the call fails the revocation is kept in memory (up to 10 000) and published again
// by this Cache's revocation feed, within half a second once Redis answers again, so that
// other instances still learn it; the error is returned all the same.
func (c *Cache) PublishRevocation(ctx context.Context, r store.Revocation) error {
	member, err := encodeRevocation(r)
	if err != nil {
		return err
	}
	p := pendingRevocation{member: member, at: r.At.UnixMilli(), exp: ceilMilli(r.ExpiresAt)}
	err = c.call(ctx, c.cfg.timeout, func(ctx context.Context) error { return c.runPublish(ctx, p) })
	if err == nil || err == ErrClosed {
		return err
	}
	c.enqueue(p)
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("rediscache: publish revocation: %w", err)
}

func (c *Cache) enqueue(p pendingRevocation) {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	if len(c.pending) >= maxPending {
		c.pending = c.pending[1:]
		c.log.Warn("rediscache: too many revocations waiting for Redis: dropping the oldest")
	}
	c.pending = append(c.pending, p)
}

func (c *Cache) hasPending() bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	return len(c.pending) > 0
}

// flushPending publishes the revocations whose publication failed. Each one also went to
// the store, so this is about other instances hearing of them promptly. What it cannot
// publish before ctx ends goes back to the queue.
func (c *Cache) flushPending(ctx context.Context) error {
	c.pendingMu.Lock()
	batch := c.pending
	c.pending = nil
	c.pendingMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	now := time.Now().UnixMilli()
	live := batch[:0]
	for _, p := range batch {
		if p.exp > now {
			live = append(live, p)
		}
	}
	rest, err := c.publishAll(ctx, live)
	if len(rest) > 0 {
		c.pendingMu.Lock()
		c.pending = append(rest, c.pending...)
		if n := len(c.pending); n > maxPending {
			c.pending = c.pending[n-maxPending:]
		}
		c.pendingMu.Unlock()
	}
	if err != nil {
		return err
	}
	c.log.Info("rediscache: published revocations held back by a failed call", "count", len(live))
	return nil
}

// publishAll pipelines the publishing script in chunks and returns what it did not
// publish. A restarted Redis has forgotten the script, so it is loaded first.
func (c *Cache) publishAll(ctx context.Context, ps []pendingRevocation) ([]pendingRevocation, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	if err := publishScript.Load(ctx, c.client).Err(); err != nil {
		return ps, err
	}
	keys := []string{c.logKey, c.expKey}
	for len(ps) > 0 {
		n := min(len(ps), flushChunk)
		pipe := c.client.Pipeline()
		now := time.Now().UnixMilli()
		for _, p := range ps[:n] {
			publishScript.EvalSha(ctx, pipe, keys, p.member, p.at, p.exp, now, c.channel)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			// Part of the chunk may have gone through: publishing twice is harmless.
			return ps, err
		}
		ps = ps[n:]
	}
	return nil, nil
}

// WatchRevocations implements store.RevocationFeed. It subscribes to the revocation
// channel and, once Redis confirms the subscription, replays the log (everything on the
// first connection; afterwards what was added since the subscription was last known to
// work, less a 30 s overlap for clock skew) and calls w.Synced(true). It then delivers
// each revocation as it is published. When the subscription is lost (an error, or a ping
// unanswered for half a second) it calls w.Synced(false), reconnects with a backoff of at
// most half a second, replays and reports Synced(true) again. It returns nil when ctx ends
// or the Cache is closed.
//
// The feed runs beside the circuit breaker, not through it: it is not on any request's
// path, and tying it to the breaker would delay resynchronising by up to the breaker's
// open duration after Redis comes back.
func (c *Cache) WatchRevocations(ctx context.Context, w store.RevocationWatcher) error {
	if !c.enter() {
		return ErrClosed
	}
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()

	f := &feed{c: c, w: w}
	wait := retryMin
	failures := 0
	for {
		err := f.session(ctx)
		if f.synced {
			f.synced = false
			w.Synced(false)
			wait, failures = retryMin, 0
			if ctx.Err() == nil {
				c.log.Warn("rediscache: revocation feed lost its subscription", "error", audit.Scrub(err.Error()))
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if failures == 0 {
			c.log.Warn("rediscache: revocation feed cannot subscribe, retrying", "error", audit.Scrub(err.Error()))
		}
		failures++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
}

type feed struct {
	c      *Cache
	w      store.RevocationWatcher
	synced bool
	// alive is when the subscription last answered; a reconnection replays from there.
	// Zero until the first replay, which then takes the whole log.
	alive time.Time
}

// session runs one subscription: connect, confirm, replay, then deliver until it is lost.
func (f *feed) session(ctx context.Context) error {
	c := f.c
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	ps := c.client.Subscribe(sctx, c.channel)
	defer ps.Close()
	// Close unblocks a pending receive at once when ctx ends.
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })()

	msg, err := ps.ReceiveTimeout(sctx, setupTimeout)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if s, ok := msg.(*redis.Subscription); !ok || s.Kind != "subscribe" {
		return errNotSubscribed
	}
	// Messages published from here on queue on the connection while the replay runs;
	// the overlap between the two only repeats revocations, which is harmless.
	confirmed := time.Now()
	if err := c.flushPending(sctx); err != nil {
		c.log.Warn("rediscache: could not publish held revocations yet", "error", audit.Scrub(err.Error()))
	}
	if err := f.replay(sctx); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	cancel()
	f.alive = confirmed
	f.synced = true
	f.w.Synced(true)

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, feedPing)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if isTimeout(err) && !pinged {
				// An idle moment: publish what failed earlier (a deadline hit on a busy
				// server, say) rather than wait for the next reconnection.
				if c.hasPending() {
					// Bounded well under the ping interval: revocations from others queue
					// behind it.
					fctx, fcancel := context.WithTimeout(ctx, feedPing/2)
					if err := c.flushPending(fctx); err != nil {
						c.log.Warn("rediscache: could not publish held revocations yet", "error", audit.Scrub(err.Error()))
					}
					fcancel()
				}
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("ping: %w", err)
				}
				pinged = true
				continue
			}
			return err
		}
		pinged = false
		now := time.Now()
		switch m := msg.(type) {
		case *redis.Message:
			f.deliver(m.Payload, now)
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				return fmt.Errorf("subscription ended: %s", m.Kind)
			}
			// go-redis reconnected underneath and subscribed again: messages published in
			// between are lost, and the replay brings them back.
			rctx, rcancel := context.WithTimeout(ctx, setupTimeout)
			err := f.replay(rctx)
			rcancel()
			if err != nil {
				return fmt.Errorf("replay after reconnection: %w", err)
			}
		}
		f.alive = now
	}
}

func (f *feed) replay(ctx context.Context) error {
	from := "-inf"
	if !f.alive.IsZero() {
		from = strconv.FormatInt(f.alive.Add(-replayOverlap).UnixMilli(), 10)
	}
	members, err := f.c.client.ZRangeByScore(ctx, f.c.logKey, &redis.ZRangeBy{Min: from, Max: "+inf"}).Result()
	if err != nil {
		return err
	}
	now := time.Now()
	for _, m := range members {
		f.deliver(m, now)
	}
	return nil
}

func (f *feed) deliver(payload string, now time.Time) {
	r, err := decodeRevocation(payload)
	if err != nil {
		f.c.log.Warn("rediscache: ignoring a malformed revocation", "error", audit.Scrub(err.Error()))
		return
	}
	if now.Before(r.ExpiresAt) {
		f.w.Revoked(r)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
