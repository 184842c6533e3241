package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

var (
	_ store.MFAStore    = (*Store)(nil)
	_ store.ReplayStore = (*Store)(nil)
)

// PutMFA implements store.MFAStore: one upsert whose update applies only over a pending
// record, so a confirmed one is store.ErrConflict, decided in the database.
func (s *Store) PutMFA(ctx context.Context, m store.MFA) error {
	const op = "put mfa"
	c, err := s.begin(ctx, op, true)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(c.ctx, s.q.putMFA, m.UserID, m.SealedSecret, m.Confirmed, m.LastStep, m.RecoveryHashes, m.CreatedAt)
	s.end(c, err)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

// GetMFA implements store.MFAStore.
func (s *Store) GetMFA(ctx context.Context, userID string) (store.MFA, bool, error) {
	const op = "get mfa"
	c, err := s.begin(ctx, op, true)
	if err != nil {
		return store.MFA{}, false, err
	}
	var m store.MFA
	err = s.pool.QueryRow(c.ctx, s.q.getMFA, userID).
		Scan(&m.UserID, &m.SealedSecret, &m.Confirmed, &m.LastStep, &m.RecoveryHashes, &m.CreatedAt)
	s.end(c, err)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.MFA{}, false, nil
		}
		return store.MFA{}, false, wrap(op, err)
	}
	if len(m.RecoveryHashes) == 0 {
		m.RecoveryHashes = nil
	}
	return m, true, nil
}

// ConfirmMFA implements store.MFAStore: one conditional UPDATE.
func (s *Store) ConfirmMFA(ctx context.Context, userID string, sealedSecret []byte, step int64, recoveryHashes [][]byte) error {
	const op = "confirm mfa"
	c, err := s.begin(ctx, op, true)
	if err != nil {
		return err
	}
	var done bool
	var confirmed *bool
	err = s.pool.QueryRow(c.ctx, s.q.confirmMFA, userID, sealedSecret, step, recoveryHashes).Scan(&done, &confirmed)
	s.end(c, err)
	switch {
	case err != nil:
		return wrap(op, err)
	case done:
		return nil
	case confirmed != nil && *confirmed:
		return store.ErrConflict
	}
	return store.ErrNotFound
}

// DeleteMFA implements store.MFAStore.
func (s *Store) DeleteMFA(ctx context.Context, userID string) (bool, error) {
	const op = "delete mfa"
	c, err := s.begin(ctx, op, true)
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(c.ctx, s.q.deleteMFA, userID)
	s.end(c, err)
	if err != nil {
		return false, wrap(op, err)
	}
	return tag.RowsAffected() == 1, nil
}

// UseTOTPStep implements store.MFAStore: one conditional UPDATE, so of concurrent uses of
// one step exactly one matches.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	return s.use(ctx, "use totp step", s.q.useTOTPStep, userID, step)
}

// UseRecoveryCode implements store.MFAStore: one conditional UPDATE that removes the hash
// from the array only if it is there.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	if hash == nil {
		// NULL = ANY (...) is NULL, never true: the same answer, without the round trip's
		// three-valued logic to reason about.
		hash = []byte{}
	}
	return s.use(ctx, "use recovery code", s.q.useRecoveryCode, userID, hash)
}

func (s *Store) use(ctx context.Context, op, query, userID string, arg any) (bool, error) {
	c, err := s.begin(ctx, op, true)
	if err != nil {
		return false, err
	}
	var done, found bool
	err = s.pool.QueryRow(c.ctx, query, userID, arg).Scan(&done, &found)
	s.end(c, err)
	switch {
	case err != nil:
		return false, wrap(op, err)
	case done:
		return true, nil
	case !found:
		return false, store.ErrNotFound
	}
	return false, nil
}

// Remember implements store.ReplayStore: one upsert that takes over an expired row, so of
// concurrent callers exactly one gets a row back. Expired rows are deleted by the cleanup
// job.
func (s *Store) Remember(ctx context.Context, key string, until time.Time) (bool, error) {
	const op = "remember"
	now := s.now()
	if !until.After(now) {
		return true, nil
	}
	c, err := s.begin(ctx, op, true)
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(c.ctx, s.q.remember, []byte(key), until, now)
	s.end(c, err)
	if err != nil {
		return false, wrap(op, err)
	}
	return tag.RowsAffected() == 1, nil
}
