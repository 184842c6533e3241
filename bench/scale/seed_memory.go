package scale

import (
	"context"
	"fmt"

	"github.com/authframe/authframe/core/store"
)

// SeedStore writes users lo..hi-1 of d through the store's own API, one record at a time:
// the right way for the memory store, where a call is a map write, and far too slow for a
// server.
func SeedStore(ctx context.Context, st store.Store, d *Dataset, lo, hi int) error {
	for i := lo; i < hi; i++ {
		if err := st.CreateUser(ctx, d.User(i)); err != nil {
			return fmt.Errorf("seed user %d: %w", i, err)
		}
		if err := st.CreateSession(ctx, d.Session(i)); err != nil {
			return fmt.Errorf("seed session %d: %w", i, err)
		}
		if err := st.AddRefreshToken(ctx, d.Refresh(i)); err != nil {
			return fmt.Errorf("seed refresh token %d: %w", i, err)
		}
	}
	return nil
}
