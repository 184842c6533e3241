package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// Rotation configures automatic signing-key rotation (WithRotation) and the steps done by
// hand (Generate, Promote). Zero fields keep their defaults.
type Rotation struct {
	// KEK is the key-encryption key (at least 32 bytes, the same on every instance): the
	// store holds each private key sealed under it (AES-256-GCM, the kid as associated
	// data), so whoever reads the store gets no key. Keep it in a secret manager, not
	// next to the store. The shared cache's MAC key is derived from it too (unless
	// CacheConfig.SharedKey is set), so it stays the same through every rotation.
	KEK []byte
	// Store keeps the ring and the rotation lock. Default: the Guard's store, which must
	// then implement store.KeyStore (every built-in store does).
	Store store.KeyStore
	// Algorithm of the keys made: EdDSA (default), ES256, ES384 or RS256.
	Algorithm string
	// Every is how long a key signs before the next one takes over (default 30 days).
	Every time.Duration
	// Propagation is how long a new key is published (in the ring and the JWKS) before
	// it signs (default 10 minutes). It must exceed Refresh, so that every instance has
	// read the ring, and learnt the key, before the first token it signs; leave room for
	// a failed read and for clock skew between instances. An instance that cannot read
	// the ring for this long stops signing (503) until it can.
	Propagation time.Duration
	// Refresh is how often each instance reads the ring (default 1 minute). An instance
	// also reads it at once, at most every Refresh/2 and every second, when a token names
	// a kid it does not hold.
	Refresh time.Duration
	// LockTTL bounds how long the rotation lock is held (default 30 seconds): an instance
	// that dies while holding it stops blocking the others when it runs out.
	LockTTL time.Duration
	// TokenLifetime is the longest a token signed by the ring can pass, leeway included: a
	// retired key is removed that long (plus Propagation) after it stopped signing. Under
	// WithRotation it defaults to the Guard's access-token lifetime plus its leeway, and
	// may not be shorter; Generate and Promote, which run without a Guard, default to 15
	// minutes and 10 seconds (the Guard's defaults).
	TokenLifetime time.Duration
}

const defaultTokenLifetime = 15*time.Minute + 10*time.Second

// withDefaults fills the zero fields and checks the result; guard says whether a Guard
// runs the schedule (Every, Refresh and LockTTL matter only then).
func (r Rotation) withDefaults(guard bool) (Rotation, error) {
	if r.Every == 0 {
		r.Every = 30 * 24 * time.Hour
	}
	if r.Propagation == 0 {
		r.Propagation = 10 * time.Minute
	}
	if r.Refresh == 0 {
		r.Refresh = time.Minute
	}
	if r.LockTTL == 0 {
		r.LockTTL = 30 * time.Second
	}
	if !guard && r.TokenLifetime == 0 {
		r.TokenLifetime = defaultTokenLifetime
	}
	alg, err := normalizeAlg(r.Algorithm)
	if err != nil {
		return r, err
	}
	r.Algorithm = alg
	switch {
	case len(r.KEK) < MinKEK:
		return r, fmt.Errorf("keys: the KEK is %d bytes, at least %d are required", len(r.KEK), MinKEK)
	case r.Every < 0 || r.Propagation < 0 || r.Refresh < 0 || r.LockTTL < 0 || r.TokenLifetime < 0:
		return r, errors.New("keys: Every, Propagation, Refresh, LockTTL and TokenLifetime must be positive")
	case guard && r.Propagation <= r.Refresh:
		return r, fmt.Errorf("keys: Propagation %v must exceed Refresh %v: a key must be published for longer than every instance takes to read the ring", r.Propagation, r.Refresh)
	case guard && r.Every <= r.Propagation:
		return r, fmt.Errorf("keys: Every %v must exceed Propagation %v", r.Every, r.Propagation)
	}
	return r, nil
}

// WithRotation makes the Guard sign with a ring of keys that rotates by itself: see the
// package documentation and Rotation. New reads the ring from the store, creating its
// first key when the store has none, and fails when it cannot. Keys given to
// authframe.WithKey may still verify (a public key, or VerifyOnly) but none may sign.
func WithRotation(r Rotation) authframe.Option {
	return engine.Option(func(cfg any) {
		c := cfg.(rotationConfig)
		rr, err := r.withDefaults(true)
		if err != nil {
			c.OptionError("keys.WithRotation", err)
			return
		}
		src, err := newSource(rr)
		if err != nil {
			c.OptionError("keys.WithRotation", err)
			return
		}
		secret, id, err := ringSecrets(rr.KEK)
		if err != nil {
			c.OptionError("keys.WithRotation", err)
			return
		}
		c.SetKeySource(src, secret, id)
	}).(authframe.Option)
}

// rotationConfig is what WithRotation asks of the Guard's configuration.
type rotationConfig interface {
	SetKeySource(src any, secret []byte, id string)
	OptionError(opt string, err error)
}

