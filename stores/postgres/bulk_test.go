package pgstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func TestCreateUsersSkipsTakenIdsAndUsernames(t *testing.T) {
	p := testPool(t)
	st := openStore(t, p, WithSchema(freshSchema(t, p)))
	ctx := context.Background()
	now := time.Now()
	var users []store.User
	for i := range 5 {
		users = append(users, store.User{ID: fmt.Sprintf("u%d", i), Username: fmt.Sprintf("name%d", i), PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Roles: []string{"member"}, CreatedAt: now, UpdatedAt: now, Disabled: i == 3})
	}
	users[4].Roles = nil
	if err := st.CreateUser(ctx, store.User{ID: "u1", Username: "name1", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "other", Username: "name2", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	created, err := st.CreateUsers(ctx, users)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u0", "u3", "u4"}; !slices.Equal(created, want) {
		t.Fatalf("created %v, want %v (u1's id and u2's username are taken)", created, want)
	}
	for _, i := range []int{0, 3, 4} {
		got, ok, err := st.GetUser(ctx, users[i].ID)
		if err != nil || !ok {
			t.Fatalf("GetUser(%s) = %v, %v", users[i].ID, ok, err)
		}
		// Read back exactly as a single-row insert stores it.
		alone := users[i]
		alone.ID, alone.Username = alone.ID+"-alone", alone.Username+"-alone"
		if err := st.CreateUser(ctx, alone); err != nil {
			t.Fatal(err)
		}
		ref, _, _ := st.GetUser(ctx, alone.ID)
		if got.Username != users[i].Username || got.PasswordHash != users[i].PasswordHash || !slices.Equal(got.Roles, ref.Roles) ||
			!got.CreatedAt.Equal(ref.CreatedAt) || !got.UpdatedAt.Equal(ref.UpdatedAt) || got.Disabled != users[i].Disabled {
			t.Fatalf("bulk user %+v differs from the same user stored alone %+v", got, ref)
		}
	}
	again, err := st.CreateUsers(ctx, users)
	if err != nil || len(again) != 0 {
		t.Fatalf("a second run created %v, %v; want nothing", again, err)
	}
	if _, err := st.CreateUsers(ctx, make([]store.User, maxBulkUsers+1)); err == nil {
		t.Fatal("CreateUsers took more than the limit")
	}
}

func TestSchemaVersionReportsAppliedAndPending(t *testing.T) {
	p := testPool(t)
	ctx := context.Background()
	schema := freshSchema(t, p)
	fresh := openStore(t, p, WithSchema(schema), WithMigrate(false))
	applied, pending, err := fresh.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 || len(pending) != len(fresh.migrations) {
		t.Fatalf("an unmigrated schema: applied %v, pending %v", applied, pending)
	}
	if err := fresh.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	applied, pending, err = fresh.SchemaVersion(ctx)
	if err != nil || len(pending) != 0 || len(applied) != len(fresh.migrations) || applied[len(applied)-1] != fresh.migrations[len(fresh.migrations)-1].version {
		t.Fatalf("a migrated schema: applied %v, pending %v, %v", applied, pending, err)
	}
}
