package scale

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/authframe/authframe/core/store"
)

// CheckSeed reads users, sessions and refresh families of d back through the store's API
// at the first, middle and last index, and fails unless each is what d says was seeded.
func CheckSeed(ctx context.Context, st store.Store, d *Dataset) error {
	for _, i := range []int{0, d.N / 2, d.N - 1} {
		want := d.Session(i)
		got, ok, err := st.GetSession(ctx, want.ID)
		if err != nil {
			return fmt.Errorf("check session %d: %w", i, err)
		}
		if !ok {
			return fmt.Errorf("check session %d: not found", i)
		}
		if got.UserID != want.UserID || got.Username != want.Username || got.Kind != want.Kind ||
			got.UserAgent != want.UserAgent || got.IP != want.IP || !slices.Equal(got.Roles, want.Roles) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.LastSeenAt.Equal(want.LastSeenAt) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || got.IdleTimeout != want.IdleTimeout {
			return fmt.Errorf("check session %d: read back %+v, seeded %+v", i, got, want)
		}
		wu := d.User(i)
		u, ok, err := st.GetUserByUsername(ctx, wu.Username)
		if err != nil || !ok {
			return fmt.Errorf("check user %d: found %v, %v", i, ok, err)
		}
		if u.ID != wu.ID || u.PasswordHash != wu.PasswordHash || !slices.Equal(u.Roles, wu.Roles) || !u.CreatedAt.Equal(wu.CreatedAt) {
			return fmt.Errorf("check user %d: read back %+v, seeded %+v", i, u, wu)
		}
		ex, ok := st.(store.Exporter)
		if !ok {
			continue
		}
		fam, err := ex.ExportRefreshTokens(ctx, want.ID)
		if err != nil {
			return fmt.Errorf("check refresh family %d: %w", i, err)
		}
		if len(fam) != 1 || !bytes.Equal(fam[0].Hash, d.RefreshHash(i, 0)) || fam[0].Spent {
			return fmt.Errorf("check refresh family %d: read back %d tokens", i, len(fam))
		}
	}
	return nil
}