// host is what a source asks of its Guard.
type host interface {
	InstallRing(r engine.Ring) error
	Ring() engine.Ring
	Now() time.Time
	TokenLifetime() time.Duration
	Logger() *slog.Logger
	Store() any
	DependencyError(op string, err error)
}

// source is one Guard's rotating ring: it reads the ring from the store, installs it in
// the Guard, and runs the rotation steps that fall due while it holds the store's lock.
type source struct {
	r     Rotation
	seal  *sealer
	owner string

	h  host
	ks store.KeyStore

	// readMu serializes reads of the ring; mu guards what follows.
	readMu   sync.Mutex
	mu       sync.Mutex
	lastRead time.Time
	opened   map[string]openedKey
}

// openedKey caches a key that was unsealed, by its sealed bytes.
type openedKey struct {
	sealed, pem []byte
}

func newSource(r Rotation) (*source, error) {
	s, err := newSealer(r.KEK)
	if err != nil {
		return nil, err
	}
	return &source{r: r, seal: s, owner: newOwner("guard"), opened: map[string]openedKey{}}, nil
}

func newOwner(kind string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return kind + "-" + hex.EncodeToString(b)
}

// Load implements the Guard's key source: it reads the ring, creating its first key when
// the store has none, and installs it.
func (s *source) Load(ctx context.Context, h any) error {
	hh, ok := h.(host)
	if !ok {
		return fmt.Errorf("keys: %T is not a Guard's internals", h)
	}
	s.h = hh
	if lt := hh.TokenLifetime(); s.r.TokenLifetime == 0 {
		s.r.TokenLifetime = lt
	} else if s.r.TokenLifetime < lt {
		return fmt.Errorf("Rotation.TokenLifetime %v is shorter than the Guard's access-token lifetime plus leeway (%v)", s.r.TokenLifetime, lt)
	}
	s.ks = s.r.Store
	if s.ks == nil {
		ks, ok := hh.Store().(store.KeyStore)
		if !ok {
			return fmt.Errorf("the Guard's store (%T) does not keep signing keys (store.KeyStore): set Rotation.Store", hh.Store())
		}
		s.ks = ks
	}
	ring, err := s.read(ctx)
	if err != nil {
		return err
	}
	if !hasKeys(ring) {
		// An empty ring gets its first key from whichever instance holds the lock; the
		// others wait for it.
		for {
			if err := s.step(ctx); err != nil {
				return err
			}
			if ring, err = s.read(ctx); err != nil {
				return err
			}
			if hasKeys(ring) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("keys: waiting for the first signing key: %w", ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return s.install(ring)
}

func hasKeys(ring []store.SigningKey) bool {
	for _, k := range ring {
		if k.State == store.KeyActive || k.State == store.KeyNext {
			return true
		}
	}
	return false
}

// Run implements the Guard's key source: every Refresh (give or take a tenth, so that
// instances started together spread their reads) it reads the ring and, when a step is
// due, runs it under the lock.
func (s *source) Run(ctx context.Context) {
	defer func() {
		// A Guard closed in the middle of a step frees the lock now rather than at its TTL.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.ks.ReleaseKeyLock(rctx, s.owner)
	}()
	for {
		jitter := time.Duration(mrand.Int64N(int64(s.r.Refresh)/5+1)) - s.r.Refresh/10
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.r.Refresh + jitter):
		}
		s.tick(ctx)
	}
}

func (s *source) tick(ctx context.Context) {
	// A step must be done before the lock it holds runs out (the conditional write keeps
	// a late one harmless, but it would be lost).
	ctx, cancel := context.WithTimeout(ctx, s.r.LockTTL)
	defer cancel()
	ring, err := s.read(ctx)
	if err != nil {
		s.fail(ctx, "read", err)
		return
	}
	if err := s.install(ring); err != nil {
		s.fail(ctx, "install", err)
		return
	}
	if _, changes, _ := plan(ring, s.now(), s.policy(), placeholder); len(changes) == 0 {
		return
	}
	if err := s.step(ctx); err != nil {
		s.fail(ctx, "rotate", err)
		return
	}
	if ring, err = s.read(ctx); err == nil {
		err = s.install(ring)
	}
	if err != nil {
		s.fail(ctx, "read", err)
	}
}

func (s *source) fail(ctx context.Context, op string, err error) {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	s.h.DependencyError(op, err)
}

// placeholder stands for a new key when plan only says whether a step is due.
func placeholder(time.Time) (store.SigningKey, error) { return store.SigningKey{ID: "?"}, nil }

// Refresh implements the Guard's key source: a token named a kid the ring does not hold,
// so read the ring now, unless it was read very recently.
func (s *source) Refresh(ctx context.Context) {
	minGap := min(s.r.Refresh/2, time.Second)
	s.mu.Lock()
	recent := time.Since(s.lastRead) < minGap
	s.mu.Unlock()
	if recent {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ring, err := s.read(ctx)
	if err == nil {
		err = s.install(ring)
	}
	if err != nil {
		s.fail(ctx, "read", err)
	}
}

func (s *source) now() time.Time { return s.h.Now().Truncate(time.Millisecond) }

func (s *source) policy() policy {
	return policy{every: s.r.Every, propagation: s.r.Propagation, lifetime: s.r.TokenLifetime}
}

// read reads the ring, one read at a time.
func (s *source) read(ctx context.Context) ([]store.SigningKey, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	// The ring is as old as the moment the read was sent: count from there.
	start := time.Now()
	ring, _, err := s.ks.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.lastRead = start
	s.mu.Unlock()
	return ring, nil
}

// install unseals the ring's keys (each once) and hands them to the Guard with the key
// it signs with. The time it was read bounds how long the Guard signs without reading
// again.
func (s *source) install(ring []store.SigningKey) error {
	now := s.now()
	out := engine.Ring{}
	s.mu.Lock()
	loadedAt := s.lastRead
	for _, k := range ring {
		o, ok := s.opened[k.ID]
		if !ok || !bytes.Equal(o.sealed, k.Sealed) {
			p, err := s.seal.open(k.ID, k.Sealed)
			if err != nil {
				s.mu.Unlock()
				return err
			}
			o = openedKey{sealed: bytes.Clone(k.Sealed), pem: p}
			s.opened[k.ID] = o
		}
		out.Keys = append(out.Keys, engine.RingKey{ID: k.ID, Algorithm: k.Algorithm, PEM: o.pem, State: k.State,
			CreatedAt: k.CreatedAt, ActiveAt: k.ActiveAt, RetiredAt: k.RetiredAt, ExpiresAt: k.ExpiresAt})
	}
	for kid := range s.opened {
		if !inRing(ring, kid) {
			delete(s.opened, kid)
		}
	}
	s.mu.Unlock()
	// The Guard's clock (a test's, say) may differ from the wall clock lastRead was taken
	// on: count the time since the read on the Guard's clock.
	loadedAt = now.Add(-time.Since(loadedAt))
	// With no signer the Guard answers 503 to issuing until a key may sign.
	out.Signer, out.SignUntil = signer(ring, now, loadedAt, s.r.Propagation)
	return s.h.InstallRing(out)
}

func inRing(ring []store.SigningKey, kid string) bool {
	for _, k := range ring {
		if k.ID == kid {
			return true
		}
	}
	return false
}

// step runs one rotation step under the store's lock; a lock held by another instance
// means that one is doing it, which is no error.
func (s *source) step(ctx context.Context) error {
	_, err := runStep(ctx, s.ks, s.owner, s.r.LockTTL, s.now, s.policy(), s.newKey, nil, s.h.Logger())
	if errors.Is(err, errLocked) {
		return nil
	}
	return err
}

func (s *source) newKey(time.Time) (store.SigningKey, error) {
	return newSealedKey(s.seal, s.r.Algorithm)
}

// newSealedKey makes a key for alg and seals it.
func newSealedKey(seal *sealer, alg string) (store.SigningKey, error) {
	kid, alg, pemBytes, err := newPrivateKey(alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	sealed, err := seal.seal(kid, pemBytes)
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{ID: kid, Algorithm: alg, Sealed: sealed}, nil
}

var errLocked = errors.New("keys: another instance holds the rotation lock")

// runStep takes the lock, reads the ring, lets edit adjust it (Promote's), plans the step,
// writes the new ring in one conditional write and frees the lock. The write is
// conditional on the version read: a step that outlived its lock (a stalled instance)
// cannot overwrite what the next holder wrote.
func runStep(ctx context.Context, ks store.KeyStore, owner string, ttl time.Duration, now func() time.Time, p policy,
	newKey func(time.Time) (store.SigningKey, error), edit func(ring []store.SigningKey, now time.Time) ([]store.SigningKey, []change, error), log *slog.Logger) ([]change, error) {
	ok, err := ks.AcquireKeyLock(ctx, owner, ttl)
	if err != nil {
		return nil, fmt.Errorf("keys: lock: %w", err)
	}
	if !ok {
		return nil, errLocked
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = ks.ReleaseKeyLock(rctx, owner)
	}()
	ring, version, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: read: %w", err)
	}
	t := now()
	var changes []change
	if edit != nil {
		if ring, changes, err = edit(ring, t); err != nil {
			return nil, err
		}
	}
	next, planned, err := plan(ring, t, p, newKey)
	if err != nil {
		return nil, err
	}
	changes = append(changes, planned...)
	if len(changes) == 0 && edit == nil {
		return nil, nil
	}
	if _, err := ks.PutSigningKeys(ctx, next, version); err != nil {
		return nil, fmt.Errorf("keys: write: %w", err)
	}
	for _, c := range changes {
		log.Info("authframe: signing key "+c.What, "kid", c.Key.ID, "alg", c.Key.Algorithm, "state", string(c.Key.State),
			"active_at", c.Key.ActiveAt, "expires_at", c.Key.ExpiresAt)
	}
	return changes, nil
}
