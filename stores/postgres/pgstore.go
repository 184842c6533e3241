package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authframe/authframe/core/breaker"
	"github.com/authframe/authframe/core/store"
)

// ErrClosed is returned by WatchRevocations once the Store is closed.
var ErrClosed = errors.New("pgstore: store closed")

// Store keeps every authframe record in PostgreSQL through a pgxpool.Pool. It implements
// store.Store, store.RevocationFeed, store.StatsReporter, store.Exporter,
// store.ClientStore, store.APIKeyStore, store.MFAStore, store.ReplayStore and
// store.KeyStore, and is safe for concurrent use. Each operation
// is one statement, so one round trip; the atomic ones (RotateRefreshToken, Hit,
// CreateUser) are atomic in the database.
type Store struct {
	pool       *pgxpool.Pool
	cfg        config
	n          names
	q          queries
	migrations []migration
	log        *slog.Logger
	now        func() time.Time
	br         *breaker.Breaker

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup

	// listenPID is the backend pid of the current LISTEN connection (0 when none), for
	// tests that kill it.
	listenPID atomic.Uint32
}

var (
	_ store.Store          = (*Store)(nil)
	_ store.RevocationFeed = (*Store)(nil)
	_ store.StatsReporter  = (*Store)(nil)
	_ store.Exporter       = (*Store)(nil)
)

// New returns a Store over pool, which the caller keeps owning (Close does not close it).
// Unless WithMigrate(false) is given it first runs Migrate, so the tables exist when New
// returns. It starts the cleanup job (see WithCleanupInterval); Close stops it.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	n := names{schema: cfg.schema, prefix: cfg.prefix}
	if err := n.check(); err != nil {
		return nil, err
	}
	migs, err := loadMigrations(n)
	if err != nil {
		return nil, err
	}
	s := &Store{
		pool:       pool,
		cfg:        cfg,
		n:          n,
		q:          buildQueries(n),
		migrations: migs,
		log:        cfg.logger,
		now:        time.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.breakerFailures > 0 {
		s.br = breaker.New(cfg.breakerFailures, cfg.breakerCooldown)
	}
	if cfg.migrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.interval > 0 {
		s.wg.Add(1)
		go s.cleanupLoop()
	}
	return s, nil
}

// Close stops the cleanup job and every WatchRevocations of this Store, and waits for
// them. The pool stays open: it belongs to the caller. Close is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// goAdd registers background work that Close waits for; false once closed.
func (s *Store) goAdd() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Ping implements store.Store. It always reaches PostgreSQL, even while the circuit breaker
// is open, and its answer moves the breaker: a health check is also its probe.
func (s *Store) Ping(ctx context.Context) error {
	err := s.pool.Ping(ctx)
	if err == nil || ctx.Err() == nil {
		s.br.Record(outcome(err), false)
	}
	if err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	return nil
}

// names derives every SQL name of one store from its schema and table prefix.
type names struct {
	schema, prefix string
}

// longestName is the longest suffix a name gets (an index name of the schema).
const longestName = "revocations_expires_at_idx"

func (n names) check() error {
	// PostgreSQL truncates identifiers to 63 bytes; two names that truncate alike collide.
	if len(n.schema) > 63 {
		return fmt.Errorf("pgstore: WithSchema: %q is longer than 63 bytes", n.schema)
	}
	if l := len(n.prefix) + len(longestName); l > 63 {
		return fmt.Errorf("pgstore: WithTablePrefix: %q is too long: at most %d bytes", n.prefix, 63-len(longestName))
	}
	return nil
}

// table is the quoted, schema-qualified name of a table, so that no query depends on the
// connection's search_path.
func (n names) table(name string) string {
	return pgx.Identifier{n.schema, n.prefix + name}.Sanitize()
}

// ident is the quoted name of an index or constraint (which live in their table's schema).
func (n names) ident(name string) string {
	return pgx.Identifier{n.prefix + name}.Sanitize()
}

func (n names) hash() uint64 {
	h := fnv.New64a()
	h.Write([]byte("authframe/pgstore\x00" + n.schema + "\x00" + n.prefix))
	return h.Sum64()
}

// lockKey is the advisory lock key of this schema and prefix.
func (n names) lockKey() int64 { return int64(n.hash()) }

// channel is the NOTIFY channel of this schema and prefix: short enough for PostgreSQL's
// 63-byte limit whatever the names, and distinct for every store.
func (n names) channel() string { return fmt.Sprintf("authframe_rev_%016x", n.hash()) }

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

func wrap(op string, err error) error {
	return fmt.Errorf("pgstore: %s: %w", op, err)
}
