package memstore

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/authframe/authframe/core/store"
)

var (
	_ store.MFAStore    = (*Store)(nil)
	_ store.ReplayStore = (*Store)(nil)
)

func cloneMFA(m store.MFA) store.MFA {
	m.SealedSecret = bytes.Clone(m.SealedSecret)
	m.RecoveryHashes = cloneHashes(m.RecoveryHashes)
	return m
}

func cloneHashes(hs [][]byte) [][]byte {
	if hs == nil {
		return nil
	}
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = bytes.Clone(h)
	}
	return out
}

// PutMFA implements store.MFAStore.
func (s *Store) PutMFA(_ context.Context, m store.MFA) error {
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	if old, ok := s.mfa[m.UserID]; ok && old.Confirmed {
		return store.ErrConflict
	}
	s.mfa[m.UserID] = cloneMFA(m)
	return nil
}

// GetMFA implements store.MFAStore.
func (s *Store) GetMFA(_ context.Context, userID string) (store.MFA, bool, error) {
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	m, ok := s.mfa[userID]
	if !ok {
		return store.MFA{}, false, nil
	}
	return cloneMFA(m), true, nil
}

// ConfirmMFA implements store.MFAStore.
func (s *Store) ConfirmMFA(_ context.Context, userID string, sealedSecret []byte, step int64, recoveryHashes [][]byte) error {
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	m, ok := s.mfa[userID]
	switch {
	case ok && m.Confirmed:
		return store.ErrConflict
	case !ok || !bytes.Equal(m.SealedSecret, sealedSecret):
		return store.ErrNotFound
	}
	m.Confirmed, m.LastStep, m.RecoveryHashes = true, step, cloneHashes(recoveryHashes)
	s.mfa[userID] = m
	return nil
}

// DeleteMFA implements store.MFAStore.
func (s *Store) DeleteMFA(_ context.Context, userID string) (bool, error) {
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	_, ok := s.mfa[userID]
	delete(s.mfa, userID)
	return ok, nil
}

// UseTOTPStep implements store.MFAStore.
func (s *Store) UseTOTPStep(_ context.Context, userID string, step int64) (bool, error) {
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	m, ok := s.mfa[userID]
	if !ok || !m.Confirmed {
		return false, store.ErrNotFound
	}
	if step <= m.LastStep {
		return false, nil
	}
	m.LastStep = step
	s.mfa[userID] = m
	return true, nil
}

// UseRecoveryCode implements store.MFAStore.
func (s *Store) UseRecoveryCode(_ context.Context, userID string, hash []byte) (bool, error) {
	s.mfaMu.Lock()
	defer s.mfaMu.Unlock()
	m, ok := s.mfa[userID]
	if !ok || !m.Confirmed {
		return false, store.ErrNotFound
	}
	i := slices.IndexFunc(m.RecoveryHashes, func(h []byte) bool { return bytes.Equal(h, hash) })
	if i < 0 {
		return false, nil
	}
	// A new slice: a record handed out by GetMFA shares nothing with the stored one, but
	// the stored slice must not be edited in place all the same.
	m.RecoveryHashes = slices.Delete(slices.Clone(m.RecoveryHashes), i, i+1)
	s.mfa[userID] = m
	return true, nil
}

// Remember implements store.ReplayStore. Expired keys are swept by Cleanup.
func (s *Store) Remember(_ context.Context, key string, until time.Time) (bool, error) {
	now := s.now()
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	if old, ok := s.replay[key]; ok && now.Before(old) {
		return false, nil
	}
	if now.Before(until) {
		s.replay[key] = until
	} else {
		delete(s.replay, key)
	}
	return true, nil
}
